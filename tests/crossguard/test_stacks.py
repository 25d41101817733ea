"""The real stacks: every rule over both offline plans, through the same engine the plan uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from blueprint.config import load_file
from blueprint.crossguard import engine, rules

REPO = Path(__file__).resolve().parents[2]
_PLANS: dict[str, dict] = {}

# Real violations found in the stacks and reported to the lead with the exact fix. The rule is
# right; the resource is wrong. Each entry must keep firing: once the resource is fixed this
# test fails until the entry is removed, so nothing stays waived silently.
# Mandatory findings known to be open (rule, resource name). Empty: a new finding fails.
KNOWN_OPEN: set[tuple[str, str]] = set()


def plan(stack: str) -> dict:
    from blueprint.offline.plan import plan_stack

    if stack not in _PLANS:
        code, doc = plan_stack(stack)
        assert "config_errors" not in doc, doc.get("config_errors")
        _PLANS[stack] = doc
    return _PLANS[stack]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_mandatory_findings_on_the_real_stacks(stack: str) -> None:
    doc = plan(stack)
    findings = engine.evaluate(doc["resources"], load_file(REPO / f"Pulumi.{stack}.yaml"))
    mandatory = [f for f in findings if f["severity"] == "mandatory"]
    new = [f for f in mandatory if (f["rule"], f["urn"].rsplit("::", 1)[-1]) not in KNOWN_OPEN]
    assert new == [], "\n".join(f"{f['rule']}: {f['urn'].rsplit('::', 1)[-1]}: {f['message']}" for f in new)
    # still open = still found, whether blocking or waived in the stack file meanwhile
    present = {(f["rule"], f["urn"].rsplit("::", 1)[-1]) for f in findings
               if f["severity"] == "mandatory" or f.get("waived_severity") == "mandatory"}
    has_pipelines = any(r["type"] == "aws:codepipeline/pipeline:Pipeline" for r in doc["resources"])
    fixed = {k for k in KNOWN_OPEN if k not in present and has_pipelines}
    assert not fixed, f"fixed, remove from KNOWN_OPEN: {sorted(fixed)}"
    for f in findings:
        assert set(f) >= {"rule", "severity", "urn", "message"} and f["severity"] in ("mandatory", "advisory")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rules_actually_see_the_stack(stack: str) -> None:
    """Guard against a vacuous pass: the rules apply to many of the recorded resources."""
    doc = plan(stack)
    resources = engine.to_resources(doc["resources"])
    covered = {r.type for r in resources} & {t for rule in rules.RULES for t in rule.types}
    assert {"aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:iam/role:Role", "aws:cloudtrail/trail:Trail",
            "aws:organizations/account:Account", "aws:organizations/policy:Policy", "aws:cloudformation/stackSet:StackSet"} <= covered
    # break any one guarantee and the engine notices: unprotect an account, disable rotation on a key
    import copy

    records = copy.deepcopy(doc["resources"])
    account = next(r for r in records if r["type"] == "aws:organizations/account:Account")
    account["protect"] = False
    key = next(r for r in records if r["type"] == "aws:kms/key:Key")
    key["inputs"]["enableKeyRotation"] = False
    got = {(f["rule"], f["urn"]) for f in engine.evaluate(records, load_file(REPO / f"Pulumi.{stack}.yaml"))
           if f["severity"] == "mandatory"}
    assert ("org-resources-protected", account["urn"]) in got
    assert ("kms-key-rotation", key["urn"]) in got


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_pack_adapters_agree_with_the_engine_on_the_real_stack(stack: str) -> None:
    """Run every pack policy over the recorded plan (resource and stack policies) and compare."""
    import copy

    from pulumi_policy import (PolicyCustomTimeouts, PolicyProviderResource, PolicyResource, PolicyResourceOptions,
                               ResourceValidationArgs, StackValidationArgs)
    from pulumi_policy.proxy import unknown_checking_proxy

    from blueprint.crossguard import pack

    doc = plan(stack)
    cfg = load_file(REPO / f"Pulumi.{stack}.yaml")
    settings = engine.settings_from_config(cfg)
    resources = engine.to_resources(doc["resources"])
    policies = pack.build_policies(settings)
    opts = lambda protect: PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)  # noqa: E731
    def provider(r):  # what the engine sends: the resource's provider and its (JSON-encoded) inputs
        if r.account_id is None:
            return None
        return PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy({"allowedAccountIds": f'["{r.account_id}"]'}), "urn:p", "p")

    via_pack: list[tuple[str, str]] = []
    for policy in policies:
        if isinstance(policy, pack.ResourceValidationPolicy):
            for r in resources:
                args = ResourceValidationArgs(r.type, unknown_checking_proxy(copy.deepcopy(dict(r.props))), r.urn, r.name, opts(r.protect), provider(r))
                policy.validate(args, lambda msg, urn=None, name=policy.name, u=r.urn: via_pack.append((name, u)))
        elif policy.name in {x.name for x in rules.RULES}:
            prs = [PolicyResource(r.type, unknown_checking_proxy(copy.deepcopy(dict(r.props))), r.urn, r.name, opts(r.protect), provider(r), None, [], {})
                   for r in resources]
            policy.validate(StackValidationArgs(prs), lambda msg, urn=None, name=policy.name: via_pack.append((name, urn or "")))
    # A waived finding stays in the plan (marked) but is not reported under its rule by the pack.
    via_engine = [(f["rule"], f["urn"]) for f in engine.evaluate_resources(resources, settings)
                  if f["rule"] in rules.by_name() and not f.get("waived")]
    assert sorted(via_pack) == sorted(via_engine)
