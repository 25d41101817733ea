"""The CrossGuard pack: assembles without starting a server, and its adapters == the engine path."""

from __future__ import annotations

import copy
import json
import runpy
import sys
from datetime import date
from pathlib import Path

import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from blueprint.config import PolicyExemption
from blueprint.crossguard import engine, pack, rules
from blueprint.crossguard.rules import Context, Settings

from .fixtures import GOOD_TRAIL, RESOURCE_CASES, STACK_CASES, Case, StackCase

REPO = Path(__file__).resolve().parents[2]
PACK_DIR = REPO / "policies" / "pack"
TODAY = date(2026, 11, 22)


def opts(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def provider(account: str | None) -> PolicyProviderResource | None:
    if account is None:
        return None
    props = {"region": "eu-west-1", "allowedAccountIds": json.dumps([account])}
    return PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy(props), "urn:pulumi:t::p::pulumi:providers:aws::acct", "acct")


def policies_for(settings: Settings) -> dict[str, object]:
    return {p.name: p for p in pack.build_policies(settings, today=lambda: TODAY)}


def validate_resource(policy, type_: str, props: dict, name="res", protect=False, account=None) -> list[str]:
    got: list[str] = []
    args = ResourceValidationArgs(type_, unknown_checking_proxy(copy.deepcopy(props)),
                                  f"urn:pulumi:test::secure-org::{type_}::{name}", name, opts(protect), provider(account))
    policy.validate(args, lambda msg, urn=None: got.append(msg))
    return got


def stack_args(resources) -> StackValidationArgs:
    """PolicyResources as AnalyzeStack builds them: outputs (bridged providers include "id"), proxied."""
    def outputs(r):
        return {**copy.deepcopy(dict(r.props)), **({"id": r.id} if r.id else {})}

    prs = {r.urn: PolicyResource(r.type, unknown_checking_proxy(outputs(r)), r.urn, r.name, opts(r.protect), provider(r.account_id), None, [], {})
           for r in resources}
    for r in resources:
        prs[r.urn].property_dependencies = {k: [prs[u] for u in v if u in prs] for k, v in r.property_dependencies.items()}
    return StackValidationArgs(list(prs.values()))


def validate_stack(policy, resources) -> list[tuple[str, str | None]]:
    got: list[tuple[str, str | None]] = []
    policy.validate(stack_args(resources), lambda msg, urn=None: got.append((msg, urn)))
    return got


# ---------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------

def test_build_policies_assembles_every_rule_without_a_server() -> None:
    policies = pack.build_policies(Settings())
    names = [p.name for p in policies]
    assert len(policies) >= 25 and len(names) == len(set(names))
    assert set(names) == {r.name for r in rules.RULES} | set(rules.META_RULES)
    for rule in rules.RULES:
        p = next(p for p in policies if p.name == rule.name)
        assert isinstance(p, ResourceValidationPolicy if rule.kind == "resource" else StackValidationPolicy)
        assert p.enforcement_level == (EnforcementLevel.MANDATORY if rule.level == "mandatory" else EnforcementLevel.ADVISORY)
        assert p.description == rule.description


def test_pack_main_only_assembles_the_pack(monkeypatch) -> None:
    import pulumi_policy

    recorded: dict = {}

    class Recorder:
        def __init__(self, name, policies, **kwargs):
            recorded.update(name=name, policies=policies, kwargs=kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", Recorder)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != REPO])
    monkeypatch.delitem(sys.modules, "blueprint.crossguard.pack", raising=False)
    runpy.run_path(str(PACK_DIR / "__main__.py"), run_name="__main__")
    assert recorded["name"] == "secure-org"
    policies = recorded["policies"]
    names = [p.name for p in policies]
    assert len(policies) >= 25 and len(set(names)) == len(names)
    assert all(p.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY) for p in policies)
    assert str(REPO) in sys.path, "__main__ puts the repository root on sys.path so blueprint imports"


def test_pack_files() -> None:
    spec = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert spec["runtime"]["name"] == "python" and spec["description"]
    import importlib.metadata as md

    reqs = {line.split("==")[0]: line.split("==")[1].split()[0]
            for line in (PACK_DIR / "requirements.txt").read_text().splitlines() if "==" in line and not line.startswith("#")}
    assert reqs["pulumi-policy"] == md.version("pulumi-policy")
    assert {"pulumi", "pydantic", "pyyaml"} <= set(reqs)
    readme = (PACK_DIR / "README.md").read_text()
    for rule in rules.RULES:
        assert f"`{rule.name}`" in readme, f"README lists {rule.name}"


