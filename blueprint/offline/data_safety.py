"""The data-safety edit cases: a stack's teams edited as a user would, planned, diffed, counted.

Each edit (a team removed, a pipeline removed, renames, an environment dropped, an account
closed in two steps) is applied to the committed stack file's config, planned (two at a time,
in a process pool: a prod plan takes seconds) and diffed against the unedited plan, or the
previous step's. Each case declares what it expects; :func:`check` says what differs.
``python -m blueprint.offline.edit_cases`` runs them with the bad-input cases and prints both.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import tempfile
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from blueprint.config import PROJECT
from blueprint.config_yaml import read_stack_file

REPO = Path(__file__).resolve().parent.parent.parent
TEAMS = f"{PROJECT}:teams"
ACCOUNT = "aws:organizations/account:Account"


class CaseError(Exception):
    """The stack file gives the cases nothing to edit (no teams, no team with a pipeline)."""


@dataclass
class Result:
    case: str
    plan: int | None = None
    diff: int | None = None
    deleted_data: int | None = None
    deleted_other: int | None = None
    replaced: int | None = None
    left_behind: int | None = None
    blocked: int | None = None
    created: int | None = None
    closing: int | None = None  # blocked accounts that close once unprotected (the two-step closing)
    message: str = ""
    details: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check(expect: dict[str, Any], r: Result) -> list[str]:
    """What differs from the expectation: an int is exact, (lo, hi) a range (hi None: unbounded), ``message`` a substring."""
    out = []
    for key, want in expect.items():
        got = getattr(r, key)
        if got is None and r.plan in (2, 3) and key != "plan":
            continue  # the plan stopped: nothing to count, its exit code says it
        if key == "message":
            if want not in got:
                out.append(f"message should contain {want!r}, got {got or 'none'!r}")
        elif isinstance(want, tuple):
            lo, hi = want
            if got is None or got < lo or (hi is not None and got > hi):
                out.append(f"{key} {got}, expected {'at least ' + str(lo) if hi is None else f'{lo} to {hi}'}")
        elif got != want:
            out.append(f"{key} {got}, expected {want}")
    return out


# ---------------------------------------------------------------------------------------
# Data-safety edits: the teams list edited, planned and diffed.

@dataclass
class Edit:
    key: str  # "(a)"...: names the case, and a later step's base
    title: str
    edit: Callable[[list[dict[str, Any]]], Any]  # edits the teams list in place
    expect: dict[str, Any]
    base: str = ""  # the key of the case whose plan is this one's base; "" is the unedited stack

    @property
    def case(self) -> str:
        return f"{self.key} {self.title}"


def _team(teams: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(t for t in teams if t["name"] == name)


def edits(teams: list[dict[str, Any]]) -> list[Edit]:
    """The cases for this stack's teams: a pipeline team (checkout when there is one) and another team."""
    piped = [t["name"] for t in teams if t.get("pipeline")]
    if not piped:
        raise CaseError(f"no team in {TEAMS} has a pipeline: the data-safety cases need one")
    p = "checkout" if "checkout" in piped else piped[0]
    other = next((t["name"] for t in teams if not t.get("pipeline") and len(t["environments"]) > 1), p)
    envs, dropped, new = list(_team(teams, p)["environments"]), _team(teams, other)["environments"][0], "storefront"
    step1 = {"plan": 0, "diff": 0, "deleted_data": 0, "replaced": 0, "blocked": 0}
    # Step 2, diffed against step 1: the accounts stop `pulumi up` until unprotected on purpose, then close.
    step2 = {"plan": 0, "diff": 0, "deleted_data": 0, "replaced": 0, "closing": len(envs), "blocked": len(envs)}

    def drop_team(ts): ts[:] = [t for t in ts if t["name"] != p]  # noqa: E704
    def drop_pipeline(ts): del _team(ts, p)["pipeline"]  # noqa: E704
    def decommission(ts): _team(ts, p)["decommission"] = list(envs)  # noqa: E704

    return [
        Edit("(a)", f"remove team '{p}' (it has a pipeline)", drop_team,
             {"plan": 0, "diff": 2, "deleted_data": 0, "replaced": 0, "message": f"team '{p}' is gone but its accounts are not decommissioned"}),
        Edit("(b)", f"remove only '{p}'s `pipeline:` block", drop_pipeline,
             {"plan": 0, "diff": 0, "deleted_data": 0, "replaced": 0, "blocked": 0, "left_behind": (1, None)}),
        Edit("(c)", f"rename '{p}' to '{new}' with previous_names: [{p}]", lambda ts: _team(ts, p).update(name=new, previous_names=[p]),
             {"plan": 0, "diff": 0, "deleted_data": 0, "deleted_other": 0, "replaced": 0, "created": 0, "blocked": 0, "left_behind": 0}),
        Edit("(d)", f"rename '{p}' to '{new}' without previous_names", lambda ts: _team(ts, p).update(name=new),
             {"plan": 0, "diff": 2, "deleted_data": 0, "message": f"to rename it, set name: {new} and previous_names: [{p}]"}),
        Edit("(e)", f"drop '{dropped}' from '{other}' without decommission", lambda ts: _team(ts, other)["environments"].remove(dropped),
             {"plan": 0, "diff": 2, "deleted_data": 0, "message": f"team '{other}' no longer lists '{dropped}'"}),
        # A pipeline deploys to test and prod: those close only once the pipeline block is gone.
        Edit("(f)", f"decommission: [{', '.join(envs)}] on '{p}', pipeline still there", decommission,
             {"plan": 2, "message": "where the team's pipeline deploys: remove the pipeline: block first"}),
        # Closing, in the two documented steps, the pipeline removed in the first.
        Edit("(g1)", f"remove '{p}'s pipeline and decommission: [{', '.join(envs)}]", lambda ts: (drop_pipeline(ts), decommission(ts)), step1),
        Edit("(g2)", f"then remove team '{p}'", lambda ts: (decommission(ts), drop_team(ts)), step2, base="(g1)"),
    ]


