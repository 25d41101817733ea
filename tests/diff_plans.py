"""Plans of edited stack configs for the diff tests, memoized for the whole session.

Each prod plan takes seconds; tests/test_diff.py and tests/test_diff_*.py ask for the same
edits (a team removed, a team renamed...), so they share one plan per config. The unedited
prod plan is the session's ``plan_of("prod")``. Every call returns a fresh copy.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import tempfile
from pathlib import Path

from tests.conftest import plan_of, stack_raw, write_stack
from tests.shared import once

_DIR: list[Path] = []
_COUNT = itertools.count(1)


def plan(raw: dict, stack: str = "prod", cache: bool = True) -> tuple[int, dict]:
    """(exit code, plan document) of ``stack`` with config ``raw``; ``cache=False`` for patched code."""
    key = stack + json.dumps(raw, sort_keys=True)
    if cache and raw == stack_raw(stack):
        code, doc = plan_of(stack)
        return code, copy.deepcopy(doc)
    from blueprint.offline.plan import plan_stack

    def compute() -> tuple[int, dict]:
        if not _DIR:
            _DIR.append(Path(tempfile.mkdtemp(prefix="diff-plans-")))
        # The name a user would see in messages (config errors name the stack file).
        where = _DIR[0] / str(next(_COUNT))
        where.mkdir(parents=True, exist_ok=True)
        return plan_stack(stack, write_stack(where / f"Pulumi.{stack}.yaml", raw))

    if not cache:
        return compute()
    # The same edit asked for by test modules on other xdist workers is planned once per run.
    code, doc = once("diff-plan-" + hashlib.sha256(key.encode()).hexdigest()[:16], compute)
    return code, copy.deepcopy(doc)


def team(raw: dict, name: str) -> dict:
    return next(t for t in raw["teams"] if t["name"] == name)


# Synthetic plans: a few resources shaped as the plan records them, for rules that need no program.

def res(type_: str, inputs: dict, name: str = "r", **flags) -> dict:
    return {"urn": f"urn:pulumi:prod::secure-org::{type_}::{name}", "id": f"{name}-id", "type": type_, "name": name,
            "parent": "", "custom": True, "provider": "", "inputs": inputs, "protect": False, "retain_on_delete": False,
            "ignore_changes": [], "dependencies": [], "aliases": [], **flags}


def synthetic(*resources: dict) -> dict:
    return {"stack": "prod", "source": "Pulumi.prod.yaml", "resources": list(resources), "findings": [], "accounts": []}
