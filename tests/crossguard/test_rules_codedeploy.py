"""Failing and passing fixtures for the CodeDeploy rules (blueprint/crossguard/rules_codedeploy.py),
over the real deploy-roles template resolved per stack instance.

The cases are also added to fixtures.RESOURCE_CASES / STACK_CASES so that test_rules.py's
catalogue check (every rule has a failing and a passing fixture) sees them.
"""

from __future__ import annotations

import json

import pytest

from blueprint.crossguard.documents import UNKNOWN
from blueprint.crossguard.rules import Resource, Settings
from blueprint.pipeline import deploy_roles as dr

from .fixtures import RESOURCE_CASES, STACK_CASES, Case, StackCase
from .test_rules import run_case, run_stack_case

SS = "aws:cloudformation/stackSet:StackSet"
INST = "aws:cloudformation/stackSetInstance:StackSetInstance"
GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
CONFIG = "aws:codedeploy/deploymentConfig:DeploymentConfig"
LAMBDA = {"Team": "payments", "Environment": "prod", "ComputePlatform": "Lambda", "LambdaFunction": "payments-api",
          "DeploymentConfigName": "secure-org.LambdaCanary10Percent15Minutes"}


def stackset(template: dict | None = None, **overrides) -> list[Resource]:
    body = json.dumps(template or dr.template())
    ss = Resource(SS, "roles", "urn:pulumi:t::p::aws:cloudformation/stackSet:StackSet::roles",
                  {"name": "secure-org-deploy-roles", "templateBody": body, "parameters": {"OrgId": "o-abcdefghij", "ToolingAccountId": "222222222222"}})
    inst = Resource(INST, "roles-payments-prod", "urn:pulumi:t::p::aws:cloudformation/stackSetInstance:StackSetInstance::roles-payments-prod",
                    {"stackSetName": "secure-org-deploy-roles", "parameterOverrides": {**LAMBDA, **overrides}})
    return [ss, inst]


def without_rollback() -> dict:
    t = dr.template()
    t["Resources"]["DeploymentGroup"]["Properties"]["AutoRollbackConfiguration"] = {"Enabled": True, "Events": ["DEPLOYMENT_FAILURE"]}
    return t


def group(**props) -> dict:
    return {"appName": "a", "deploymentGroupName": "g", "serviceRoleArn": "arn:aws:iam::111122223333:role/r",
            "deploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes", "tags": {"environment": "prod"}, **props}


def pulumi_group(**props) -> list[Resource]:
    return [Resource(GROUP, "g", "urn:pulumi:t::p::aws:codedeploy/deploymentGroup:DeploymentGroup::g", group(**props))]