def _plan(job: tuple[str, str]) -> tuple[int, dict[str, Any]]:
    """Plan one stack file (in a pool worker); a crash is the planner's exit 3, with where it broke."""
    from blueprint.offline.plan import plan_stack

    try:
        return plan_stack(job[0], Path(job[1]))
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = Path(frame.filename).resolve()
        where = where.relative_to(REPO) if where.is_relative_to(REPO) else where
        return 3, {"internal_error": f"internal error (a bug): {type(exc).__name__}: {exc} at {where}:{frame.lineno}"}


def fate(case: str, code: int, head: dict[str, Any], base: tuple[int, dict[str, Any]]) -> Result:
    """Diff one planned edit against its base, as `python -m blueprint.offline.diff` would, and count what happens."""
    from blueprint.offline.diff import EXIT_ERROR, EXIT_OK, diff_plans

    r = Result(case, plan=code)
    if code == 3:
        r.message = head["internal_error"]
        return r
    if code == 2:  # the diff stops first too: "head configuration rejected"
        r.diff, r.message = EXIT_ERROR, head["config_errors"][0]
        return r
    if base[0] in (2, 3):  # a base with findings (1) still diffs, as in `make diff`
        r.problems.append(f"its base plan exited {base[0]}")
        return r
    d = diff_plans(base[1], head)
    life = d["lifecycle"]
    r.diff = EXIT_ERROR if d["config_errors"] else EXIT_OK
    mandatory = [f"mandatory finding: {f['message']}" for f in head["findings"] if f["severity"] == "mandatory"]
    r.message = (d["config_errors"] + mandatory + [""])[0]
    r.deleted_data = sum(1 for e in life["deleted"] if e["data"])
    r.deleted_other = len(life["deleted"]) - r.deleted_data
    r.replaced, r.left_behind, r.blocked = len(life["replaced"]), len(life["left_behind"]), len(life["blocked"])
    r.created = d["summary"]["added"]
    r.closing = sum(1 for e in life["blocked"] if e["type"] == ACCOUNT and e.get("then") == "closed")
    for kind in ("deleted", "replaced", "blocked", "left_behind"):
        for e in life[kind]:
            if kind != "deleted" or e["data"]:  # deletions of what holds no data are only counted
                what = e["type"].split(":")[-1] + (f", with {', '.join(e['settings'])}" if e.get("settings") else "")
                why = {"deleted": f": it holds {e['loses']}", "left_behind": ""}.get(kind, f": {e['why']}")
                r.details.append(f"{kind.replace('_', ' ')}: `{e['label']}` ({what}){why}")
    if r.deleted_other:
        kinds = Counter(e["type"].split(":")[-1] for e in life["deleted"] if not e["data"])
        r.details.append(f"deleted, holding no data: {r.deleted_other} (" + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ")")
    return r


def run_data_safety(stack: str, stack_file: Path, workers: int = 2) -> list[Result]:
    doc = read_stack_file(stack_file)
    teams = (doc.get("config") or {}).get(TEAMS)
    if not isinstance(teams, list):
        raise CaseError(f"{stack_file.name}: {TEAMS} is missing or not a list")
    cases = edits(teams)
    with tempfile.TemporaryDirectory(prefix="edit-cases-") as tmp:
        files: dict[str, str] = {}  # edited teams (JSON) -> its stack file: one plan per distinct config

        def stack_path(edited: list[dict[str, Any]]) -> str:
            key = json.dumps(edited, sort_keys=True)
            if key not in files:
                # Named as the user's file, so config errors read as they would for them.
                path = Path(tmp) / str(len(files)) / stack_file.name
                path.parent.mkdir()
                path.write_text(yaml.safe_dump({**doc, "config": {**doc["config"], TEAMS: edited}}, sort_keys=False))
                files[key] = str(path)
            return files[key]

        heads = {"": stack_path(teams)}
        for c in cases:
            edited = copy.deepcopy(teams)
            c.edit(edited)
            heads[c.key] = stack_path(edited)
        # spawn: each worker starts clean, with no runtime state inherited from this process.
        with multiprocessing.get_context("spawn").Pool(min(workers, len(files))) as pool:
            plans = dict(zip(files.values(), pool.map(_plan, [(stack, p) for p in files.values()], chunksize=1)))
    results = []
    for c in cases:
        r = fate(c.case, *plans[heads[c.key]], plans[heads[c.base]])
        if not r.problems:  # a failed base says it all
            r.problems = check(c.expect, r)
        results.append(r)
    return results
