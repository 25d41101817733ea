"""`make bench`: offline-plan time for synthetic orgs of 1, 10 and 100 teams, against the SDK floor.

The floor is the bare Pulumi SDK registering the same number of plain resources under
the same mocks, measured in the same run, so the ratio says what our program adds on
top of Pulumi itself. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pulumi
import yaml

from blueprint.access import check as access
from blueprint.config import PROJECT
from blueprint.offline import plan as plan_mod
from blueprint.offline.runtime import run_program, stack_file_config

REPO = plan_mod.REPO


PIPELINE_SHARE = 0.3  # about 30% of teams run a delivery pipeline


def _pipeline(i: int) -> dict:
    """A pipeline block; sources rotate so every source type is exercised."""
    source = [
        {"type": "codeconnections", "connection_arn": "arn:aws:codeconnections:eu-west-1:123456789012:connection/0b7a6f2e-3c1d-4e5f-8a9b-0c1d2e3f4a5b",
         "repository": f"acme/team-{i:03d}"},
        {"type": "codecommit", "repository": f"team-{i:03d}-service"},
        {"type": "s3"},
    ][i % 3]
    return {"source": source, "approvers": [f"team-{i:03d}-lead@acme.example"], "severity_threshold": "HIGH",
            "dast_target_url": f"https://staging.team-{i:03d}.acme.example"}


def synthetic_stack(teams: int, path: Path) -> Path:
    """The prod stack with its teams replaced by ``teams`` generated ones (30% with a pipeline)."""
    doc = yaml.safe_load((REPO / "Pulumi.prod.yaml").read_text())
    cfg = doc["config"]
    cfg[f"{PROJECT}:teams"] = [
        {
            "name": f"team-{i:03d}",
            "owner_email": f"team-{i:03d}-lead@acme.example",
            "cost_center": f"CC-{1000 + i % 40}",
            "environments": ["dev", "test", "prod"],
            # One team with its own break-glass role exercises per-account exemptions.
            **({"break_glass_roles": ["TeamIncident"]} if i == 0 else {}),
            **({"pipeline": _pipeline(i)} if int((i + 1) * PIPELINE_SHARE) > int(i * PIPELINE_SHARE) or teams == 1 else {}),
        }
        for i in range(teams)
    ]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def floor(n: int) -> float:
    """Seconds for the bare SDK to register ``n`` plain resources under the same mocks."""

    def program() -> None:
        for i in range(n):
            pulumi.CustomResource("bench:index:Plain", f"plain-{i}", {"name": f"plain-{i}", "tags": {"k": "v"}})

    start = time.perf_counter()
    run_program("bench", {"aws:region": "us-east-1"}, [], program)
    return time.perf_counter() - start


def measure(teams: int, repeat: int, workdir: Path) -> dict:
    path = synthetic_stack(teams, workdir / f"Pulumi.bench{teams}.yaml")
    plan_times, program_times, floor_times, flow_times = [], [], [], []
    doc: dict = {}
    for _ in range(repeat):
        start = time.perf_counter()
        code, doc = plan_mod.plan_stack(f"bench{teams}", path)
        plan_times.append(time.perf_counter() - start)
        if code != 0:
            raise SystemExit(f"{teams}-team org does not plan cleanly: {doc.get('findings') or doc.get('config_errors')}")
        # The access check alone (it is part of plan_s): what evaluating every flow costs.
        start = time.perf_counter()
        access.run(doc)
        flow_times.append(time.perf_counter() - start)
        # The program alone, for the like-for-like comparison with the floor.
        from blueprint import program

        flat, secrets = stack_file_config(path)
        start = time.perf_counter()
        regs = run_program(f"bench{teams}", flat, secrets, program.main)
        program_times.append(time.perf_counter() - start)
        floor_times.append(floor(len(regs)))
    registered = len(doc["resources"])
    worst = max((p["chars"] / g["max_chars"] for g in doc["guardrails"] for p in g["policies"]), default=0)
    slots = max((g["slots_used"] / g["slots_max"] for g in doc["guardrails"]), default=0)
    return {
        "teams": teams,
        "accounts": sum(1 for r in doc["resources"] if r["type"] == "aws:organizations/account:Account"),
        "resources": doc["summary"]["resources"],
        "registrations": registered,
        "providers": doc["summary"]["providers"],
        "plan_s": statistics.median(plan_times),
        "program_s": statistics.median(program_times),
        "floor_s": statistics.median(floor_times),
        "ratio": statistics.median(program_times) / statistics.median(floor_times),
        "flows_evaluated": doc["summary"]["flows"]["evaluated"],
        "flows_s": statistics.median(flow_times),
        # Share the flow evaluation adds to the rest of the plan (same run).
        "flows_share": statistics.median(flow_times) / (statistics.median(plan_times) - statistics.median(flow_times)),
        "largest_policy_fill": round(worst, 3),
        "most_slots_used": round(slots, 3),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="offline plan benchmark")
    ap.add_argument("--teams", type=int, nargs="*", default=[1, 10, 100])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "build" / "bench.json")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.teams:
            rows.append(measure(n, args.repeat, Path(tmp)))
    header = (f"{'teams':>5} {'accounts':>8} {'resources':>9} {'providers':>9} {'plan s':>8} {'program s':>9} {'SDK floor s':>11} {'ratio':>6} "
              f"{'flows':>6} {'flows s':>7} {'+flows':>6} {'fullest policy':>14} {'slots':>6}")
    print(header)
    for r in rows:
        print(
            f"{r['teams']:>5} {r['accounts']:>8} {r['resources']:>9} {r['providers']:>9} {r['plan_s']:>8.3f} "
            f"{r['program_s']:>9.3f} {r['floor_s']:>11.3f} {r['ratio']:>6.2f} {r['flows_evaluated']:>6} {r['flows_s']:>7.3f} "
            f"{r['flows_share']:>6.1%} {r['largest_policy_fill']:>14.1%} {r['most_slots_used']:>6.0%}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"(median of {args.repeat}; program = our program under mocks, floor = bare SDK, same registrations; wrote {args.out.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
