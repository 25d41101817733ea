"""Every EventBridge rule in the offline plans fires on a real-shaped event, and only on it.

The rules are read from the plans, not from the product's constants: the Pulumi EventRules
(the security account's alert bus, the golden-AMI gate, pipeline starts) and the
AWS::Events::Rule resources inside the CloudFormation template bodies (StackSets and the
management account's stacks). Each is checked against its sample (tests/baseline/alert_cases.py,
tests/baseline/events/): it must fire on the sample and on each variant the alert is meant to
catch, and must not fire on a near miss. A rule in a plan with no sample fails, so a new rule
needs one. Matching is moto's, with its gaps closed in tests/baseline/event_matcher.py.
"""

from __future__ import annotations

import json

from tests.baseline.alert_cases import CASES, EVENTS, recorded_rules, sample_events, substitute
from tests.baseline.event_matcher import ALL_MANAGEMENT_EVENTS, ENABLED, STATES, check_pattern, fires, with_field
from tests.conftest import STACKS, plan_of

RULE_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")


def test_the_plans_hold_the_rules_this_suite_knows(plan):
    rules = recorded_rules(plan)
    assert rules, "no EventBridge rules found in the plan"
    missing = sorted({f"{r.key} ({r.where})" for r in rules if r.key not in CASES})
    assert not missing, f"rules with no sample event (add one to tests/baseline/events and CASES): {missing}"


def test_every_sample_covers_a_recorded_rule():
    keys = {r.key for stack in STACKS for r in recorded_rules(plan_of(stack)[1])}
    assert not set(CASES) - keys, f"samples for rules no plan has: {sorted(set(CASES) - keys)}"
    used = {c.sample for c in CASES.values()}
    assert {p.name for p in EVENTS.glob("*.json")} == used


def test_every_rule_is_one_eventbridge_accepts(plan):
    problems = []
    for r in recorded_rules(plan):
        try:
            check_pattern(r.pattern, r.raw)
        except ValueError as e:
            problems.append(f"{r.where}: {e}")
        if r.state not in STATES:
            problems.append(f"{r.where}: state {r.state!r}")
        if r.name is not None and not (1 <= len(r.name) <= 64 and set(r.name) <= RULE_NAME_CHARS):
            problems.append(f"{r.where}: rule name {r.name!r}")
    assert not problems, problems


def test_every_rule_fires_on_its_sample_and_each_variant(plan):
    failed = []
    for r in recorded_rules(plan):
        case = CASES[r.key]
        for event, subs in sample_events(plan, r):
            variants = [("sample", event)] + [(f"{p}={v!r}", with_field(event, p, v)) for p, values in case.also_fires.items() for v in values]
            for label, e in variants:
                if not fires(r.pattern, r.state, e):
                    failed.append(f"{r.where} [{r.state}] did not fire on {case.sample} {label} {subs or ''}")
    assert not failed, "\n".join(failed)


def test_no_rule_fires_on_a_near_miss(plan):
    fired = []
    for r in recorded_rules(plan):
        case = CASES[r.key]
        assert case.near_misses, f"{r.key}: a case needs at least one near miss"
        for event, subs in sample_events(plan, r):
            for path, value in case.near_misses:
                miss = with_field(event, path, substitute(value, subs))
                if fires(r.pattern, ALL_MANAGEMENT_EVENTS, miss):  # the pattern alone rejects it
                    fired.append(f"{r.where} fired on {case.sample} with {path}={substitute(value, subs)!r}")
    assert not fired, "\n".join(fired)


def test_a_misspelled_source_is_caught(plan):
    """The defect this suite exists for: `aws.cloudtrial` for `aws.cloudtrail` stops the alert."""
    (rule,) = [r for r in recorded_rules(plan) if r.where == "org-baseline-alerts-cloudtrail-tampering"]
    ((event, _),) = sample_events(plan, rule)
    assert fires(rule.pattern, rule.state, event)
    typo = json.loads(rule.raw.replace('"aws.cloudtrail"', '"aws.cloudtrial"'))
    assert typo["source"] == ["aws.cloudtrial"]
    assert not fires(typo, rule.state, event)


def _misspell(value: str) -> str:
    """Swap two adjacent letters near the end, as a typing slip does."""
    i = max(j for j in range(len(value) - 1) if value[j] != value[j + 1] and value[j].isalpha() and value[j + 1].isalpha())
    return value[:i] + value[i + 1] + value[i] + value[i + 2:]


def test_every_source_and_detail_type_is_load_bearing(plan):
    """A slip in any rule's source or detail-type stops it firing (no constraint is decoration)."""
    survived = []
    for r in recorded_rules(plan):
        for key in ("source", "detail-type"):
            if key not in r.pattern:
                continue
            broken = {**r.pattern, key: [_misspell(v) for v in r.pattern[key]]}
            for event, _ in sample_events(plan, r):
                if fires(broken, r.state, event):
                    survived.append(f"{r.where}: {key}={broken[key]}")
    assert not survived, survived


def test_break_glass_rules_see_read_only_management_events(plan):
    """sts:AssumeRole is a read-only management event: a rule in state ENABLED never sees it."""
    rules = [r for r in recorded_rules(plan) if r.key == "secure-org-break-glass-used"]
    assert rules
    for r in rules:
        for event, _ in sample_events(plan, r):
            assert event["detail"]["readOnly"] is True
            assert not fires(r.pattern, ENABLED, event)
            assert r.state == ALL_MANAGEMENT_EVENTS, f"{r.where} is {r.state}: it would never fire"
