"""Delivery: the findings importer, the deploy roles in team accounts, and one pipeline per team.

Everything lives in the tooling account (its provider) except the deploy roles, which
one service-managed StackSet puts into each pipeline team's environment accounts with
per-account parameters: no provider per workload account, so the provider count stays
constant whatever the number of teams.

Order matters in two places:

* each team's artifact key exists before the StackSet instances (their parameters name
  it, by ARN), while the key's *policy* and the artifact bucket's policy name the deploy
  roles and so wait for those instances (KMS and S3 reject principals that do not exist);
* nothing here calls an invoke through the tooling provider: at preview its role ARN is
  unknown for a just-created account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.config import StackConfig
from blueprint.iam import policy_json, service_trust
from blueprint.pipeline import deploy_roles, naming
from components.fanout import AccountOverride, StackSetFanOut, StackSetFanOutArgs
from components.pipeline import KEY_ADMIN_ACTIONS, DeployTarget, TeamPipeline, TeamPipelineArgs, key_policy
from components.pipeline_roles import _stmt, arn
from components.providers import AccountProviders
from components.secure_bucket import SecureBucket, SecureBucketArgs

REPO = Path(__file__).resolve().parents[1]
IMPORTER_SOURCE = REPO / "functions" / "findings_importer"
# Security Hub's BatchImportFindings quota is account-wide (10 TPS); each invocation paces
# itself to it, so only a couple may run at once (see the handler's docstring).
IMPORTER_CONCURRENCY = 2
IMPORTER_TIMEOUT = 300


@dataclass
class DeliveryArgs:
    config: StackConfig
    org_id: pulumi.Input[str]
    account_ids: dict[str, pulumi.Output[str]]  # account key -> id
    ou_ids: dict[str, pulumi.Output[str]]  # OU path -> id
    providers: AccountProviders
    depends_on: list[pulumi.Resource] = field(default_factory=list)  # the organization (trusted access for StackSets)
    tags: dict[str, str] = field(default_factory=dict)


def importer_code() -> pulumi.AssetArchive:
    """The importer package as a flat bundle (handler.handler), source files only."""
    files = sorted(p for p in IMPORTER_SOURCE.glob("*.py"))
    return pulumi.AssetArchive({p.name: pulumi.FileAsset(str(p)) for p in files})


class FindingsImporter(pulumi.ComponentResource):
    """The one findings-importer Lambda in the tooling account, its report bucket and key."""

    def __init__(self, name: str, cfg: StackConfig, tooling: pulumi.Input[str], admin_role_arn: Any, tags: dict[str, str],
                 access_log_bucket: pulumi.Input[str] | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:delivery:FindingsImporter", name, None, opts)
        region = cfg.organization.home_region
        child = pulumi.ResourceOptions(parent=self)
        fn_name = naming.IMPORTER_NAME
        log_group_name = f"/aws/lambda/{fn_name}"
        log_group_arn = arn(region, tooling, "logs", f"log-group:{log_group_name}")
        self.role = aws.iam.Role(
            f"{name}-role",
            name=fn_name,
            description="Findings importer: pipeline scan reports to Security Hub",
            assume_role_policy=service_trust("lambda.amazonaws.com", {"StringEquals": {"aws:SourceAccount": tooling}}),
            max_session_duration=3600,
            tags=tags,
            opts=child,
        )
        self.key = aws.kms.Key(
            f"{name}-key",
            region=region,
            description="Findings importer: archived scan reports and logs",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=key_policy(
                admin_role_arn,
                {"Sid": "ImporterUsesKey", "Effect": "Allow", "Principal": {"AWS": self.role.arn},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"},
                {"Sid": "LogsEncryptImporterLogs", "Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                 "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"], "Resource": "*",
                 "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}}},
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        bucket_name = pulumi.Output.concat(cfg.organization.name, "-findings-", tooling)
        self.reports = SecureBucket(
            f"{name}-reports",
            SecureBucketArgs(bucket=bucket_name, region=region, kms_key_arn=self.key.arn, require_key_on_upload=True,
                             expire_days=cfg.security_baseline.log_archive.expire_days, noncurrent_days=30,
                             access_log_bucket=access_log_bucket, tags=tags),
            child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name,
            region=region,
            kms_key_id=self.key.arn,
            retention_in_days=cfg.security_baseline.log_archive.cloudwatch_retention_days,
            tags=tags,
            opts=child,
        )
        bucket_arn = pulumi.Output.concat("arn:aws:s3:::", bucket_name)
        # Exactly what the handler's docstring lists, each on its own resource where IAM allows.
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.name,
            policy=policy_json(
                # Direct invocations may point at reports uploaded to incoming/; in CodePipeline
                # mode the report comes from the input artifact with the job's own credentials.
                _stmt("ReadSourceReports", ["s3:GetObject"], pulumi.Output.concat(bucket_arn, "/incoming/*")),
                _stmt("ArchiveReports", ["s3:PutObject"], pulumi.Output.concat(bucket_arn, "/reports/*")),
                _stmt("ReportKey", ["kms:Decrypt", "kms:GenerateDataKey"], self.key.arn),
                _stmt("ImportFindings", ["securityhub:BatchImportFindings"],
                      pulumi.Output.concat("arn:aws:securityhub:", region, ":", tooling, ":product/", tooling, "/default")),
                # No resource-level permissions for these three.
                _stmt("WhoAmI", ["sts:GetCallerIdentity"], "*"),
                _stmt("ReportJobResult", ["codepipeline:PutJobFailureResult", "codepipeline:PutJobSuccessResult"], "*"),
                _stmt("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], pulumi.Output.concat(log_group_arn, ":*")),
            ),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=fn_name,
            region=region,
            description="Imports pipeline scan reports (SARIF, pip-audit, OSV, Trivy, ZAP) into Security Hub and gates on severity",
            runtime="python3.12",
            handler="handler.handler",
            code=importer_code(),
            role=self.role.arn,
            timeout=IMPORTER_TIMEOUT,
            memory_size=512,
            reserved_concurrent_executions=IMPORTER_CONCURRENCY,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={"REPORT_BUCKET": self.reports.name, "REPORT_KMS_KEY_ARN": self.key.arn, "DEFAULT_SEVERITY_THRESHOLD": "HIGH"}
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=self.log_group.name),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.log_group]),
        )
        # CodePipeline invokes asynchronously; a retry would import the same report twice.
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async",
            function_name=self.function.name,
            region=region,
            maximum_retry_attempts=0,
            maximum_event_age_in_seconds=3600,
            opts=child,
        )
        self.arn = self.function.arn
        self.register_outputs({"function": self.function.arn, "report_bucket": self.reports.name})


class Delivery(pulumi.ComponentResource):
    def __init__(self, name: str, args: DeliveryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:delivery:Delivery", name, None, opts)
        cfg = args.config
        org = cfg.organization
        home = org.home_region
        tooling_provider = args.providers.get("tooling")
        in_tooling = pulumi.ResourceOptions(parent=self, provider=tooling_provider)
        tooling = args.account_ids["tooling"]
        admin_role_arn = naming.role_arn(tooling, org.org_access_role)
        teams = [t for t in cfg.teams if t.pipeline is not None]

        # S3 server access logs of the artifact, source and report buckets: who read which
        # build output. AWS delivers these only to an SSE-S3 bucket in the same account.
        access_logs_name = pulumi.Output.concat(org.name, "-pipeline-access-logs-", tooling)
        self.access_logs = SecureBucket(
            f"{name}-access-logs",
            SecureBucketArgs(
                bucket=access_logs_name,
                region=home,
                kms_key_arn=None,
                expire_days=cfg.security_baseline.log_archive.expire_days,
                policy_statements=[
                    {
                        "Sid": "S3ServerAccessLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": pulumi.Output.concat("arn:aws:s3:::", access_logs_name, "/*"),
                        "Condition": {"StringEquals": {"aws:SourceAccount": tooling}},
                    }
                ],
                tags=args.tags,
            ),
            in_tooling,
        )
        self.importer = FindingsImporter(f"{name}-importer", cfg, tooling, admin_role_arn, args.tags, self.access_logs.name, in_tooling)

        # Artifact keys first: the deploy-role parameters name them by ARN.
        keys: dict[str, aws.kms.Key] = {}
        for team in teams:
            keys[team.name] = aws.kms.Key(
                f"{name}-{team.name}-artifact-key",
                region=home,
                description=f"{team.name} pipeline artifacts (policy: {team.name}-pipeline-artifact-key-policy)",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                tags={**args.tags, "team": team.name},
                # The policy is its own resource (TeamPipeline), after the deploy roles exist.
                opts=pulumi.ResourceOptions(parent=self, provider=tooling_provider, protect=True, retain_on_delete=True, ignore_changes=["policy"]),
            )

        overrides: list[AccountOverride] = []
        specs = {(a.team, a.environment): a for a in cfg.accounts() if a.team}
        for team in teams:
            for env in team.environments:
                spec = specs[(team.name, env)]
                if spec.decommission:
                    continue
                overrides.append(
                    AccountOverride(
                        key=spec.key,
                        account_id=args.account_ids[spec.key],
                        ou_id=args.ou_ids[spec.ou],
                        parameters=deploy_roles.instance_parameters(
                            team=team.name,
                            environment=env,
                            pipeline_role_arn=naming.role_arn(tooling, naming.service_role(team.name, "codepipeline")),
                            artifact_bucket=naming.artifact_bucket(team.name, tooling),
                            artifact_key_arn=keys[team.name].arn,
                            compute_platform=team.pipeline.compute_platform,
                            deployment_config=team.pipeline.deployment_config,
                        ),
                    )
                )
        self.deploy_roles = StackSetFanOut(
            f"{name}-deploy-roles",
            StackSetFanOutArgs(
                stack_set_name=naming.DEPLOY_ROLES_STACK_SET,
                description="Per team account: the team pipeline's deploy role, CloudFormation execution role (mandatory permissions boundary) and CodeDeploy application",
                template_body=deploy_roles.template_body(),
                # StackSet-wide values; everything naming a team is a per-account override.
                parameters={"OrgId": args.org_id, "ToolingAccountId": tooling},
                regions=[home],  # IAM is global: one instance per account
                home_region=home,
                rollout=cfg.security_baseline.rollout,
                accounts=overrides,
                depends_on=list(args.depends_on),
                tags=args.tags,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        instances = dict(zip((o.key for o in overrides), self.deploy_roles.instances))
        assert len(instances) == len(self.deploy_roles.instances), "one deploy-roles instance per account"

        self.pipelines: dict[str, TeamPipeline] = {}
        for team in teams:
            ready = [instances[f"{team.name}-{env}"] for env in naming.DEPLOY_STAGES.values()]
            targets = {}
            for stage, env in naming.DEPLOY_STAGES.items():
                account = args.account_ids[f"{team.name}-{env}"]
                inst = instances[f"{team.name}-{env}"]

                def gated(role: str, inst: aws.cloudformation.StackSetInstance = inst, account: Any = account) -> pulumi.Output[str]:
                    # The ARN, available only once the instance (and so the role) exists.
                    return pulumi.Output.all(inst.id, naming.role_arn(account, role)).apply(lambda v: v[1])

                targets[stage] = DeployTarget(
                    environment=env,
                    account_id=account,
                    deploy_role_arn=gated(naming.deploy_role(team.name)),
                    cfn_exec_role_arn=gated(naming.cfn_exec_role(team.name)),
                )
            self.pipelines[team.name] = TeamPipeline(
                f"{name}-{team.name}",
                TeamPipelineArgs(
                    team=team,
                    org_id=args.org_id,
                    tooling_account_id=tooling,
                    region=home,
                    admin_role_arn=admin_role_arn,
                    artifact_key=keys[team.name],
                    targets=targets,
                    importer_arn=self.importer.arn,
                    log_retention_days=cfg.security_baseline.log_archive.cloudwatch_retention_days,
                    access_log_bucket=self.access_logs.name,
                    deploy_roles_ready=ready,
                    tags=args.tags,
                ),
                in_tooling,
            )
        self.register_outputs(
            {
                "importer": self.importer.arn,
                "pipelines": {t: p.pipeline.name for t, p in self.pipelines.items()},
            }
        )


__all__ = ["Delivery", "DeliveryArgs", "FindingsImporter", "KEY_ADMIN_ACTIONS"]