# ---------------------------------------------------------------------------
# Adapter path == engine path
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", RESOURCE_CASES, ids=str)
def test_resource_adapter_matches_engine(case: Case) -> None:
    settings = case.ctx.get("settings", Settings())
    policy = policies_for(settings)[case.rule]
    via_pack = validate_resource(policy, case.type, case.props, protect=case.ctx.get("protect", False), account=case.ctx.get("account_id"))
    ctx = Context(case.type, "res", f"urn:pulumi:test::secure-org::{case.type}::res", case.ctx.get("protect", False),
                  case.ctx.get("account_id"), settings)
    assert via_pack == engine.check_resource(rules.by_name()[case.rule], case.props, ctx)
    assert bool(via_pack) == case.fails


@pytest.mark.parametrize("case", STACK_CASES, ids=str)
def test_stack_adapter_matches_engine(case: StackCase) -> None:
    policy = policies_for(case.settings)[case.rule]
    via_pack = validate_stack(policy, case.resources)
    via_engine = [(m, r.urn if r else None) for r, m in engine.check_stack(rules.by_name()[case.rule], case.resources, case.settings)]
    assert via_pack == via_engine
    assert bool(via_pack) == case.fails


def test_adapter_ignores_other_types() -> None:
    policy = policies_for(Settings())["sns-topic-kms"]
    assert validate_resource(policy, "aws:sqs/queue:Queue", {"name": "q"}) == []


def test_unknown_values_during_preview_are_not_violations() -> None:
    p = policies_for(Settings())
    trust = {"name": "r", "assumeRolePolicy": UNKNOWN_STRING_VALUE}
    assert validate_resource(p["iam-trust-no-public-principal"], "aws:iam/role:Role", trust) == []
    assert validate_resource(p["sns-topic-kms"], "aws:sns/topic:Topic", {"name": "t", "kmsMasterKeyId": UNKNOWN_STRING_VALUE}) == []
    key = {"enableKeyRotation": UNKNOWN_STRING_VALUE, "policy": UNKNOWN_STRING_VALUE}
    assert validate_resource(p["kms-key-rotation"], "aws:kms/key:Key", key) == []
    # but a known bad value next to unknown ones is still reported
    trail = {**GOOD_TRAIL, "kmsKeyId": UNKNOWN_STRING_VALUE, "enableLogFileValidation": False}
    assert validate_resource(p["cloudtrail-log-file-validation"], "aws:cloudtrail/trail:Trail", trail)
    assert validate_resource(p["cloudtrail-kms"], "aws:cloudtrail/trail:Trail", trail) == []


def test_plain_unwraps_engine_proxies() -> None:
    proxied = unknown_checking_proxy({"a": [1, {"b": UNKNOWN_STRING_VALUE}], "c": UNKNOWN_STRING_VALUE, "d": "x"})
    from blueprint.crossguard.documents import UNKNOWN

    assert pack.plain(proxied) == {"a": [1, {"b": UNKNOWN}], "c": UNKNOWN, "d": "x"}


def test_provider_account_reaches_the_rules() -> None:
    """The same-account root trust passes only when the provider's account is that account."""
    policy = policies_for(Settings())["iam-trust-cross-account-pinned"]
    trust = {"name": "r", "assumeRolePolicy": json.dumps({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}]})}
    assert validate_resource(policy, "aws:iam/role:Role", trust, account="111122223333") == []
    assert validate_resource(policy, "aws:iam/role:Role", trust, account="999999999999")


# ---------------------------------------------------------------------------
# Exemptions in the pack
# ---------------------------------------------------------------------------

def _exemption(rule, resource="org-trail", expires=date(2027, 1, 1)):
    return PolicyExemption(rule=rule, resource=resource, reason="delivery to CloudWatch comes with the SIEM rollout", expires=expires)


BAD_TRAIL = {**GOOD_TRAIL, "enableLogFileValidation": False}


