"""Strict values: nothing is converted, dates are real dates, and every message says what is allowed in words."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from blueprint.config import DEFAULT_SERVICE_PRINCIPALS, ConfigError, StackConfig, parse
from blueprint.config_errors import PATTERN_WORDS
from blueprint.config_values import iso_date, service_principals
from blueprint.pipeline_config import ENV_NAME_RE
from tests.conftest import stack_raw


def errors(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse(raw, "Pulumi.prod.yaml")
    return exc.value.lines()


@pytest.mark.parametrize("path,value,message", [
    (("security_baseline", "password_min_length"), True, "expects a whole number such as 30, got the boolean true"),
    (("security_baseline", "password_min_length"), "16", "expects a whole number such as 30, got the text '16' (a number has no quotes and no leading zero)"),
    (("security_baseline", "password_min_length"), 16.0, "expects a whole number such as 30, got the number 16.0"),
    (("organization", "name"), 42, "expects text, got the number 42 (put it in quotes, e.g. '42')"),
    (("organization", "allowed_regions"), "eu-west-1", "expects a list such as [a, b], got the text 'eu-west-1'"),
    (("security_baseline", "log_archive"), "default", "expects a mapping of keys to values, got the text 'default'"),
])
def test_no_value_is_converted(path, value, message):
    raw = stack_raw("prod")
    raw[path[0]][path[1]] = value
    assert errors(raw) == [f"Pulumi.prod.yaml: {'.'.join(path)}: {message}"]


def test_a_literal_number_takes_no_boolean():
    raw = stack_raw("prod")
    raw["security_baseline"].setdefault("log_archive", {})["cloudwatch_retention_days"] = True
    assert errors(raw) == ["Pulumi.prod.yaml: security_baseline.log_archive.cloudwatch_retention_days: "
                           "expects a whole number such as 365, got the boolean true"]


def test_the_pipeline_models_are_strict_too():
    raw = stack_raw("prod")
    team = next(t for t in raw["teams"] if t.get("pipeline"))
    team["pipeline"]["deployment"] = {"test": {"strategy": {"type": "canary", "percentage": True, "interval_minutes": 5}}}
    assert any(line.endswith("percentage: expects a whole number such as 30, got the boolean true") for line in errors(raw))


@pytest.mark.parametrize("value,message", [
    ("2026-02-30", "2026-02-30 is not a date: February 2026 has 28 days"),
    ("2027-02-29", "2027-02-29 is not a date: February 2027 has 28 days"),
    ("2026-13-01", "2026-13-01 is not a date: there is no month 13"),
    ("next week", "'next week' is not a date: write it YYYY-MM-DD, e.g. 2026-12-31"),
    (20261231, "expects a date written YYYY-MM-DD, e.g. 2026-12-31, got the number 20261231"),
    (datetime(2026, 1, 1, 12), "2026-01-01T12:00:00 has a time: give the date only, YYYY-MM-DD, e.g. 2026-01-01"),
])
def test_dates_are_checked_with_a_reason(value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        iso_date(value)


def test_dates_come_as_text_or_dates():
    assert iso_date("2028-02-29") == iso_date(date(2028, 2, 29)) == date(2028, 2, 29)
    raw = stack_raw("prod")
    raw["policy_exemptions"] = [{"rule": "s3-bucket-sse-kms", "resource": "x", "reason": "a reason of some length", "expires": "2026-02-30"}]
    assert errors(raw) == ["Pulumi.prod.yaml: policy_exemptions[0].expires: 2026-02-30 is not a date: February 2026 has 28 days"]


def test_a_pipeline_exemption_date_is_text_too():
    raw = stack_raw("prod")
    i, team = next((i, t) for i, t in enumerate(raw["teams"]) if t.get("pipeline"))
    team["pipeline"]["deployment"] = {"prod": {"strategy": {"type": "all-at-once"},
                                               "all_at_once_exemption": {"reason": "legacy batch, no traffic to shift", "expires": "2099-01-01"}}}
    assert parse(raw, "x").teams[i].pipeline.deployment.prod.all_at_once_exemption.expires == date(2099, 1, 1)
    team["pipeline"]["deployment"]["prod"]["all_at_once_exemption"]["expires"] = "2099-02-29"
    assert errors(raw) == [f"Pulumi.prod.yaml: teams[{i}].pipeline.deployment.prod.all_at_once_exemption.expires: "
                           "2099-02-29 is not a date: February 2099 has 28 days"]


def _patterns(node) -> set[str]:
    if isinstance(node, dict):
        return {v for k, v in node.items() if k == "pattern" and isinstance(v, str)} | {p for v in node.values() for p in _patterns(v)}
    if isinstance(node, list):
        return {p for v in node for p in _patterns(v)}
    return set()


def test_every_pattern_the_models_use_is_said_in_words():
    used = _patterns(StackConfig.model_json_schema()) | {ENV_NAME_RE}
    assert used and not used - set(PATTERN_WORDS), "add these to config_errors.PATTERN_WORDS"
    assert all(not re.search(r"[\^$\\]", words) for words in PATTERN_WORDS.values())


def test_a_pattern_mismatch_says_what_is_allowed():
    raw = stack_raw("prod")
    raw["organizational_units"].append({"name": "-Bad/OU"})
    (line,) = errors(raw)
    assert line.endswith("'-Bad/OU' is not allowed here: expected 1 to 128 letters, digits, spaces, '_' or '-', "
                         "starting with a letter or digit, e.g. 'Workloads'")


def test_service_principals_are_known_names():
    assert set(DEFAULT_SERVICE_PRINCIPALS) <= service_principals()
    raw = stack_raw("prod")
    raw["organization"]["service_access_principals"] = ["sso.amazonaws.com", "guardduty.amazonaws.co", "sso.amazonaws.com"]
    assert errors(raw) == [
        "Pulumi.prod.yaml: organization.service_access_principals[1]: 'guardduty.amazonaws.co' is not a service principal "
        "AWS Organizations knows (did you mean 'guardduty.amazonaws.com'?) (policies/service-principals.yaml lists them)",
    ]
    raw["organization"]["service_access_principals"] = ["sso.amazonaws.com", "sso.amazonaws.com"]
    assert errors(raw) == ["Pulumi.prod.yaml: organization.service_access_principals: lists sso.amazonaws.com more than once"]
