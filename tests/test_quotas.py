"""AWS quotas are findings: counted where resources land, with overrides from config."""

from __future__ import annotations

import copy

import pytest

from blueprint.access.check import assemble
from blueprint.config import ConfigError, parse
from blueprint.offline import quotas
from tests.conftest import plan_of, stack_raw


@pytest.fixture(scope="module")
def prod():
    code, doc = plan_of("prod")
    assert code == 0
    return doc


def test_catalogue_is_complete_and_unique():
    cat = quotas.catalogue()
    assert len(cat) >= 15
    for q in cat.values():
        assert {"id", "kind", "scope", "default", "name"} <= set(q) and q["kind"] in ("aws", "design") and q["default"] > 0


def test_counts_land_where_stack_sets_put_resources(prod):
    model = assemble(prod).model
    use = quotas.usage(prod, model)
    # A team account holds the baseline's roles and, with a pipeline, the deploy roles.
    payments = use["iam-roles-per-account"]["payments-prod"]
    assert payments == len([r for r in model.roles.values() if r.account == model.by_key["payments-prod"].id and r.source != "synthetic"])
    assert payments >= 8
    assert use["organizations-accounts"]["organization"] == len([r for r in prod["resources"] if r["type"] == "aws:organizations/account:Account"]) + 1
    # The baseline's alert rules count on each account's default bus, in every region.
    assert use["eventbridge-rules-per-bus"]["payments-prod/eu-west-1/default"] >= 10
    # The baseline StackSet targets the root: every member account, once per region.
    regions = len(next(r for r in prod["resources"] if r["type"] == "aws:cloudformation/stackSet:StackSet"
                       and r["inputs"]["name"] == "secure-org-account-baseline")["inputs"]["operationPreferences"]["regionOrders"])
    assert use["cloudformation-stack-instances-per-stack-set"]["secure-org-account-baseline"] == (len(model.accounts) - 1) * regions


def test_over_a_quota_is_mandatory_and_says_how_to_fix(prod):
    findings, table = quotas.check(prod, assemble(prod).model, {})  # no override: AWS's default of 10 accounts
    (acct,) = [f for f in findings if f["rule"] == "quota-organizations-accounts"]
    assert acct["severity"] == "mandatory" and "organization.quotas.organizations-accounts" in acct["message"]
    assert table[0]["quota"] == "organizations-accounts" and table[0]["fill"] > 1
    findings, _ = quotas.check(prod, assemble(prod).model, {"organizations-accounts": 1000})
    assert not [f for f in findings if f["rule"] == "quota-organizations-accounts"]


def test_near_a_hard_limit_is_advisory_and_never_suggests_raising_it(prod):
    findings, _ = quotas.check(prod, assemble(prod).model, {"organizations-accounts": 1000, "iam-managed-policy-chars": 5500})
    near = [f for f in findings if f["rule"] == "quota-iam-managed-policy-chars"]
    assert near and all(f["severity"] == "advisory" and "hard limit" in f["message"] for f in near)


def test_design_limits_are_advisory_even_when_exceeded(prod):
    doc = copy.deepcopy(prod)
    for r in doc["resources"]:
        if r["type"] == "aws:cloudformation/stackSet:StackSet":
            r["inputs"]["managedExecution"] = {"active": False}  # operations would queue
    findings, _ = quotas.check(doc, assemble(doc).model, {"organizations-accounts": 1000, "stack-set-instances-per-operation": 10})
    design = [f for f in findings if f["rule"] == "quota-stack-set-instances-per-operation"]
    assert design and all(f["severity"] == "advisory" for f in design)
    # The stacks as planned use managed execution: nothing queues, nothing to report.
    findings, _ = quotas.check(prod, assemble(prod).model, {"organizations-accounts": 1000, "stack-set-instances-per-operation": 10})
    assert not [f for f in findings if f["rule"] == "quota-stack-set-instances-per-operation"]


def test_eventbridge_rules_over_the_bus_quota(prod):
    doc = copy.deepcopy(prod)
    rules = [r for r in doc["resources"] if r["type"] == "aws:cloudwatch/eventRule:EventRule" and "tooling" in (r.get("provider") or "")]
    base = rules[0]
    for i in range(300):
        extra = copy.deepcopy(base)
        extra["urn"] += f"-x{i}"
        extra["inputs"]["name"] = f"extra-rule-{i}"
        doc["resources"].append(extra)
    findings, _ = quotas.check(doc, assemble(doc).model, {"organizations-accounts": 1000})
    (f,) = [f for f in findings if f["rule"] == "quota-eventbridge-rules-per-bus"]
    assert f["severity"] == "mandatory" and f["message"].startswith("tooling/eu-west-1/default: ")


def test_unknown_quota_override_is_a_config_error():
    raw = stack_raw("prod")
    raw["organization"]["quotas"] = {"organization-accounts": 1000, "iam-roles-per-account": 0}
    with pytest.raises(ConfigError) as err:
        parse(raw, "Pulumi.prod.yaml")
    text = "\n".join(err.value.lines())
    assert "organization.quotas.iam-roles-per-account" in text
    raw["organization"]["quotas"] = {"organization-accounts": 1000}
    with pytest.raises(ConfigError) as err:
        parse(raw, "Pulumi.prod.yaml")
    assert "no quota 'organization-accounts' in policies/quotas.yaml (did you mean 'organizations-accounts'?)" in "\n".join(err.value.lines())
