"""One team's delivery pipeline in the tooling account (CodePipeline V2), from its config.

Stages, in order: Source -> Build (team's build and unit tests) -> Scan (SAST, secret
detection, SCA, each report imported to Security Hub) -> Staging (test account) -> DAST
(OWASP ZAP baseline against staging, imported) -> Approval (SNS email to the approvers)
-> Production (prod account). An import action fails, and so stops the pipeline, when a
report has a finding at or above the team's ``severity_threshold`` (or is broken).

Deploy actions run in the team's accounts as that account's ``<team>-deploy`` role (from
the deploy-roles StackSet); CloudFormation runs the team's IaC as ``<team>-cfn-exec``,
passing the CodeDeploy deployment configuration by name.
"""

from __future__ import annotations

# pyright: reportOptionalMemberAccess=false
# (the source key, repository and privileged build exist exactly for the source types config allows them)

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.config import Team
from blueprint.iam import deny_insecure_transport, policy_json
from blueprint.pipeline import buildspecs, naming
from blueprint.pipeline.buildspecs import SCANS
from components.pipeline_roles import BRANCH_WRITE_ACTIONS, MERGE_ACTIONS, VIEW_ACTIONS, PipelineRoles, PipelineRolesArgs, _stmt, arn
from components.kms import customer_key
from components.retention import team_data
from components.secure_bucket import SecureBucket, SecureBucketArgs

TAG_VALUE = re.compile(r"[^\w .:/=+\-@]")  # characters AWS tag values do not allow
KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:Create*", "kms:Delete*", "kms:Describe*", "kms:Disable*", "kms:Enable*", "kms:Get*",
    "kms:List*", "kms:Put*", "kms:Revoke*", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource",
    "kms:UntagResource", "kms:Update*",
)
KEY_USE_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKey*", "kms:ReEncrypt*")
CAPABILITIES = "CAPABILITY_IAM,CAPABILITY_NAMED_IAM,CAPABILITY_AUTO_EXPAND"
# What reaches the team's notifications topic: failures (a scan at or above the threshold, a
# rolled-back deployment) and a production approval waiting.
NOTIFICATION_EVENTS = (
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-stage-execution-failed",
    "codepipeline-pipeline-action-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
)


@dataclass
class DeployTarget:
    """A team account the pipeline deploys to, and the StackSet-made roles there."""

    environment: str
    account_id: pulumi.Input[str]
    deploy_role_arn: pulumi.Input[str]  # resolves only once the role's stack instance exists
    cfn_exec_role_arn: pulumi.Input[str]


@dataclass
class TeamPipelineArgs:
    team: Team
    org_id: pulumi.Input[str]
    tooling_account_id: pulumi.Input[str]
    region: str
    admin_role_arn: pulumi.Input[str]  # the tooling account's org access role: key administration only
    artifact_key: aws.kms.Key  # created before the deploy roles, whose parameters name it
    targets: dict[str, DeployTarget]  # stage name (Staging/Production) -> target
    importer_arn: pulumi.Input[str]
    log_retention_days: int = 365
    access_log_bucket: pulumi.Input[str] | None = None  # S3 server access logs (SSE-S3 bucket in the tooling account)
    deploy_roles_ready: list[pulumi.Resource] = field(default_factory=list)  # stack instances
    tags: dict[str, str] = field(default_factory=dict)


def key_policy(admin_role_arn: Any, *usage: dict[str, Any]) -> pulumi.Output[str]:
    """Administration by the provisioning role only (never use), then the given usage grants."""
    return policy_json(
        {"Sid": "ProvisioningRoleAdministers", "Effect": "Allow", "Principal": {"AWS": admin_role_arn},
         "Action": list(KEY_ADMIN_ACTIONS), "Resource": "*"},
        *usage,
    )


