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

# pyright: reportOptionalMemberAccess=false
# (only teams with a pipeline reach `team.pipeline`)

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.config import StackConfig
from blueprint.pipeline import deploy_roles, naming
from components.fanout import AccountOverride, StackSetFanOut, StackSetFanOutArgs
from components.findings_importer import FindingsImporter, FindingsImporterArgs
from components.kms import customer_key
from components.pipeline import KEY_ADMIN_ACTIONS, DeployTarget, TeamPipeline, TeamPipelineArgs
from components.providers import AccountProviders
from components.secure_bucket import SecureBucket, SecureBucketArgs

@dataclass
class DeliveryArgs:
    config: StackConfig
    org_id: pulumi.Input[str]
    account_ids: dict[str, pulumi.Output[str]]  # account key -> id
    ou_ids: dict[str, pulumi.Input[str]]  # OU path -> id
    providers: AccountProviders
    depends_on: list[pulumi.Resource] = field(default_factory=list)  # the organization (trusted access for StackSets)
    tags: dict[str, str] = field(default_factory=dict)


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
                protect=True,  # shared by every team: who read which build output
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
        self.importer = FindingsImporter(
            f"{name}-importer",
            FindingsImporterArgs(
                org_name=org.name,
                region=home,
                tooling_account_id=tooling,
                admin_role_arn=admin_role_arn,
                report_expire_days=cfg.security_baseline.log_archive.expire_days,
                log_retention_days=cfg.security_baseline.log_archive.cloudwatch_retention_days,
                access_log_bucket=self.access_logs.name,
                tags=args.tags,
            ),
            in_tooling,
        )

        # Artifact keys first: the deploy-role parameters name them by ARN. Everything of a
        # team is named after its identity (team.key), so a rename replaces nothing.
        keys: dict[str, aws.kms.Key] = {}
        for team in teams:
            keys[team.key] = customer_key(
                f"{name}-{team.key}-artifact-key",
                region=home,
                description=f"{team.name} pipeline artifacts (policy: {team.key}-pipeline-artifact-key-policy)",
                tags={**args.tags, "team": team.name},
                # Retained, not protected: removing the pipeline block leaves it behind.
                protect=False,
                # The policy is its own resource (TeamPipeline), after the deploy roles exist.
                opts=pulumi.ResourceOptions(parent=self, provider=tooling_provider, ignore_changes=["policy"]),
            )

        overrides: list[AccountOverride] = []
        specs = {(a.team, a.environment): a for a in cfg.accounts() if a.team}
        for team in teams:
            for env in team.environments:
                spec = specs[(team.key, env)]
                if spec.decommission:
                    continue
                overrides.append(
                    AccountOverride(
                        key=spec.key,
                        account_id=args.account_ids[spec.key],
                        ou_id=args.ou_ids[spec.ou],
                        parameters=deploy_roles.instance_parameters(
                            team=team.key,
                            environment=env,
                            pipeline_role_arn=naming.role_arn(tooling, naming.service_role(team.key, "codepipeline")),
                            artifact_bucket=naming.artifact_bucket(team.key, tooling),
                            artifact_key_arn=keys[team.key].arn,
                            compute_platform=team.pipeline.deployment.compute_platform,
                            # Each account's group uses its environment's catalogue config.
                            deployment_config=team.pipeline.deployment.config_name(env) if env in ("test", "prod") else
                            team.pipeline.deployment.config_name("test"),
                            target=team.pipeline.deployment.parameters(team.key, env) if env in ("test", "prod") else None,
                        ),
                    )
                )
        self.deploy_roles = StackSetFanOut(
            f"{name}-deploy-roles",
            StackSetFanOutArgs(
                stack_set_name=naming.DEPLOY_ROLES_STACK_SET,
                description="Per team account: the team pipeline's deploy role, CloudFormation execution role (mandatory permissions boundary), CodeDeploy application, deployment configs, rollback alarms and deployment group",
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
            ready: list[pulumi.Resource] = [instances[f"{team.key}-{env}"] for env in naming.DEPLOY_STAGES.values()]
            targets = {}
            for stage, env in naming.DEPLOY_STAGES.items():
                account = args.account_ids[f"{team.key}-{env}"]
                inst = instances[f"{team.key}-{env}"]

                def gated(role: str, inst: aws.cloudformation.StackSetInstance = inst, account: Any = account) -> pulumi.Output[str]:
                    # The ARN, available only once the instance (and so the role) exists.
                    return pulumi.Output.all(inst.id, naming.role_arn(account, role)).apply(lambda v: v[1])

                targets[stage] = DeployTarget(
                    environment=env,
                    account_id=account,
                    deploy_role_arn=gated(naming.deploy_role(team.key)),
                    cfn_exec_role_arn=gated(naming.cfn_exec_role(team.key)),
                )
            self.pipelines[team.key] = TeamPipeline(
                f"{name}-{team.key}",
                TeamPipelineArgs(
                    team=team,
                    org_id=args.org_id,
                    tooling_account_id=tooling,
                    region=home,
                    admin_role_arn=admin_role_arn,
                    artifact_key=keys[team.key],
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