def test_pack_waiver_suppresses_the_violation_and_lists_it() -> None:
    from .fixtures import R

    settings = Settings(exemptions=(_exemption("cloudtrail-log-file-validation"),))
    p = policies_for(settings)
    assert validate_resource(p["cloudtrail-log-file-validation"], "aws:cloudtrail/trail:Trail", BAD_TRAIL, name="org-trail") == []
    assert validate_resource(p["cloudtrail-log-file-validation"], "aws:cloudtrail/trail:Trail", BAD_TRAIL, name="other-trail")
    trail = R("aws:cloudtrail/trail:Trail", "org-trail", BAD_TRAIL)
    (waived,) = validate_stack(p["policy-exemption-waived"], [trail])
    assert "cloudtrail-log-file-validation" in waived[0] and waived[1] == trail.urn
    assert validate_stack(p["policy-exemption-unused"], [trail]) == []
    assert validate_stack(p["policy-exemption-unused"], [])  # nothing to waive: unused


def test_pack_expired_and_unknown_exemptions_are_mandatory_violations() -> None:
    settings = Settings(exemptions=(_exemption("cloudtrail-log-file-validation", expires=date(2026, 1, 1)),
                                    _exemption("no-such-rule")))
    p = policies_for(settings)
    assert p["policy-exemption-expired"].enforcement_level == EnforcementLevel.MANDATORY
    assert validate_resource(p["cloudtrail-log-file-validation"], "aws:cloudtrail/trail:Trail", BAD_TRAIL, name="org-trail")
    (expired,) = validate_stack(p["policy-exemption-expired"], [])
    assert "policy_exemptions[0]" in expired[0]
    (unknown,) = validate_stack(p["policy-exemption-unknown-rule"], [])
    assert "no-such-rule" in unknown[0]


# ---------------------------------------------------------------------------
# Where the pack's settings come from under `pulumi preview`
# ---------------------------------------------------------------------------

def _engine_env(stack: str) -> dict[str, str]:
    """The environment the Pulumi CLI gives a policy pack: PULUMI_STACK and PULUMI_CONFIG."""
    from blueprint.offline.runtime import stack_file_config

    flat, _ = stack_file_config(REPO / f"Pulumi.{stack}.yaml")
    return {"PULUMI_STACK": stack, "PULUMI_PROJECT": "secure-org", "PULUMI_CONFIG": json.dumps(flat)}


def test_settings_from_engine_config() -> None:
    settings, problem, source = pack.load_settings(_engine_env("prod"), repo=Path("/nonexistent"))
    assert problem is None and "engine" in source
    assert {"BreakGlassAdmin", "PaymentsIncident"} <= settings.break_glass_roles
    assert settings.policy_limits["SERVICE_CONTROL_POLICY"] == (10240, 10)


def test_settings_from_stack_file_when_the_engine_sends_no_config(tmp_path) -> None:
    from tests.conftest import stack_raw, write_stack

    raw = stack_raw("dev")
    raw["organization"]["policy_limits"] = {"service_control_policy": {"max_chars": 5120, "max_per_target": 5}}
    raw["policy_exemptions"] = [{"rule": "sns-topic-kms", "resource": "x", "reason": "a documented reason here", "expires": "2027-01-01"}]
    write_stack(tmp_path / "Pulumi.dev.yaml", raw)
    settings, problem, _ = pack.load_settings({"PULUMI_STACK": "acme/secure-org/dev"}, repo=tmp_path)
    assert problem is None
    assert settings.policy_limits["SERVICE_CONTROL_POLICY"] == (5120, 5)
    assert [e.rule for e in settings.exemptions] == ["sns-topic-kms"]
    explicit, problem, _ = pack.load_settings({"SECURE_ORG_STACK_FILE": str(tmp_path / "Pulumi.dev.yaml")}, repo=Path("/nonexistent"))
    assert problem is None and explicit == settings


def test_missing_or_invalid_config_fails_closed(tmp_path) -> None:
    settings, problem, _ = pack.load_settings({}, repo=tmp_path)
    assert settings == Settings() and "no secure-org stack config" in problem
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  secure-org:organization: {name: X}\n")
    _, problem, _ = pack.load_settings({"PULUMI_STACK": "bad"}, repo=tmp_path)
    assert problem and "invalid" in problem
    source = pack.SettingsSource(lambda: (Settings(), "no config", ""))
    policy = next(p for p in pack.build_policies(source) if p.name == "crossguard-stack-config")
    assert policy.enforcement_level == EnforcementLevel.MANDATORY
    assert validate_stack(policy, []) == [("no config", None)]