class TeamPipeline(pulumi.ComponentResource):
    def __init__(self, name: str, args: TeamPipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:pipeline:TeamPipeline", name, None, opts)
        # Names derive from the team's identity (its first name), so a rename replaces nothing;
        # its current name only labels: tags, descriptions, notification text.
        team, shown, cfg = args.team.key, args.team.name, args.team.pipeline
        assert cfg is not None
        acct, region = args.tooling_account_id, args.region
        tags = {**args.tags, "team": shown, "cost-center": args.team.cost_center}
        child = pulumi.ResourceOptions(parent=self)
        # Data and history outlive a config edit: removing the pipeline block leaves them behind.
        keep = team_data(child)
        pipeline_name = naming.pipeline_name(team)
        source = cfg.source

        self.roles = PipelineRoles(
            f"{name}-roles",
            PipelineRolesArgs(team=team, team_name=shown, pipeline=cfg, tooling_account_id=acct, org_id=args.org_id, region=region, tags=tags),
            child,
        )
        roles = self.roles
        pipeline_arn = roles.pipeline_arn
        log_group_name = naming.log_group(team)
        log_group_arn = arn(region, acct, "logs", f"log-group:{log_group_name}")
        project_arns = {k: arn(region, acct, "codebuild", f"project/{naming.project(team, k)}") for k in ("build", *SCANS)}

        # ---- keys ---------------------------------------------------------------
        # Artifact key: the pipeline and CodeBuild roles here, the deploy roles in the
        # team's accounts (exact ARNs, inside the org). A separate KeyPolicy, after the
        # deploy roles' stack instances: KMS rejects principals that do not exist yet.
        target_roles = [r for t in args.targets.values() for r in (t.deploy_role_arn, t.cfn_exec_role_arn)]
        # Deploy targets: the team's app roles (boundary-carrying, <team>-app-*) in its test and
        # prod accounts, where the CodeDeploy agent runs. A principal element cannot hold a
        # wildcard, so the accounts are named and the role pattern is a condition.
        target_accounts = [pulumi.Output.concat("arn:aws:iam::", t.account_id, ":root") for t in args.targets.values()]
        app_roles = {"ArnLike": {"aws:PrincipalArn": [pulumi.Output.concat("arn:aws:iam::", t.account_id, ":role/", naming.app_role_prefix(team), "*")
                                                      for t in args.targets.values()]},
                     "StringEquals": {"aws:PrincipalOrgID": args.org_id}}
        self.artifact_key_policy = aws.kms.KeyPolicy(
            f"{name}-artifact-key-policy",
            key_id=args.artifact_key.key_id,
            region=region,
            policy=key_policy(
                args.admin_role_arn,
                {"Sid": "PipelineAndBuildUseKey", "Effect": "Allow", "Principal": {"AWS": [roles.pipeline.arn, roles.codebuild.arn]},
                 "Action": list(KEY_USE_ACTIONS), "Resource": "*"},
                {"Sid": "DeployRolesUseKey", "Effect": "Allow", "Principal": {"AWS": target_roles},
                 "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*",
                 "Condition": {"StringEquals": {"aws:PrincipalOrgID": args.org_id}}},
                {"Sid": "DeployTargetsDecryptRevisions", "Effect": "Allow", "Principal": {"AWS": target_accounts},
                 "Action": "kms:Decrypt", "Resource": "*", "Condition": app_roles},
            ),
            # Retained with the key: deleting a KeyPolicy resets the key to AWS's default policy
            # (account root kms:*), which a left-behind key must not get.
            opts=team_data(pulumi.ResourceOptions(parent=self, depends_on=list(args.deploy_roles_ready))),
        )
        # Operations key: CodeBuild logs and the approval/notification topics.
        self.ops_key = customer_key(
            f"{name}-ops-key",
            region=region,
            description=f"{shown} pipeline: CodeBuild logs and SNS topics",
            policy=key_policy(
                args.admin_role_arn,
                {"Sid": "LogsEncryptBuildLogs", "Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                 "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"], "Resource": "*",
                 "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}}},
                {"Sid": "NotificationsPublishEncrypted", "Effect": "Allow", "Principal": {"Service": "codestar-notifications.amazonaws.com"},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                 "Condition": {"StringEquals": {"aws:SourceAccount": acct}}},
                {"Sid": "PipelinePublishesApprovals", "Effect": "Allow", "Principal": {"AWS": roles.pipeline.arn},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                 "Condition": {"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}}},
            ),
            tags=tags,
            protect=False,
            opts=keep,
        )
        # Source key (CodeCommit repository or S3 source bucket): the people who push, the pipeline that reads.
        self.source_key = None
        writers = [roles.duties[d].arn for d in ("committer", "merger") if d in roles.duties]
        if source.type in ("codecommit", "s3"):
            self.source_key = customer_key(
                f"{name}-source-key",
                region=region,
                description=f"{shown} pipeline: source repository/bucket",
                policy=key_policy(
                    args.admin_role_arn,
                    {"Sid": "WritersAndPipelineUseKey", "Effect": "Allow", "Principal": {"AWS": [roles.pipeline.arn, *writers]},
                     "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"], "Resource": "*"},
                ),
                tags=tags,
                protect=False,
                opts=keep,
            )

        # ---- storage ------------------------------------------------------------
        bucket_name = naming.artifact_bucket(team, acct)
        bucket_arn = pulumi.Output.concat("arn:aws:s3:::", bucket_name)
        self.artifacts = SecureBucket(
            f"{name}-artifacts",
            SecureBucketArgs(
                bucket=bucket_name,
                region=region,
                kms_key_arn=args.artifact_key.arn,
                require_key_on_upload=True,
                expire_days=180,
                noncurrent_days=30,
                access_log_bucket=args.access_log_bucket,
                tags=tags,
                policy_statements=[
                    {"Sid": "DeployRolesReadArtifacts", "Effect": "Allow", "Principal": {"AWS": target_roles},
                     "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": pulumi.Output.concat(bucket_arn, "/*"),
                     "Condition": {"StringEquals": {"aws:PrincipalOrgID": args.org_id}}},
                    {"Sid": "DeployTargetsReadRevisions", "Effect": "Allow", "Principal": {"AWS": target_accounts},
                     "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": pulumi.Output.concat(bucket_arn, "/*"),
                     "Condition": app_roles},
                ],
            ),
            child,
        )
        source_bucket_arn = None
        self.repository = None
        if source.type == "s3":
            src_name = naming.source_bucket(team, acct)
            source_bucket_arn = pulumi.Output.concat("arn:aws:s3:::", src_name)
            self.source_bucket = SecureBucket(
                f"{name}-source",
                SecureBucketArgs(bucket=src_name, region=region, kms_key_arn=self.source_key.arn, require_key_on_upload=True,
                                 noncurrent_days=90, access_log_bucket=args.access_log_bucket, tags=tags),
                child,
            )
            # The pipeline starts on the upload's EventBridge event, not by polling.
            aws.s3.BucketNotification(f"{name}-source-events", bucket=self.source_bucket.name, region=region, eventbridge=True, opts=child)
        elif source.type == "codecommit":
            self.repository = aws.codecommit.Repository(
                f"{name}-repository",
                repository_name=source.repository,
                region=region,
                default_branch=source.branch,
                kms_key_id=self.source_key.arn,
                description=f"Team {shown}'s service; {source.branch} is protected",
                tags=tags,
                opts=keep,
            )
            merger_sessions = pulumi.Output.concat("arn:aws:sts::", acct, ":assumed-role/", naming.duty_role(team, "merger"), "/*")
            committer_sessions = pulumi.Output.concat("arn:aws:sts::", acct, ":assumed-role/", naming.duty_role(team, "committer"), "/*")
            # Branch protection: N approvals from the team's reviewers before a merge.
            template = aws.codecommit.ApprovalRuleTemplate(
                f"{name}-approval-rule",
                name=f"{team}-{source.branch}-protection"[:100],
                region=region,
                description=f"{source.required_approvals} approval(s) from {shown}'s committers or mergers before merging to {source.branch}",
                content=pulumi.Output.json_dumps(
                    {
                        "Version": "2018-11-08",
                        "DestinationReferences": [f"refs/heads/{source.branch}"],
                        "Statements": [{"Type": "Approvers", "NumberOfApprovalsNeeded": source.required_approvals,
                                        "ApprovalPoolMembers": [committer_sessions, merger_sessions]}],
                    }
                ),
                opts=child,
            )
            aws.codecommit.ApprovalRuleTemplateAssociation(
                f"{name}-approval-rule-association",
                approval_rule_template_name=template.name,
                repository_name=self.repository.repository_name,
                region=region,
                opts=child,
            )

        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-build-logs",
            name=log_group_name,
            region=region,
            kms_key_id=self.ops_key.arn,
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=keep,
        )

        # ---- notifications ------------------------------------------------------
        def topic(key: str, purpose: str, emails: list[str], publisher: dict[str, Any]) -> aws.sns.Topic:
            t = aws.sns.Topic(f"{name}-{key}", name=f"{team}-pipeline-{key}", region=region, kms_master_key_id=self.ops_key.arn,
                              display_name=f"{shown} pipeline {purpose}", tags=tags, opts=keep)
            aws.sns.TopicPolicy(
                f"{name}-{key}-policy",
                arn=t.arn,
                region=region,
                policy=policy_json(
                    {"Sid": "Publisher", "Effect": "Allow", **publisher, "Action": "sns:Publish", "Resource": t.arn},
                    deny_insecure_transport(t.arn, action="sns:Publish"),
                ),
                # Retained with its topic, like a bucket's settings: a topic left behind stays TLS-only.
                opts=keep,
            )
            for i, email in enumerate(emails):
                aws.sns.TopicSubscription(f"{name}-{key}-email-{i}", topic=t.arn, region=region, protocol="email", endpoint=email, opts=child)
            return t

        self.approval_topic = topic("approvals", "approval requests", list(cfg.approvers), {"Principal": {"AWS": roles.pipeline.arn}})
        self.notification_topic = topic(
            "notifications",
            "failures and approvals",
            sorted({args.team.owner_email, *cfg.approvers}),
            {"Principal": {"Service": "codestar-notifications.amazonaws.com"}, "Condition": {"StringEquals": {"aws:SourceAccount": acct}}},
        )

        # ---- CodeBuild ----------------------------------------------------------
        self.projects: dict[str, aws.codebuild.Project] = {}
        plain = lambda n, v: aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(name=n, value=v, type="PLAINTEXT")  # noqa: E731
        secret_vars = [
            aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(
                name=env_name,
                value=f"/{team}/build/{ref.name}" if ref.store == "parameter-store" else f"{team}/build/{ref.name}",
                type="PARAMETER_STORE" if ref.store == "parameter-store" else "SECRETS_MANAGER",
            )
            for env_name, ref in sorted(cfg.build_secrets.items())
        ]

        def project(kind: str, description: str, image: str, buildspec: str, env_vars: list[Any], privileged: bool = False,
                    extra_tags: dict[str, str] | None = None, timeout: int = 30, compute: str = "BUILD_GENERAL1_SMALL") -> aws.codebuild.Project:
            p = aws.codebuild.Project(
                f"{name}-{kind}",
                name=naming.project(team, kind),
                region=region,
                description=description,
                service_role=roles.codebuild.arn,
                encryption_key=args.artifact_key.arn,
                build_timeout=timeout,
                queued_timeout=60,
                source=aws.codebuild.ProjectSourceArgs(type="CODEPIPELINE", buildspec=buildspec),
                artifacts=aws.codebuild.ProjectArtifactsArgs(type="CODEPIPELINE"),
                environment=aws.codebuild.ProjectEnvironmentArgs(
                    compute_type=compute,
                    image=image,
                    type="LINUX_CONTAINER",
                    image_pull_credentials_type="CODEBUILD",
                    privileged_mode=privileged,
                    environment_variables=[plain("TEAM", team), plain("PIPELINE", pipeline_name), *env_vars],
                ),
                logs_config=aws.codebuild.ProjectLogsConfigArgs(
                    cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(status="ENABLED", group_name=self.log_group.name, stream_name=kind),
                    s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED"),
                ),
                tags={**tags, **(extra_tags or {})},
                opts=child,
            )
            self.projects[kind] = p
            return p

        privileged = cfg.privileged_build is not None
        reason_tags = {"privileged-reason": TAG_VALUE.sub(" ", cfg.privileged_build.reason)[:256]} if privileged else {}
        project("build", "Team build and unit tests (buildspec.yml in the repository)", cfg.build_image, "buildspec.yml",
                secret_vars, privileged=privileged, extra_tags=reason_tags, timeout=60)
        titles = {"sast": "SAST (semgrep)", "secrets": "Secret detection (gitleaks)", "sca": "SCA (OSV-Scanner)"}
        for kind in naming.SCANS:
            project(kind, f"{titles[kind]}: platform-owned scan, report to Security Hub", buildspecs.SCAN_IMAGE, buildspecs.render(kind), [])
        project("dast", "DAST: OWASP ZAP baseline scan of staging, report to Security Hub", cfg.dast_image, buildspecs.render("dast"),
                [plain("DAST_TARGET_URL", cfg.dast_target_url)], compute="BUILD_GENERAL1_MEDIUM")

        # ---- permissions (now that keys, buckets and topics exist) ----------------
        objects = pulumi.Output.concat(bucket_arn, "/*")
        deploy_roles = [t.deploy_role_arn for t in args.targets.values()]
        source_stmts: list[dict[str, Any]] = []
        if source.type == "codeconnections":
            service = source.connection_arn.split(":")[2]
            source_stmts.append(_stmt("UseConnection", [f"{service}:UseConnection"], source.connection_arn,
                                      {"StringEquals": {f"{service}:FullRepositoryId": source.repository}}))
        elif source.type == "codecommit":
            source_stmts += [
                _stmt("ReadRepository", ["codecommit:CancelUploadArchive", "codecommit:GetBranch", "codecommit:GetCommit", "codecommit:GetRepository",
                                         "codecommit:GetUploadArchiveStatus", "codecommit:UploadArchive"], self.repository.arn),
                _stmt("DecryptSource", ["kms:Decrypt"], self.source_key.arn),
            ]
        else:
            source_stmts += [
                _stmt("ReadSourceObject", ["s3:GetObject", "s3:GetObjectVersion"], pulumi.Output.concat(source_bucket_arn, "/", source.object_key)),  # pyright: ignore[reportArgumentType] (set for an S3 source)
                _stmt("SourceBucketVersioning", ["s3:GetBucketVersioning"], source_bucket_arn),
                _stmt("DecryptSource", ["kms:Decrypt"], self.source_key.arn),
            ]
        roles.grant(
            "codepipeline", roles.pipeline,
            _stmt("Artifacts", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], objects),
            _stmt("ArtifactBucket", ["s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket"], bucket_arn),
            _stmt("ArtifactKey", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"], args.artifact_key.arn),
            _stmt("RunBuildsAndScans", ["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"], list(project_arns.values())),
            _stmt("ImportFindings", ["lambda:InvokeFunction"], args.importer_arn),
            _stmt("AssumeOwnDeployRoles", ["sts:AssumeRole"], deploy_roles),
            _stmt("RequestApproval", ["sns:Publish"], self.approval_topic.arn),
            _stmt("ApprovalTopicKey", ["kms:Decrypt", "kms:GenerateDataKey"], self.ops_key.arn),
            *source_stmts,
        )
        build_stmts = [
            _stmt("WriteBuildLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], pulumi.Output.concat(log_group_arn, ":*")),
            _stmt("Artifacts", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], objects),
            _stmt("ArtifactBucket", ["s3:GetBucketAcl", "s3:GetBucketLocation"], bucket_arn),
            _stmt("ArtifactKey", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"], args.artifact_key.arn),
            _stmt("TestReports", ["codebuild:BatchPutCodeCoverages", "codebuild:BatchPutTestCases", "codebuild:CreateReport",
                                  "codebuild:CreateReportGroup", "codebuild:UpdateReport"], arn(region, acct, "codebuild", f"report-group/{team}-*")),
        ]
        if any(r.store == "parameter-store" for r in cfg.build_secrets.values()):
            build_stmts.append(_stmt("BuildParameters", ["ssm:GetParameters"], arn(region, acct, "ssm", f"parameter/{team}/build/*")))
        if any(r.store == "secrets-manager" for r in cfg.build_secrets.values()):
            build_stmts.append(_stmt("BuildSecrets", ["secretsmanager:GetSecretValue"], arn(region, acct, "secretsmanager", f"secret:{team}/build/*")))
        roles.grant("codebuild", roles.codebuild, *build_stmts)
        if roles.events is not None:
            roles.grant("events", roles.events, _stmt("StartPipeline", ["codepipeline:StartPipelineExecution"], pipeline_arn))
        self._grant_duties(team, cfg, region, acct, pipeline_arn, project_arns, log_group_arn, source_bucket_arn)

        # ---- the pipeline -------------------------------------------------------
        self.pipeline = aws.codepipeline.Pipeline(
            f"{name}-pipeline",
            name=pipeline_name,
            region=region,
            pipeline_type="V2",
            execution_mode="QUEUED",
            role_arn=roles.pipeline.arn,
            artifact_stores=[
                aws.codepipeline.PipelineArtifactStoreArgs(
                    location=self.artifacts.name,
                    type="S3",
                    # By ARN: the deploy roles in other accounts cannot resolve an alias.
                    encryption_key=aws.codepipeline.PipelineArtifactStoreEncryptionKeyArgs(id=args.artifact_key.arn, type="KMS"),
                )
            ],
            stages=self._stages(team, cfg, args, pipeline_name, source_bucket_arn),
            triggers=(
                [aws.codepipeline.PipelineTriggerArgs(
                    provider_type="CodeStarSourceConnection",
                    git_configuration=aws.codepipeline.PipelineTriggerGitConfigurationArgs(
                        source_action_name="Source",
                        pushes=[aws.codepipeline.PipelineTriggerGitConfigurationPushArgs(
                            branches=aws.codepipeline.PipelineTriggerGitConfigurationPushBranchesArgs(includes=[source.branch]))],
                    ),
                )]
                if source.type == "codeconnections"
                else None
            ),
            tags=tags,
            # Roles need their permissions before the first execution starts.
            opts=team_data(pulumi.ResourceOptions(parent=self, depends_on=[self.artifact_key_policy, self.artifacts.policy])),
        )
        self._events(name, team, source, region, acct, pipeline_name, source_bucket_arn)
        self.pipeline_arn = self.pipeline.arn
        self.register_outputs({"pipeline": self.pipeline.name, "artifact_bucket": self.artifacts.name})

    # ------------------------------------------------------------------------
    def _grant_duties(self, team, cfg, region, acct, pipeline_arn, project_arns, log_group_arn, source_bucket_arn) -> None:
        roles = self.roles
        stage = lambda s: pulumi.Output.concat(pipeline_arn, "/", s)  # noqa: E731
        view = [
            _stmt("ViewPipeline", VIEW_ACTIONS, pipeline_arn),
            _stmt("ListPipelines", ["codepipeline:ListPipelines"], "*"),  # no resource-level permissions
            _stmt("CodeStarNotificationsReadOnlyAccess", ["codestar-notifications:DescribeNotificationRule"],
                  arn(region, acct, "codestar-notifications", "notificationrule/*"),
                  {"ArnEquals": {"codestar-notifications:NotificationsForResource": pipeline_arn}}),
            _stmt("ViewBuilds", ["codebuild:BatchGetBuilds", "codebuild:ListBuildsForProject"], list(project_arns.values())),
            _stmt("ViewBuildLogs", ["logs:FilterLogEvents", "logs:GetLogEvents"], [log_group_arn, pulumi.Output.concat(log_group_arn, ":*")]),
        ]
        protected = {"StringEqualsIfExists": {"codecommit:References": [f"refs/heads/{cfg.source.branch}"]},
                     "Null": {"codecommit:References": "false"}} if cfg.source.type == "codecommit" else None
        repo = self.repository.arn if self.repository is not None else None
        no_override = _stmt("NobodyOverridesApprovalRules", ["codecommit:OverridePullRequestApprovalRules"], repo, effect="Deny") if repo else None
        grants: dict[str, Sequence[dict[str, Any] | None]] = {"viewer": view}
        if "committer" in roles.duties and cfg.source.type == "codecommit":
            grants["committer"] = view + [
                _stmt("Contribute", ["codecommit:CreateBranch", "codecommit:CreateCommit", "codecommit:CreatePullRequest", "codecommit:DeleteBranch",
                                     "codecommit:GetBranch", "codecommit:GetCommit", "codecommit:GetDifferences", "codecommit:GetPullRequest",
                                     "codecommit:GetRepository", "codecommit:GitPull", "codecommit:GitPush", "codecommit:ListBranches",
                                     "codecommit:ListPullRequests", "codecommit:PostCommentForPullRequest", "codecommit:PutFile",
                                     "codecommit:UpdatePullRequestApprovalState", "codecommit:UpdatePullRequestDescription",
                                     "codecommit:UpdatePullRequestTitle"], repo),
                _stmt("NoWritesToProtectedBranch", BRANCH_WRITE_ACTIONS, repo, protected, effect="Deny"),
                _stmt("OnlyMergersMerge", MERGE_ACTIONS, repo, effect="Deny"),
                no_override,
            ]
        elif "committer" in roles.duties:  # S3 source: uploading the source object is the commit
            grants["committer"] = view + [
                _stmt("UploadSource", ["s3:PutObject"], pulumi.Output.concat(source_bucket_arn, "/", cfg.source.object_key)),
                _stmt("ReadSource", ["s3:GetObject", "s3:GetObjectVersion"], pulumi.Output.concat(source_bucket_arn, "/", cfg.source.object_key)),
                _stmt("EncryptSource", ["kms:GenerateDataKey", "kms:Decrypt"], self.source_key.arn),
            ]
        if "merger" in roles.duties:
            grants["merger"] = view + [
                _stmt("ReviewAndMerge", ["codecommit:EvaluatePullRequestApprovalRules", "codecommit:GetBranch", "codecommit:GetCommit",
                                         "codecommit:GetDifferences", "codecommit:GetPullRequest", "codecommit:GetPullRequestApprovalStates",
                                         "codecommit:GetRepository", "codecommit:GitPull", "codecommit:ListPullRequests",
                                         "codecommit:PostCommentForPullRequest", "codecommit:UpdatePullRequestApprovalState",
                                         *MERGE_ACTIONS], repo),
                # Changes reach the protected branch through reviewed pull requests only.
                _stmt("NoDirectWritesToProtectedBranch", BRANCH_WRITE_ACTIONS, repo, protected, effect="Deny"),
                no_override,
            ]
        grants["build_owner"] = view + [
            _stmt("RunTeamBuild", ["codebuild:BatchGetBuilds", "codebuild:RetryBuild", "codebuild:StartBuild", "codebuild:StopBuild"], project_arns["build"]),
            _stmt("ReadTestReports", ["codebuild:BatchGetReportGroups", "codebuild:BatchGetReports", "codebuild:DescribeCodeCoverages",
                                      "codebuild:DescribeTestCases"], arn(region, acct, "codebuild", f"report-group/{team}-build-*")),
            _stmt("StartPipeline", ["codepipeline:StartPipelineExecution", "codepipeline:StopPipelineExecution"], pipeline_arn),
            _stmt("RetryBuildAndScans", ["codepipeline:RetryStageExecution"], [stage("Build"), stage("Scan")]),
            _stmt("ManageBuildParameters", ["ssm:DeleteParameter", "ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter"],
                  arn(region, acct, "ssm", f"parameter/{team}/build/*")),
            _stmt("ManageBuildSecrets", ["secretsmanager:CreateSecret", "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue",
                                         "secretsmanager:UpdateSecret"], arn(region, acct, "secretsmanager", f"secret:{team}/build/*")),
        ]
        grants["iac_owner"] = view + [
            _stmt("RetryStaging", ["codepipeline:RetryStageExecution"], stage("Staging")),
            _stmt("HoldStaging", ["codepipeline:DisableStageTransition", "codepipeline:EnableStageTransition"], stage("Staging")),
        ]
        mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        grants["prod_deployer"] = view + [
            _stmt("ApproveProduction", ["codepipeline:PutApprovalResult"], pulumi.Output.concat(pipeline_arn, "/Approval/ProductionApproval"), mfa),
            _stmt("GateProduction", ["codepipeline:DisableStageTransition", "codepipeline:EnableStageTransition", "codepipeline:RetryStageExecution"],
                  stage("Production"), mfa),
        ]
        for duty, role in roles.duties.items():
            roles.grant(naming.DUTY_SUFFIX[duty], role, *[s for s in grants[duty] if s is not None])

    # ------------------------------------------------------------------------
    def _stages(self, team, cfg, args: TeamPipelineArgs, pipeline_name: str, source_bucket_arn) -> list[aws.codepipeline.PipelineStageArgs]:
        S = aws.codepipeline.PipelineStageArgs
        A = aws.codepipeline.PipelineStageActionArgs
        source = cfg.source
        region = args.region

        def codebuild(action: str, kind: str, inputs: list[str], outputs: list[str], run_order: int = 1, category: str = "Build") -> Any:
            return A(name=action, category=category, owner="AWS", provider="CodeBuild", version="1", run_order=run_order,
                     input_artifacts=inputs, output_artifacts=outputs, configuration={"ProjectName": naming.project(team, kind)})

        commit = "#{SourceVariables.VersionId}" if source.type == "s3" else "#{SourceVariables.CommitId}"
        repository = source.repository if source.type != "s3" else None

        def importer(kind: str) -> Any:
            scan = SCANS[kind]
            params = {
                "team": team, "pipeline": pipeline_name, "stage": scan.stage, "tool": scan.tool, "format": scan.format,
                "severity_threshold": cfg.severity_threshold, "execution_id": "#{codepipeline.PipelineExecutionId}",
                "commit": commit, "input_artifact": scan.artifact, "report_path": scan.report,
            }
            if repository:
                params["repository"] = repository
            return A(name=f"Import{scan.action}", category="Invoke", owner="AWS", provider="Lambda", version="1", run_order=2,
                     input_artifacts=[scan.artifact],
                     configuration={"FunctionName": naming.IMPORTER_NAME, "UserParameters": json.dumps(params, sort_keys=True)})

        if source.type == "codeconnections":
            src = A(name="Source", category="Source", owner="AWS", provider="CodeStarSourceConnection", version="1",
                    output_artifacts=["SourceOutput"], namespace="SourceVariables",
                    configuration={"ConnectionArn": source.connection_arn, "FullRepositoryId": source.repository,
                                   "BranchName": source.branch, "OutputArtifactFormat": "CODE_ZIP", "DetectChanges": "true"})
        elif source.type == "codecommit":
            src = A(name="Source", category="Source", owner="AWS", provider="CodeCommit", version="1",
                    output_artifacts=["SourceOutput"], namespace="SourceVariables",
                    configuration={"RepositoryName": source.repository, "BranchName": source.branch,
                                   "PollForSourceChanges": "false", "OutputArtifactFormat": "CODE_ZIP"})
        else:
            src = A(name="Source", category="Source", owner="AWS", provider="S3", version="1",
                    output_artifacts=["SourceOutput"], namespace="SourceVariables",
                    configuration={"S3Bucket": self.source_bucket.name, "S3ObjectKey": source.object_key, "PollForSourceChanges": "false"})

        def deploy(stage: str) -> Any:
            target = args.targets[stage]
            env = target.environment
            app, group = naming.codedeploy_application(team), naming.deployment_group(team, env)
            overrides = pulumi.Output.json_dumps({
                "Environment": env,
                "DeploymentConfigName": cfg.deployment.config_name(env),
                "CodeDeployApplication": app,
                "CodeDeployDeploymentGroup": group,
                "PermissionsBoundaryArn": pulumi.Output.concat("arn:aws:iam::", target.account_id, ":policy/", naming.boundary_policy(team)),
            })
            actions = [A(
                name="DeployInfrastructure", category="Deploy", owner="AWS", provider="CloudFormation", version="1", run_order=1,
                region=region, role_arn=target.deploy_role_arn, input_artifacts=["BuildOutput"],
                configuration={
                    "ActionMode": "CREATE_UPDATE",
                    "StackName": naming.app_stack(team, env),
                    "TemplatePath": "BuildOutput::deploy/template.yaml",
                    "Capabilities": CAPABILITIES,
                    "RoleArn": target.cfn_exec_role_arn,
                    "ParameterOverrides": overrides,
                },
            )]
            platform = cfg.deployment.compute_platform
            # A failed or rolled-back deployment fails the action, so the stage (and the run) fails.
            if platform == "Server":
                actions.append(A(name="DeployApplication", category="Deploy", owner="AWS", provider="CodeDeploy", version="1", run_order=2,
                                 region=region, role_arn=target.deploy_role_arn, input_artifacts=["BuildOutput"],
                                 configuration={"ApplicationName": app, "DeploymentGroupName": group}))
            elif platform == "ECS":
                actions.append(A(name="DeployApplication", category="Deploy", owner="AWS", provider="CodeDeployToECS", version="1", run_order=2,
                                 region=region, role_arn=target.deploy_role_arn, input_artifacts=["BuildOutput"],
                                 configuration={"ApplicationName": app, "DeploymentGroupName": group,
                                                "TaskDefinitionTemplateArtifact": "BuildOutput", "TaskDefinitionTemplatePath": "deploy/taskdef.json",
                                                "AppSpecTemplateArtifact": "BuildOutput", "AppSpecTemplatePath": "deploy/appspec.yaml"}))
            # Lambda: the team's template shifts traffic through CodeDeploy itself (an alias with
            # UpdatePolicy.CodeDeployLambdaAliasUpdate naming the platform's deployment group, so
            # the group's catalogue config and alarms apply); a rollback fails the stack update
            # and so DeployInfrastructure. (The V2 "Lambda" deploy action bypasses CodeDeploy.)
            return S(name=stage, actions=actions)

        scans = [codebuild(SCANS[k].action, k, ["SourceOutput"], [SCANS[k].artifact], category="Test") for k in naming.SCANS]
        return [
            S(name="Source", actions=[src]),
            S(name="Build", actions=[codebuild("BuildAndTest", "build", ["SourceOutput"], ["BuildOutput"])]),
            S(name="Scan", actions=[*scans, *[importer(k) for k in naming.SCANS]]),
            deploy("Staging"),
            S(name="DAST", actions=[codebuild(SCANS["dast"].action, "dast", ["SourceOutput"], [SCANS["dast"].artifact], category="Test"), importer("dast")]),
            S(name="Approval", actions=[A(
                name="ProductionApproval", category="Approval", owner="AWS", provider="Manual", version="1",
                configuration={"NotificationArn": self.approval_topic.arn, "ExternalEntityLink": cfg.dast_target_url,
                               "CustomData": f"Approve {args.team.name} for production: scans and DAST passed below {cfg.severity_threshold}; "
                                             f"deploys with {cfg.deployment.config_name('prod')}, rolling back on alarm."},
            )]),
            deploy("Production"),
        ]

    # ------------------------------------------------------------------------
    def _events(self, name, team, source, region, acct, pipeline_name, source_bucket_arn) -> None:
        child = pulumi.ResourceOptions(parent=self)

        # One notification rule per pipeline (AWS CodeStar Notifications), not five EventBridge
        # rules per team: the tooling account's default bus holds 300 rules, which 1,000
        # accounts' worth of pipelines would pass. A failed scan, import or deployment (rolled
        # back by CodeDeploy) is a failed action in its stage; the message names both.
        aws.codestarnotifications.NotificationRule(
            f"{name}-notifications",
            name=f"{team}-pipeline",
            region=region,
            resource=self.pipeline.arn,
            detail_type="FULL",
            event_type_ids=list(NOTIFICATION_EVENTS),
            targets=[aws.codestarnotifications.NotificationRuleTargetArgs(address=self.notification_topic.arn, type="SNS")],
            opts=child,
        )
        if self.roles.events is None:
            return
        if source.type == "codecommit":
            pattern = {"source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"],
                       "resources": [self.repository.arn],
                       "detail": {"event": ["referenceCreated", "referenceUpdated"], "referenceType": ["branch"], "referenceName": [source.branch]}}
        else:
            pattern = {"source": ["aws.s3"], "detail-type": ["Object Created"],
                       "detail": {"bucket": {"name": [self.source_bucket.name]}, "object": {"key": [source.object_key]}}}
        # CodeCommit and S3 sources start the pipeline from an event (one rule per such team).
        start = aws.cloudwatch.EventRule(f"{name}-start", name=f"{team}-pipeline-start", region=region,
                                         description="Start the pipeline on a change to the source",
                                         event_pattern=pulumi.Output.json_dumps(pattern), opts=child)
        aws.cloudwatch.EventTarget(f"{name}-start-target", rule=start.name, region=region, arn=self.pipeline.arn,
                                   role_arn=self.roles.events.arn, opts=child)
