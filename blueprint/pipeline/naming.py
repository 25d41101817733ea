"""Names and ARNs of everything a team's delivery pipeline owns, in one place.

Both ends of every cross-account trust are built from these functions: the tooling
account's roles (Pulumi) and the deploy roles in the team's accounts (StackSet template
parameters). A name that only one side computed would be a trust that silently never
matches.
"""

from __future__ import annotations

from typing import Any

import pulumi

from blueprint.pipeline_config import DUTIES, Pipeline

PREFIX = "secure-org"
DEPLOY_ROLES_STACK_SET = f"{PREFIX}-deploy-roles"
IMPORTER_NAME = f"{PREFIX}-findings-importer"

# Stage names, in the order the pipeline runs them (tests assert this order).
STAGES = ("Source", "Build", "Scan", "Staging", "DAST", "Approval", "Production")
# Environment each deploy stage targets (a team account), and the CloudFormation/CodeDeploy label.
DEPLOY_STAGES = {"Staging": "test", "Production": "prod"}
SCANS = ("sast", "secrets", "sca")  # the Scan stage; "dast" runs after staging

# Role name suffixes in the tooling account, by duty (human) and by service.
DUTY_SUFFIX = {d: d.replace("_", "-") for d in DUTIES}


def pipeline_name(team: str) -> str:
    return f"{team}-pipeline"


def service_role(team: str, service: str) -> str:
    """Service roles in the tooling account: 'codepipeline', 'codebuild', 'events'."""
    return f"{team}-{service}"


def duty_role(team: str, duty: str) -> str:
    return f"{team}-pipeline-{DUTY_SUFFIX[duty]}"


def project(team: str, kind: str) -> str:
    """CodeBuild projects: 'build', 'sast', 'secrets', 'sca', 'dast'."""
    return f"{team}-{kind}"


def log_group(team: str) -> str:
    return f"/secure-org/codebuild/{team}"


def artifact_bucket(team: str, tooling_account: Any) -> pulumi.Output[str]:
    # <= 32 + 10 + 12 characters: within S3's 63 whatever the team name.
    return pulumi.Output.concat(team, "-pipeline-", tooling_account)


def source_bucket(team: str, tooling_account: Any) -> pulumi.Output[str]:
    return pulumi.Output.concat(team, "-source-", tooling_account)


# --- roles the deploy-roles StackSet creates in each of the team's accounts -------------
def deploy_role(team: str) -> str:
    return f"{team}-deploy"


def cfn_exec_role(team: str) -> str:
    return f"{team}-cfn-exec"


def codedeploy_role(team: str) -> str:
    return f"{team}-codedeploy"


def boundary_policy(team: str) -> str:
    return f"{team}-workload-boundary"


def app_role_prefix(team: str) -> str:
    """Roles the team's own IaC creates must be named like this (and carry the boundary)."""
    return f"{team}-app-"


def codedeploy_application(team: str) -> str:
    return team


def deployment_group(team: str, environment: str) -> str:
    return f"{team}-{environment}"


def app_stack(team: str, environment: str) -> str:
    return f"{team}-{environment}-app"


def role_arn(account: Any, name: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:aws:iam::", account, ":role/", name)


def permission_set(team: str, duty: str, cfg: Pipeline) -> str:
    """The IAM Identity Center permission set whose users may take on ``duty``."""
    name = cfg.sso_permission_sets.get(duty) or f"{team}-{DUTY_SUFFIX[duty]}"
    if len(name) > 32:  # the permission-set name limit
        raise ValueError(
            f"team {team!r}: default permission set name {name!r} is over 32 characters; "
            f"set pipeline.sso_permission_sets.{duty}"
        )
    return name


def sso_role_patterns(account: Any, permission_set_name: str) -> list[pulumi.Output[str]]:
    """``aws:PrincipalArn`` patterns for one permission set's role in ``account``.

    Identity Center names the role ``AWSReservedSSO_<permission set>_<16 hex>`` under the
    reserved path ``/aws-reserved/sso.amazonaws.com/`` (newer instances add the region).
    Only the 16-character suffix is a wildcard (``?`` matches exactly one character), so a
    permission set whose name merely starts the same (``payments-viewer_x``) does not match.
    Nobody but Identity Center can create roles under that path.
    """
    suffix = f"AWSReservedSSO_{permission_set_name}_" + "?" * 16
    base = pulumi.Output.concat("arn:aws:iam::", account, ":role/aws-reserved/sso.amazonaws.com/")
    return [pulumi.Output.concat(base, suffix), pulumi.Output.concat(base, "*/", suffix)]
