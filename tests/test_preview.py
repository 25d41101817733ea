"""A first `pulumi preview` has unknowns everywhere: the program and the rules must cope.

The offline plan runs with ``preview=False`` and the mocks return every computed output.
Here the same program runs as a preview of a new stack: ids, ARNs and account ids are
unknown, so anything that indexes an output, or a rule that treats unknown as a violation,
shows up before a real preview would.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest

from blueprint import program
from blueprint.config import load_file
from blueprint.crossguard import engine
from blueprint.crossguard.documents import UNKNOWN
from blueprint.offline.mocks import UNKNOWN_MARK
from blueprint.offline.runtime import run_program, stack_file_config
from tests.conftest import REPO, plan_of


def _preview(stack: str) -> list[dict[str, Any]]:
    flat, secrets = stack_file_config(REPO / f"Pulumi.{stack}.yaml")
    return [asdict(r) for r in run_program(stack, flat, secrets, program.main, preview=True)]


def _as_unknown(value: Any) -> Any:
    if value == UNKNOWN_MARK:
        return UNKNOWN
    if isinstance(value, str) and UNKNOWN_MARK in value:
        return UNKNOWN  # a JSON document with an unknown inside is unknown as a whole at preview
    if isinstance(value, dict):
        return {k: _as_unknown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_unknown(v) for v in value]
    return value


@pytest.fixture(scope="module", params=["dev", "prod"])
def preview(request):
    return request.param, _preview(request.param)


def test_preview_registers_the_same_resources_with_unknowns(preview):
    stack, regs = preview
    _, planned = plan_of(stack)
    assert sorted(r["urn"] for r in regs) == sorted(r["urn"] for r in planned["resources"])
    unknown = [r for r in regs if UNKNOWN_MARK in json.dumps(r["inputs"])]
    # Everything that names a deploy-time id is unknown: policies, trusts, StackSet targets.
    assert len(unknown) > len(regs) // 4
    types = {r["type"] for r in unknown}
    assert "aws:cloudformation/stackSetInstance:StackSetInstance" in types
    assert "aws:organizations/policyAttachment:PolicyAttachment" in types


def test_no_rule_fires_on_unknowns(preview):
    stack, regs = preview
    cfg = load_file(REPO / f"Pulumi.{stack}.yaml")
    resources = [{**r, "inputs": _as_unknown(r["inputs"])} for r in regs]
    found = [f for f in engine.evaluate(resources, cfg) if f["severity"] == "mandatory"]
    assert found == [], [f"{f['rule']}: {f['message']}" for f in found[:10]]
