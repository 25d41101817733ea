"""Failing and passing fixtures for the golden-AMI rules (blueprint/crossguard/rules_images.py).

The cases live in fixtures.IMAGE_CASES, which fixtures.py adds to RESOURCE_CASES, so the catalogue
checks (every rule has a failing and a passing fixture, test_unknowns.py) see them when run alone.
"""

from __future__ import annotations

import pytest

from blueprint.crossguard.documents import UNKNOWN

from .fixtures import IB_DIST, IB_INFRA, IB_PIPE, IB_RECIPE, IMAGE_CASES, Case
from .test_rules import _leaf_paths, _replace, run_case

CASES = IMAGE_CASES


@pytest.mark.parametrize("case", CASES, ids=str)
def test_image_rule(case):
    found = run_case(case)
    assert bool(found) == case.fails, found


@pytest.mark.parametrize("case", CASES, ids=str)
def test_image_rules_silent_on_unknowns(case):
    for path in _leaf_paths(case.props):
        if path:
            variant = Case(case.rule, case.type, _replace(case.props, path, UNKNOWN), False)
            run_case(variant)  # never raises
    assert run_case(Case(case.rule, case.type, {k: UNKNOWN for k in case.props} or {"x": UNKNOWN}, False)) == [] or not case.props


def test_planned_factory_passes_the_rules():
    from tests.conftest import plan_of

    _, plan = plan_of("prod")
    types = {r["type"] for r in plan["resources"]}
    assert {IB_DIST, IB_PIPE, IB_RECIPE, IB_INFRA} <= types
