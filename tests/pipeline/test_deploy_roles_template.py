"""The deploy-roles CloudFormation template (blueprint/pipeline/deploy_roles.py).

cfn-lint finds nothing (and the harness catches a broken template); trust names one
pipeline role inside the org; every role-changing IAM action needs the boundary; no
Action "*", and "*" resources only for actions without resource-level permissions.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import Any

import pytest

from blueprint.pipeline import deploy_roles as dr
from blueprint.pipeline import deployments
from blueprint.access.evaluator import arn_like, conditions_hold

REGIONS = ["us-east-1", "eu-west-1"]
ACCOUNT = "111122223333"
TOOLING = "444455556666"
ORG = "o-abcdefghij"
VALUES = {
    "AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": "eu-west-1", "OrgId": ORG, "ToolingAccountId": TOOLING,
    "Team": "payments", "Environment": "prod", "PipelineRoleArn": f"arn:aws:iam::{TOOLING}:role/payments-codepipeline",
    "ArtifactBucketName": f"payments-pipeline-{TOOLING}", "ArtifactKeyArn": f"arn:aws:kms:eu-west-1:{TOOLING}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "ComputePlatform": "Lambda", "DeploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    # The deployment target (tests/pipeline/test_deployments.py covers it per platform).
    **{k: v["Default"] for k, v in deployments.PARAMETERS.items()}, "LambdaFunction": "payments-api",
}


def _lint(body: str) -> list[Any]:
    from cfnlint.api import ManualArgs, lint

    return lint(body, config=ManualArgs(regions=REGIONS, include_checks=["I"]))


def test_cfn_lint_finds_nothing():
    matches = _lint(dr.template_body())
    assert not matches, "\n".join(f"{m.rule.id} {m.rule.severity}: {m.message} at {m.path}" for m in matches)


def test_cfn_lint_harness_catches_broken_templates():
    t = dr.template()
    t["Parameters"]["Unused"] = {"Type": "String"}  # W2001
    t["Resources"]["DeployRole"]["Properties"]["MaxSessionDuration"] = "one hour"  # E3012
    assert {"W2001", "E3012"} <= {m.rule.id for m in _lint(json.dumps(t))}


def test_size_and_determinism():
    body = dr.template_body()
    assert len(body.encode()) < dr.TEMPLATE_BODY_LIMIT and body == dr.template_body()
    assert json.loads(body) == dr.template()


# --------------------------------------------------------------------------- resolving
def _conditions(values: dict[str, Any]) -> dict[str, bool]:
    t = dr.template()
    out: dict[str, bool] = {}

    def ev(node: Any) -> bool:
        (fn, arg), = node.items()
        if fn == "Condition":
            return out[arg] if arg in out else ev(t["Conditions"][arg])
        if fn == "Fn::Not":
            return not ev(arg[0])
        if fn == "Fn::And":
            return all(ev(a) for a in arg)
        if fn == "Fn::Or":
            return any(ev(a) for a in arg)
        if fn == "Fn::Equals":
            return resolve(arg[0], values, {}) == resolve(arg[1], values, {})
        raise AssertionError(fn)

    for name, node in t["Conditions"].items():
        out[name] = ev(node)
    return out


class _Absent:
    pass


ABSENT = _Absent()


def resolve(node: Any, values: dict[str, Any], conds: dict[str, bool]) -> Any:
    if isinstance(node, list):
        return [v for v in (resolve(x, values, conds) for x in node) if v is not ABSENT]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Ref":
            return ABSENT if arg == "AWS::NoValue" else values.get(arg, f"<ref:{arg}>")
        if fn == "Fn::Sub":
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(values[m.group(1)]), arg)
        if fn == "Fn::If":
            return resolve(arg[1] if conds[arg[0]] else arg[2], values, conds)
        if fn == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
    out = {k: resolve(v, values, conds) for k, v in node.items()}
    return {k: v for k, v in out.items() if v is not ABSENT}


def deployed(**overrides: Any) -> dict[str, dict[str, Any]]:
    values = {**VALUES, **overrides}
    conds = _conditions(values)
    return {k: {**v, "Properties": resolve(v.get("Properties", {}), values, conds)}
            for k, v in dr.template()["Resources"].items() if v.get("Condition") is None or conds[v["Condition"]]}


def as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


def permission_docs(res: dict[str, dict[str, Any]]):
    for lid, r in res.items():
        props = r["Properties"]
        for pol in props.get("Policies", []):
            yield lid, pol["PolicyDocument"]
        if r["Type"] == "AWS::IAM::ManagedPolicy":
            yield lid, props["PolicyDocument"]


# --------------------------------------------------------------------------- tests
def test_a_stack_with_the_stackset_defaults_creates_nothing_that_trusts_anyone():
    defaults = {k: v["Default"] for k, v in dr.PARAMETERS.items() if "Default" in v}
    res = deployed(**defaults)
    assert set(res) == {"Unassigned"}


@pytest.mark.parametrize("platform,group", [("Lambda", True), ("Server", True), ("ECS", True)])
def test_codedeploy_per_platform(platform, group):
    res = deployed(ComputePlatform=platform, AutoScalingGroup1="web", LoadBalancer="app/web/0123456789abcdef")
    assert res["Application"]["Properties"] == {"ApplicationName": "payments", "ComputePlatform": platform}
    assert ("DeploymentGroup" in res) is group  # every platform's group is the platform's (ECS: blue/green pair)
    if group:
        g = res["DeploymentGroup"]["Properties"]
        assert g["DeploymentConfigName"] == VALUES["DeploymentConfigName"]
        assert g["DeploymentGroupName"] == "payments-prod"
        assert g["AutoRollbackConfiguration"] == {"Enabled": True, "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
        assert g["AlarmConfiguration"]["Enabled"] is True and 1 <= len(g["AlarmConfiguration"]["Alarms"]) <= 10
        assert ("Ec2TagSet" in g) is (platform == "Server")


def test_deploy_role_trusts_only_that_teams_pipeline_role_in_the_org():
    trust = deployed()["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]
    (s,) = trust["Statement"]
    assert s["Principal"] == {"AWS": f"arn:aws:iam::{TOOLING}:root"} and s["Action"] == "sts:AssumeRole"
    ok = {"aws:PrincipalArn": VALUES["PipelineRoleArn"], "aws:PrincipalOrgID": ORG}
    assert conditions_hold(s["Condition"], ok)
    assert not conditions_hold(s["Condition"], {**ok, "aws:PrincipalArn": f"arn:aws:iam::{TOOLING}:role/checkout-codepipeline"})
    assert not conditions_hold(s["Condition"], {**ok, "aws:PrincipalArn": f"arn:aws:iam::{TOOLING}:role/OrganizationAccountAccessRole"})
    assert not conditions_hold(s["Condition"], {**ok, "aws:PrincipalOrgID": "o-zzzzzzzzzz"})


def test_every_role_created_must_carry_the_boundary():
    res = deployed()
    boundary = f"arn:aws:iam::{ACCOUNT}:policy/payments-workload-boundary"
    assert res["WorkloadBoundary"]["Properties"]["ManagedPolicyName"] == "payments-workload-boundary"
    for lid in ("CfnExecutionRole", "DeployRole", "WorkloadBoundary"):
        doc = next(d for l, d in permission_docs(res) if l == lid)
        by_sid = {s["Sid"]: s for s in doc["Statement"]}
        deny = by_sid["DenyRoleChangesWithoutBoundary"]
        assert deny["Effect"] == "Deny" and set(deny["Action"]) >= {"iam:CreateRole", "iam:PutRolePermissionsBoundary"}
        assert deny["Condition"] == {"StringNotEquals": {"iam:PermissionsBoundary": boundary}}
        assert by_sid["DenyBoundaryRemoval"]["Action"] == ["iam:DeleteRolePermissionsBoundary"]
    allow = {s["Sid"]: s for s in next(d for l, d in permission_docs(res) if l == "CfnExecutionRole")["Statement"]}["BoundedRoleChanges"]
    assert allow["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    assert allow["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/payments-app-*"


def test_deploy_role_uses_the_execution_role_and_its_own_artifacts_only():
    doc = next(d for l, d in permission_docs(deployed()) if l == "DeployRole")
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["TeamStacksThroughExecutionRole"]["Condition"] == {
        "ArnEquals": {"cloudformation:RoleArn": f"arn:aws:iam::{ACCOUNT}:role/payments-cfn-exec"}}
    assert by_sid["Artifacts"]["Resource"] == f"arn:aws:s3:::payments-pipeline-{TOOLING}/*"
    assert by_sid["ArtifactKey"]["Resource"] == VALUES["ArtifactKeyArn"]
    assert "EcsTaskDefinitions" not in by_sid  # Lambda team
    ecs = {s["Sid"] for s in next(d for l, d in permission_docs(deployed(ComputePlatform="ECS")) if l == "DeployRole")["Statement"]}
    assert {"EcsTaskDefinitions", "EcsTaskRoles"} <= ecs


@lru_cache(maxsize=1)
def _iam_actions() -> dict[str, dict[str, Any]]:
    import parliament

    with open(os.path.join(os.path.dirname(parliament.__file__), "iam_definition.json")) as f:
        data = json.load(f)
    return {f"{s['prefix']}:{p['privilege']}".lower(): p for s in data for p in s["privileges"]}


@lru_cache(maxsize=1)
def _by_service() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in _iam_actions():
        out.setdefault(a.split(":", 1)[0], []).append(a)
    return out


@lru_cache(maxsize=None)
def expand(action: str) -> list[str]:
    """The IAM actions a pattern matches (searched within its service: the same answer, faster)."""
    import fnmatch

    action = action.lower()
    service = action.split(":", 1)[0]
    pool = _iam_actions() if any(c in service for c in "*?[") else _by_service().get(service, [])
    return [a for a in pool if fnmatch.fnmatchcase(a, action)]


def test_no_action_star_and_star_resources_only_without_resource_level_permissions():
    for platform in ("Lambda", "Server", "ECS"):
        for lid, doc in permission_docs(deployed(ComputePlatform=platform)):
            for s in doc["Statement"]:
                for action in as_list(s["Action"]):
                    if action == "*" and s["Effect"] == "Deny":
                        continue  # DenyPlatformResources: nothing at all on the platform's resources
                    assert action != "*" and expand(action), (lid, action)
                if s["Resource"] == "*" and s["Effect"] == "Allow":
                    for action in as_list(s["Action"]):
                        for a in expand(action):
                            types = {r["resource_type"] for r in _iam_actions()[a]["resource_types"]}
                            assert types == {""}, f"{lid}/{s['Sid']}: {a} has resource-level permissions {types}"


def test_instance_parameters_name_one_team():
    p = dr.instance_parameters(team="payments", environment="test", pipeline_role_arn="arn:aws:iam::1:role/payments-codepipeline",
                               artifact_bucket="payments-pipeline-1", artifact_key_arn="k", compute_platform="Lambda",
                               deployment_config="CodeDeployDefault.LambdaAllAtOnce")
    assert set(p) | {"OrgId", "ToolingAccountId"} == set(dr.PARAMETERS)  # targets: deployments.PARAMETERS, also per account
    assert all("payments" in str(v) for k, v in p.items() if k in ("Team", "PipelineRoleArn", "ArtifactBucketName"))
    for name, spec in dr.PARAMETERS.items():
        if "AllowedPattern" in spec and name in VALUES:
            assert re.fullmatch(spec["AllowedPattern"], VALUES[name]), name
    assert arn_like("arn:aws:iam::*:role/payments-*", VALUES["PipelineRoleArn"].replace(TOOLING, "123456789012"))


def test_the_boundarys_lambda_wildcards_expand_to_the_listed_actions_and_nothing_risky():
    """The boundary abbreviates Lambda actions to stay under IAM's 6,144-character limit; the
    wildcards must mean the same families, and never function URLs or code signing."""
    import fnmatch

    from blueprint.pipeline.deploy_roles import BOUNDARY_LAMBDA, LISTED_ACTIONS

    known = [a for a in _iam_actions() if a.startswith("lambda:")]
    expanded = {a for a in known for p in BOUNDARY_LAMBDA if fnmatch.fnmatchcase(a, p.lower())}
    listed = {f"lambda:{a}".lower() for a in LISTED_ACTIONS["lambda"][0]}
    assert listed <= expanded
    assert expanded - listed <= {"lambda:addlayerversionpermission", "lambda:removelayerversionpermission", "lambda:getfunctionconcurrency"}
    assert not any("url" in a or "codesigning" in a for a in expanded)
