"""Failing and passing fixtures for the log-group rules (blueprint/crossguard/rules_logs.py), also
added to fixtures.RESOURCE_CASES (conftest.py imports this module first) for the catalogue checks."""

from __future__ import annotations

import pytest

from blueprint.crossguard import engine
from blueprint.crossguard.rules import Settings

from .fixtures import KEY_ARN, RESOURCE_CASES, Case, template
from .test_rules import run_case

LG = "aws:cloudwatch/logGroup:LogGroup"
SS = "aws:cloudformation/stackSet:StackSet"
STACK = "aws:cloudformation/stack:Stack"


def group(**props) -> dict:
    return {"name": "/aws/lambda/secure-org-x", "kmsKeyId": KEY_ARN, "retentionInDays": 365, **props}


def cfn_group(**props) -> dict:
    return template({"HandlerLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/aws/lambda/x", **props}}})


C = Case
RES = [
    C("cloudwatch-log-group-kms", LG, group(), False, id="customer-key"),
    C("cloudwatch-log-group-kms", LG, {k: v for k, v in group().items() if k != "kmsKeyId"}, True, id="service-key"),
    C("cloudwatch-log-group-kms", LG, group(kmsKeyId=""), True, id="empty"),
    C("cloudwatch-log-group-kms", SS, cfn_group(KmsKeyId={"Fn::GetAtt": ["LogsKey", "Arn"]}, RetentionInDays=365), False, id="template-key"),
    C("cloudwatch-log-group-kms", STACK, cfn_group(RetentionInDays=365), True, id="template-service-key"),
    C("cloudwatch-log-group-retention", LG, group(), False, id="year"),
    C("cloudwatch-log-group-retention", LG, group(retentionInDays=365.0), False, id="recorded-as-float"),
    C("cloudwatch-log-group-retention", LG, group(retentionInDays=None, logGroupClass="DELIVERY"), False, id="delivery-class"),
    C("cloudwatch-log-group-retention", LG, group(retentionInDays=0), True, id="never-expire"),
    C("cloudwatch-log-group-retention", LG, {"name": "/x", "kmsKeyId": KEY_ARN}, True, id="unset"),
    C("cloudwatch-log-group-retention", LG, group(retentionInDays=100), True, id="not-accepted-by-aws"),
    C("cloudwatch-log-group-retention", SS, cfn_group(KmsKeyId="k", RetentionInDays={"Ref": "Days"}), False, id="template-parameter"),
    C("cloudwatch-log-group-retention", SS, cfn_group(KmsKeyId="k", RetentionInDays="731"), False, id="template-string"),
    C("cloudwatch-log-group-retention", SS, cfn_group(KmsKeyId="k"), True, id="template-unset"),
]
RESOURCE_CASES.extend(c for c in RES if str(c) not in {str(x) for x in RESOURCE_CASES})


@pytest.mark.parametrize("case", RES, ids=str)
def test_log_group_rule(case):
    assert bool(run_case(case)) == case.fails, run_case(case)


def test_each_template_log_group_is_reported_by_logical_id():
    body = template({
        "A": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}},
        "B": {"Type": "AWS::Logs::LogGroup", "Condition": "Maybe", "Properties": {"RetentionInDays": 30, "KmsKeyId": "arn:k"}},
        "C": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
    })
    msgs = run_case(Case("cloudwatch-log-group-kms", SS, body, True))
    assert [m.split(":", 1)[0] for m in msgs] == ["template A", "template C"]
    assert run_case(Case("cloudwatch-log-group-retention", SS, body, True)) == ["template C: RetentionInDays is not set: log events never expire"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_planned_log_group_has_a_retention_and_only_waived_ones_lack_a_key(stack):
    """The real stacks: retention everywhere; a service-key group is reported unless policy_exemptions waives it."""
    from blueprint.config import load_file
    from tests.conftest import REPO, plan_of

    _, doc = plan_of(stack)
    groups = [r for r in doc["resources"] if r["type"] == LG]
    assert len(groups) >= 4
    findings = engine.evaluate(doc["resources"], load_file(REPO / f"Pulumi.{stack}.yaml"))
    mine = [f for f in findings if f["rule"].startswith("cloudwatch-log-group-")]
    assert not [f for f in mine if f["rule"] == "cloudwatch-log-group-retention"]
    assert all(f.get("waived") and f["rule"] == "cloudwatch-log-group-kms" for f in mine), mine
    # without the waivers the same findings block
    raw = engine.evaluate_resources(engine.to_resources(doc["resources"]), Settings())
    assert {f["urn"] for f in raw if f["rule"] == "cloudwatch-log-group-kms" and f["severity"] == "mandatory"} == {f["urn"] for f in mine}
