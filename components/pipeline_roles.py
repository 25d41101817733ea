"""IAM roles of one team's pipeline in the tooling account: service roles and roles by duty.

Service roles (CodePipeline, CodeBuild, the EventBridge start role) trust their service
for this account and this team's pipeline/projects only (confused-deputy conditions).

Duty roles follow "who can view, commit, merge, build and test, own the IaC, and deploy
to production". People reach them from IAM Identity Center: a permission set per duty
(default ``<team>-<duty>``) whose role in the tooling account may assume the duty role.
Trust names the tooling account as principal and pins the caller with ``aws:PrincipalArn``
patterns of that permission set's reserved SSO role (only its random suffix is wild) plus
``aws:PrincipalOrgID``. (An IAM principal element cannot hold a wildcard, and the SSO
role's suffix is not known in advance, hence the condition.) The production deployer
also needs MFA (``aws:MultiFactorAuthPresent``, fail-closed ``Bool``).

Roles are created with their trust policies first; permissions are attached later with
:meth:`PipelineRoles.grant`, because the KMS key policies must name the roles (KMS checks
that principals exist) and the roles' permissions must name the keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.iam import account_root, policy_json
from blueprint.pipeline import naming
from blueprint.pipeline_config import DUTIES, Pipeline

# Everyone on the team may look; the seed's read-only CodePipeline policy, scoped to the pipeline.
VIEW_ACTIONS = (
    "codepipeline:GetPipeline", "codepipeline:GetPipelineExecution", "codepipeline:GetPipelineState",
    "codepipeline:ListActionExecutions", "codepipeline:ListPipelineExecutions", "codepipeline:ListRuleExecutions",
)
MERGE_ACTIONS = (
    "codecommit:MergeBranchesByFastForward", "codecommit:MergeBranchesBySquash", "codecommit:MergeBranchesByThreeWay",
    "codecommit:MergePullRequestByFastForward", "codecommit:MergePullRequestBySquash", "codecommit:MergePullRequestByThreeWay",
)
BRANCH_WRITE_ACTIONS = ("codecommit:CreateCommit", "codecommit:DeleteBranch", "codecommit:GitPush", "codecommit:PutFile")


@dataclass
class PipelineRolesArgs:
    team: str  # the team's identity (Team.key): every name derives from it
    pipeline: Pipeline
    tooling_account_id: pulumi.Input[str]
    org_id: pulumi.Input[str]
    region: str
    tags: dict[str, str] = field(default_factory=dict)
    team_name: str = ""  # the team's current name, for tags and descriptions (default: team)


def _stmt(sid: str, actions: Any, resources: Any, condition: dict | None = None, effect: str = "Allow") -> dict[str, Any]:
    s: dict[str, Any] = {"Sid": sid, "Effect": effect, "Action": sorted(actions) if isinstance(actions, (list, tuple)) else actions, "Resource": resources}
    if condition:
        s["Condition"] = condition
    return s


def arn(region: str, account: Any, service: str, resource: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:aws:", service, ":", region, ":", account, ":", resource)


class PipelineRoles(pulumi.ComponentResource):
    def __init__(self, name: str, args: PipelineRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:pipeline:PipelineRoles", name, None, opts)
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        team, cfg, acct, region = args.team, args.pipeline, args.tooling_account_id, args.region
        shown = args.team_name or team
        self.pipeline_arn = arn(region, acct, "codepipeline", naming.pipeline_name(team))
        source = cfg.source.type

        def service(key: str, principal: str, source_arn: Any, like: bool) -> aws.iam.Role:
            return aws.iam.Role(
                f"{name}-{key}",
                name=naming.service_role(team, key),
                description=f"{principal} for team {shown}'s pipeline",
                assume_role_policy=policy_json(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": principal},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": acct},
                            ("ArnLike" if like else "ArnEquals"): {"aws:SourceArn": source_arn},
                        },
                    }
                ),
                max_session_duration=3600,
                tags={**args.tags, "team": shown, "duty": "service"},
                opts=self._child,
            )

        self.pipeline = service("codepipeline", "codepipeline.amazonaws.com", self.pipeline_arn, like=False)
        self.codebuild = service("codebuild", "codebuild.amazonaws.com", arn(region, acct, "codebuild", f"project/{team}-*"), like=True)
        self.start_rule_arn = arn(region, acct, "events", f"rule/{team}-pipeline-start")
        # CodeCommit and S3 sources start the pipeline through EventBridge, not polling.
        self.events = (
            service("events", "events.amazonaws.com", self.start_rule_arn, like=False) if source in ("codecommit", "s3") else None
        )

        # Committer and merger exist only where the repository lives in AWS: for a
        # CodeConnections source, GitHub/GitLab/Bitbucket govern who commits and merges.
        duties = [d for d in DUTIES if not (d == "committer" and source == "codeconnections") and not (d == "merger" and source != "codecommit")]
        self.duties: dict[str, aws.iam.Role] = {}
        for duty in duties:
            conditions: dict[str, Any] = {
                "ArnLike": {"aws:PrincipalArn": naming.sso_role_patterns(acct, naming.permission_set(team, duty, cfg))},
                "StringEquals": {"aws:PrincipalOrgID": args.org_id},
            }
            if duty == "prod_deployer":
                conditions["Bool"] = {"aws:MultiFactorAuthPresent": "true"}
            self.duties[duty] = aws.iam.Role(
                f"{name}-{naming.DUTY_SUFFIX[duty]}",
                name=naming.duty_role(team, duty),
                description=f"Team {shown}: pipeline {duty.replace('_', ' ')} (from IAM Identity Center)",
                assume_role_policy=policy_json(
                    {"Effect": "Allow", "Principal": {"AWS": account_root(acct)}, "Action": "sts:AssumeRole", "Condition": conditions}
                ),
                max_session_duration=3600,
                tags={**args.tags, "team": shown, "duty": duty},
                opts=self._child,
            )
        self.register_outputs({"pipeline_role": self.pipeline.arn, "codebuild_role": self.codebuild.arn})

    def grant(self, key: str, role: aws.iam.Role, *statements: Any, depends_on: list[pulumi.Resource] | None = None) -> aws.iam.RolePolicy:
        """Attach an inline policy to one of these roles."""
        return aws.iam.RolePolicy(
            f"{self._name}-{key}-policy",
            role=role.name,
            policy=policy_json(*statements),
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
        )
