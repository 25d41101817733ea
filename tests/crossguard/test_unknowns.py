"""Unknown inputs (a real `pulumi preview`) never produce a violation, for every rule.

A rule that fires on an unknown value would block every preview of a new stack. For each
failing fixture of every rule: with all its inputs unknown it passes, and making any one
input unknown never adds a violation that the known value did not have.
"""

from __future__ import annotations

from typing import Any

import pytest

from blueprint.crossguard.documents import UNKNOWN
from blueprint.crossguard.rules import RULES as RULE_LIST
from blueprint.crossguard.rules import Context, Resource, Settings
from tests.crossguard.fixtures import RESOURCE_CASES, STACK_CASES

RULES = {r.name: r for r in RULE_LIST}
# Rules decided by resource options (protect), which preview knows, not by inputs.
OPTION_RULES = {"org-resources-protected": "decided by the protect option, known at preview"}


class AllUnknown(dict):
    """Props of a resource none of whose inputs preview knows yet: every key, present or not."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: Any) -> Any:
        return UNKNOWN

    def get(self, key: Any, default: Any = None) -> Any:
        return UNKNOWN
FAILING = [c for c in RESOURCE_CASES if c.fails]
FAILING_STACK = [c for c in STACK_CASES if c.fails]


def _ctx(case: Any) -> Context:
    return Context(case.type, "res", "urn", case.ctx.get("protect", False), case.ctx.get("account_id"), case.ctx.get("settings", Settings()))


def test_every_rule_is_covered():
    covered = {c.rule for c in FAILING} | {c.rule for c in FAILING_STACK}
    assert covered == set(RULES), sorted(set(RULES) - covered)


@pytest.mark.parametrize("case", FAILING, ids=str)
def test_resource_rule_with_unknown_inputs_never_fails(case):
    rule = RULES[case.rule]
    known = rule.check(case.props, _ctx(case))
    assert known, f"{case}: the failing fixture must fail with known values"
    if case.rule not in OPTION_RULES:
        all_unknown = AllUnknown({k: UNKNOWN for k in case.props})
        assert rule.check(all_unknown, _ctx(case)) == [], f"{case.rule} fires on a fully unknown resource"
    for key in case.props:
        # Messages may name the resource, so compare how many violations, not their text.
        got = rule.check({**case.props, key: UNKNOWN}, _ctx(case))
        assert len(got) <= len(known), f"{case.rule}: unknown {key!r} adds violations: {got}"


@pytest.mark.parametrize("case", FAILING_STACK, ids=str)
def test_stack_rule_with_unknown_inputs_never_fails(case):
    rule = RULES[case.rule]
    known = rule.check(case.resources, case.settings)
    assert known, f"{case}: the failing fixture must fail with known values"
    # A companion that does not exist at all is known at preview; unknown values must never add
    # violations, resource by resource.
    for i, r in enumerate(case.resources):
        resources = list(case.resources)
        resources[i] = Resource(**{**r.__dict__, "props": AllUnknown({k: UNKNOWN for k in r.props})})
        got = rule.check(resources, case.settings)
        assert len(got) <= len(known), f"{case.rule}: unknown inputs of {r.name} add violations: {got}"
