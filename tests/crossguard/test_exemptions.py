"""Exemptions from config: a waiver applies, an expired one is a finding, an unknown rule is a finding."""

from __future__ import annotations

from datetime import date

import pytest

from blueprint.config import PolicyExemption, load_file, parse
from blueprint.crossguard import engine, exemptions as ex
from blueprint.crossguard.rules import Settings

from .fixtures import GOOD_TRAIL, R

TODAY = date(2026, 11, 22)
TRAIL = "aws:cloudtrail/trail:Trail"


def exemption(rule="cloudtrail-cloudwatch-logs", resource="org-*", expires=date(2027, 1, 31),
              reason="CloudWatch delivery is added with the SIEM project (SEC-123)") -> PolicyExemption:
    return PolicyExemption(rule=rule, resource=resource, reason=reason, expires=expires)


def no_cw_trail(name="org-trail"):
    return R(TRAIL, name, {k: v for k, v in GOOD_TRAIL.items() if k not in ("cloudWatchLogsGroupArn", "enableLogFileValidation")})


def findings(resources, exemptions, today=TODAY):
    return engine.evaluate_resources(resources, Settings(exemptions=tuple(exemptions)), today)


def test_without_exemption_the_findings_stand() -> None:
    out = findings([no_cw_trail()], [])
    assert {(f["rule"], f["severity"]) for f in out} == {
        ("cloudtrail-cloudwatch-logs", "advisory"), ("cloudtrail-log-file-validation", "mandatory")}
    assert all(set(f) == {"rule", "severity", "urn", "message"} for f in out)


def test_waiver_applies_by_name_pattern_and_keeps_the_finding_as_waived() -> None:
    e = exemption(rule="cloudtrail-log-file-validation", resource="org-*")
    out = findings([no_cw_trail()], [e])
    (waived,) = [f for f in out if f.get("waived")]
    assert waived["rule"] == "cloudtrail-log-file-validation"
    assert waived["severity"] == "advisory" and waived["waived_severity"] == "mandatory"
    assert waived["reason"] == e.reason and waived["expires"] == "2027-01-31"
    assert e.reason in waived["message"]
    assert engine.blocking(out) == []
    # the other rule on the same resource is not waived
    assert any(f["rule"] == "cloudtrail-cloudwatch-logs" and not f.get("waived") for f in out)


def test_waiver_matches_urn_too_and_only_its_rule_and_resources() -> None:
    trail = no_cw_trail("audit-trail")
    by_urn = exemption(rule="cloudtrail-log-file-validation", resource="urn:pulumi:*::audit-trail")
    assert any(f.get("waived") for f in findings([trail], [by_urn]))
    other_resource = exemption(rule="cloudtrail-log-file-validation", resource="org-*")
    out = findings([trail], [other_resource])
    assert not any(f.get("waived") for f in out)
    assert any(f["rule"] == "policy-exemption-unused" and f["severity"] == "advisory" for f in out)


def test_expiry_is_inclusive_then_the_exemption_is_a_mandatory_finding() -> None:
    e = exemption(rule="cloudtrail-log-file-validation", expires=TODAY)
    assert any(f.get("waived") for f in findings([no_cw_trail()], [e], today=TODAY))
    out = findings([no_cw_trail()], [e], today=date(2026, 11, 23))
    assert not any(f.get("waived") for f in out)
    (expired,) = [f for f in out if f["rule"] == "policy-exemption-expired"]
    assert expired["severity"] == "mandatory" and "2026-11-22" in expired["message"] and "policy_exemptions[0]" in expired["message"]
    assert any(f["rule"] == "cloudtrail-log-file-validation" and f["severity"] == "mandatory" for f in out)


@pytest.mark.parametrize("rule, why", [("s3-bucket-sse", "not a rule"), ("policy-exemption-expired", "cannot be waived")])
def test_unknown_or_meta_rule_is_a_mandatory_finding(rule, why) -> None:
    out = findings([no_cw_trail()], [exemption(rule=rule)])
    (f,) = [f for f in out if f["rule"] == "policy-exemption-unknown-rule"]
    assert f["severity"] == "mandatory" and why in f["message"] and rule in f["message"]


def test_stack_rule_findings_are_waivable_by_bucket_name() -> None:
    from .fixtures import KMS_SSE, secure_bucket

    resources = secure_bucket("scratch", "acme-scratch", sse=KMS_SSE)  # no bucket policy
    e = exemption(rule="s3-bucket-has-tls-policy", resource="scratch-bucket")
    out = findings(resources, [e])
    assert [f["rule"] for f in out if f.get("waived")] == ["s3-bucket-has-tls-policy"]
    assert engine.blocking(out) == []


def test_matches_helper() -> None:
    e = exemption(rule="kms-key-rotation", resource="org-baseline-*-key")
    assert ex.matches(e, "kms-key-rotation", "org-baseline-alerts-key", "")
    assert not ex.matches(e, "kms-key-rotation", "org-baseline-alerts-key-alias", "")
    assert not ex.matches(e, "sns-topic-kms", "org-baseline-alerts-key", "")
    assert ex.waiver_for([e], "kms-key-rotation", "org-baseline-alerts-key", "", date(2028, 1, 1)) is None


def test_exemptions_come_from_the_stack_config(tmp_path) -> None:
    """policy_exemptions in Pulumi.<stack>.yaml reach evaluate() through the parsed config."""
    from tests.conftest import stack_raw, write_stack

    raw = stack_raw("prod")
    raw["policy_exemptions"] = [
        {"rule": "kms-key-rotation", "resource": "org-baseline-alerts-key", "reason": "rotation handled by the HSM-backed key store", "expires": "2027-03-01"},
        {"rule": "no-such-rule", "resource": "*", "reason": "typo'd rule names must be reported", "expires": "2027-03-01"},
        {"rule": "sns-topic-kms", "resource": "*", "reason": "an old waiver nobody renewed in time", "expires": "2026-01-01"},
    ]
    cfg = load_file(write_stack(tmp_path / "Pulumi.prod.yaml", raw))
    key = R("aws:kms/key:Key", "org-baseline-alerts-key", {"enableKeyRotation": False})
    out = engine.evaluate([{"type": key.type, "name": key.name, "urn": key.urn, "inputs": dict(key.props), "custom": True,
                            "protect": True, "provider": "", "property_dependencies": {}}], cfg, today=TODAY)
    by_rule = {f["rule"]: f for f in out}
    assert by_rule["kms-key-rotation"]["waived"] is True
    assert by_rule["policy-exemption-unknown-rule"]["severity"] == "mandatory"
    assert by_rule["policy-exemption-expired"]["severity"] == "mandatory"
    assert set(by_rule) == {"kms-key-rotation", "policy-exemption-unknown-rule", "policy-exemption-expired"}


def test_config_model_rejects_a_waiver_without_reason_or_date() -> None:
    from blueprint.config import ConfigError
    from tests.conftest import stack_raw

    raw = stack_raw("dev")
    raw["policy_exemptions"] = [{"rule": "kms-key-rotation", "resource": "x", "reason": "because"}]
    with pytest.raises(ConfigError) as err:
        parse(raw, "Pulumi.dev.yaml")
    text = str(err.value)
    assert "policy_exemptions[0].reason" in text and "policy_exemptions[0].expires" in text