S, C = StackCase, Case
STACK = [
    S("codedeploy-group-rollback-and-alarms", stackset(), False, id="platform-template"),
    S("codedeploy-group-rollback-and-alarms", stackset(without_rollback()), True, id="no-stop-on-alarm"),
    S("codedeploy-group-rollback-and-alarms", stackset(LambdaFunction="none"), True, id="alarm-without-target"),
    S("codedeploy-group-rollback-and-alarms", stackset(**{f"ExtraAlarm{i}": f"a{i}" for i in range(1, 9)}), False, id="ten-alarms"),
    S("codedeploy-config-in-catalogue", stackset(), False, id="catalogue"),
    S("codedeploy-config-in-catalogue", stackset(DeploymentConfigName="CodeDeployDefault.LambdaLinear10PercentEvery1Minute"), False, id="aws-predefined"),
    S("codedeploy-config-in-catalogue", stackset(DeploymentConfigName="secure-org.LambdaCanary15Percent5Minutes"), True, id="not-in-catalogue"),
    S("codedeploy-config-in-catalogue", stackset(DeploymentConfigName="CodeDeployDefault.ECSAllAtOnce"), True, id="other-platform"),
    S("codedeploy-config-in-catalogue", pulumi_group(deploymentConfigName="team-special"), True, id="plain-group-unknown-config"),
    S("codedeploy-prod-gradual", stackset(), False, id="canary"),
    S("codedeploy-prod-gradual", stackset(DeploymentConfigName="CodeDeployDefault.LambdaAllAtOnce"), True, id="all-at-once"),
    S("codedeploy-prod-gradual", stackset(DeploymentConfigName="CodeDeployDefault.LambdaAllAtOnce", AllAtOnceExemption="2099-01-01 legacy"),
      False, id="exempt"),
    S("codedeploy-prod-gradual", stackset(DeploymentConfigName="CodeDeployDefault.LambdaAllAtOnce", AllAtOnceExemption="2020-01-01 legacy"),
      True, id="exemption-expired"),
    S("codedeploy-prod-gradual", stackset(DeploymentConfigName="CodeDeployDefault.LambdaAllAtOnce", Environment="test"), False, id="test-env"),
    S("codedeploy-prod-gradual", pulumi_group(deploymentConfigName="CodeDeployDefault.AllAtOnce"), True, id="plain-group"),
]
RES = [
    C("codedeploy-config-named-by-parameters", CONFIG, {"deploymentConfigName": "secure-org.LambdaCanary10Percent15Minutes", "computePlatform": "Lambda",
      "trafficRoutingConfig": {"type": "TimeBasedCanary", "timeBasedCanary": {"percentage": 10, "interval": 15}}}, False, id="named"),
    C("codedeploy-config-named-by-parameters", CONFIG, {"deploymentConfigName": "secure-org.LambdaCanary10Percent15Minutes", "computePlatform": "Lambda",
      "trafficRoutingConfig": {"type": "TimeBasedCanary", "timeBasedCanary": {"percentage": 20, "interval": 15}}}, True, id="changed-in-place"),
    C("codedeploy-config-named-by-parameters", CONFIG, {"deploymentConfigName": "secure-org.LambdaLinear1PercentEvery60Minutes", "computePlatform": "Lambda",
      "trafficRoutingConfig": {"type": "TimeBasedLinear", "timeBasedLinear": {"percentage": 1, "interval": 60}}}, True, id="over-48h"),
    C("codedeploy-config-named-by-parameters", SS, {"templateBody": json.dumps(dr.template())}, False, id="catalogue"),
]
STACK_CASES.extend(c for c in STACK if str(c) not in {str(x) for x in STACK_CASES})
RESOURCE_CASES.extend(c for c in RES if str(c) not in {str(x) for x in RESOURCE_CASES})


@pytest.mark.parametrize("case", STACK, ids=str)
def test_codedeploy_stack_rule(case):
    found = run_stack_case(case)
    assert bool(found) == case.fails, found
    assert all(r is not None and r.urn for r, _ in found)


@pytest.mark.parametrize("case", RES, ids=str)
def test_codedeploy_resource_rule(case):
    assert bool(run_case(case)) == case.fails


def test_messages_say_what_is_wrong():
    (_, msg), = run_stack_case(S("codedeploy-prod-gradual", stackset(DeploymentConfigName="CodeDeployDefault.LambdaAllAtOnce",
                                                                     AllAtOnceExemption="2020-01-01 legacy"), True))
    assert "production deploys with CodeDeployDefault.LambdaAllAtOnce" in msg and "exemption expired 2020-01-01" in msg
    (_, msg), = run_stack_case(S("codedeploy-group-rollback-and-alarms", stackset(LambdaFunction="none"), True))[:1]
    assert "never receives data" in msg


@pytest.mark.parametrize("rule", ["codedeploy-group-rollback-and-alarms", "codedeploy-config-in-catalogue", "codedeploy-prod-gradual"])
def test_unknown_parameters_give_no_violation(rule):
    resources = stackset(without_rollback(), DeploymentConfigName="CodeDeployDefault.LambdaAllAtOnce", LambdaFunction="none")
    resources[1].props["parameterOverrides"]["ArtifactKeyArn"] = UNKNOWN
    assert run_stack_case(S(rule, resources, True)) == []
    resources = stackset(without_rollback())
    resources[0].props["templateBody"] = UNKNOWN
    assert run_stack_case(S(rule, resources, True)) == []


def test_planned_prod_stack_is_clean_and_has_every_platform():
    from tests.conftest import plan_of

    code, doc = plan_of("prod")
    names = {f["rule"] for f in doc["findings"]}
    assert not names & {"codedeploy-group-rollback-and-alarms", "codedeploy-config-in-catalogue", "codedeploy-prod-gradual",
                        "codedeploy-config-named-by-parameters"}
    platforms = {r["inputs"]["parameterOverrides"]["ComputePlatform"] for r in doc["resources"]
                 if r["type"] == INST and r["inputs"].get("stackSetName") == "secure-org-deploy-roles"}
    assert platforms == {"Lambda", "ECS", "Server"}
    assert Settings()  # rules read no settings
