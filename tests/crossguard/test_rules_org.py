"""Failing and passing fixtures for org-policy-minified (blueprint/crossguard/rules_org.py), also
added to fixtures.RESOURCE_CASES (conftest.py imports this module first) for the catalogue checks."""

from __future__ import annotations

import json

import pytest

from blueprint.crossguard.rules_org import wasted_whitespace

from .fixtures import RESOURCE_CASES, Case, doc, stmt
from .test_rules import run_case

ORG_POLICY = "aws:organizations/policy:Policy"
SCP = {"Version": "2012-10-17", "Statement": [
    {"Sid": "DenyLeaveOrg", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"},
    {"Sid": "DenyRegions", "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}},
]}
MINIFIED = json.dumps(SCP, separators=(",", ":"))


def policy(content: str, kind: str = "SERVICE_CONTROL_POLICY") -> dict:
    return {"name": "deny-leave", "type": kind, "content": content}


C = Case
RES = [
    C("org-policy-minified", ORG_POLICY, policy(MINIFIED), False, id="minified"),
    C("org-policy-minified", ORG_POLICY, policy(json.dumps({"tags": {"team": {"tag_key": {"@@assign": "team name"}}}}, separators=(",", ":")),
                                                "TAG_POLICY"), False, id="spaces-inside-strings"),
    C("org-policy-minified", ORG_POLICY, policy(json.dumps(SCP)), True, id="default-separators"),
    C("org-policy-minified", ORG_POLICY, policy(json.dumps(SCP, indent=2)), True, id="indented"),
    C("org-policy-minified", ORG_POLICY, policy(MINIFIED + "\n"), True, id="trailing-newline"),
    C("org-policy-minified", ORG_POLICY, policy(doc(stmt("Deny", "s3:*", "*"))), True, id="fixture-doc"),
    C("org-policy-minified", ORG_POLICY, policy('{"Version":"2012-10-17",'), True, id="not-json"),
]
RESOURCE_CASES.extend(c for c in RES if str(c) not in {str(x) for x in RESOURCE_CASES})


@pytest.mark.parametrize("case", RES, ids=str)
def test_org_policy_rule(case):
    assert bool(run_case(case)) == case.fails, run_case(case)


@pytest.mark.parametrize("content", [json.dumps(SCP), json.dumps(SCP, indent=2), json.dumps(SCP, indent="\t"), " " + MINIFIED + " \r\n"])
def test_waste_is_exactly_what_minifying_saves(content):
    assert wasted_whitespace(content) == len(content) - len(MINIFIED)
    (msg,) = run_case(Case("org-policy-minified", ORG_POLICY, policy(content), True))
    assert f"{len(content) - len(MINIFIED)} characters of whitespace" in msg and f"{len(MINIFIED)} needed" in msg


def test_escaped_quotes_and_spaces_in_strings_are_not_waste():
    content = json.dumps({"Sid": "a \"quoted\" \\ value", "Note": " x "}, separators=(",", ":"))
    assert wasted_whitespace(content) == 0
    assert wasted_whitespace(content.replace(",", ", ")) == 1


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_planned_policies_are_minified(stack):
    from tests.conftest import plan_of

    _, plan = plan_of(stack)
    policies = [r for r in plan["resources"] if r["type"] == ORG_POLICY]
    assert len(policies) >= 10
    for r in policies:
        assert run_case(Case("org-policy-minified", ORG_POLICY, r["inputs"], False)) == [], r["name"]
