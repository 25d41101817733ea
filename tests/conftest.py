"""Shared fixtures: stack files, parsed configs and offline plans (computed once per session)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from blueprint.config import PROJECT  # noqa: E402

STACKS = ("dev", "prod")


def stack_raw(stack: str) -> dict:
    """The project's config keys of a stack file, namespace stripped (a fresh copy)."""
    doc = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
    return copy.deepcopy({k.split(":", 1)[1]: v for k, v in doc.items() if k.startswith(f"{PROJECT}:")})


def write_stack(path: Path, raw: dict, region: str | None = None) -> Path:
    """Write a stack file from namespace-stripped config, as a user would (aws:region defaults to the home region)."""
    org = raw.get("organization")
    region = region or (org.get("home_region") if isinstance(org, dict) else None) or "us-east-1"
    doc = {"config": {"aws:region": region, **{f"{PROJECT}:{k}": v for k, v in raw.items()}}}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def plan_of(stack: str) -> tuple[int, dict]:
    """The committed stack's plan, computed once per test run (shared by the xdist workers)."""
    from blueprint.offline.plan import plan_stack
    from tests.shared import once

    return once(f"plan-{stack}", lambda: plan_stack(stack))


def synthetic_plan(teams: int) -> tuple[int, dict]:
    """The plan of the bench's synthetic org with ``teams`` teams, once per run (shared by workers)."""
    import tempfile

    from blueprint.offline.bench import synthetic_stack
    from blueprint.offline.plan import plan_stack
    from tests.shared import once

    def compute() -> tuple[int, dict]:
        where = Path(tempfile.mkdtemp(prefix=f"synthetic-{teams}-"))
        return plan_stack(f"s{teams}", synthetic_stack(teams, where / f"Pulumi.s{teams}.yaml"))

    return once(f"synthetic-{teams}", compute)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns the marks into group names
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test` runs ``-n auto --dist loadgroup``), keep each module whose
    tests share a module- or class-scoped fixture on one worker, so that fixture (a checkov scan,
    a git repository, a policy-pack server) is built once, as in a serial run. Other tests spread
    freely. Only marks are added: the collection and its order are unchanged."""
    # Workers see numprocesses=None (xdist resets it); loadgroup is what they are told.
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        infos = getattr(item, "_fixtureinfo", None)
        defs = infos.name2fixturedefs.values() if infos else ()
        if any(d.scope in ("module", "class", "package") for fixturedefs in defs for d in fixturedefs):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))


@pytest.fixture(params=STACKS)
def stack(request) -> str:
    return request.param


@pytest.fixture
def plan(stack) -> dict:
    code, doc = plan_of(stack)
    assert code == 0, doc.get("config_errors") or doc["findings"]
    return doc


def resources_of(doc: dict, type_: str) -> list[dict]:
    return [r for r in doc["resources"] if r["type"] == type_]


def run_component(build, stack: str = "unit", config: dict | None = None) -> list[dict]:
    """Run ``build()`` (which constructs components) under the offline mocks; return registrations."""
    from dataclasses import asdict

    from blueprint.offline.runtime import run_program

    regs = run_program(stack, config or {"aws:region": "us-east-1"}, [], build)
    return [asdict(r) for r in regs]


def by_name(resources: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in resources}


def account_name_of(doc: dict, r: dict) -> str:
    """The account (by name) a recorded resource deploys into; 'management' for the default provider."""
    from blueprint.offline.report import account_labels, account_of

    return account_of(r, account_labels(doc["resources"]))


def shared_account_name(stack: str, role: str) -> str:
    from blueprint.config import load_file

    return getattr(load_file(REPO / f"Pulumi.{stack}.yaml").shared_accounts, role).name


def one(resources: list[dict], **match) -> dict:
    found = [r for r in resources if all(r.get(k) == v or r["inputs"].get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [r["name"] for r in found])
    return found[0]


def urn_of(doc: dict, name: str) -> str:
    return next(r["urn"] for r in doc["resources"] if r["name"] == name)
