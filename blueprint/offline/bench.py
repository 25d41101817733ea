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
from blueprint.config import PROJECT, ConfigError
from blueprint.config_yaml import read_stack_file
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
    doc = read_stack_file(REPO / "Pulumi.prod.yaml")  # as Pulumi reads it; a broken file is a ConfigError
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
    # An organization this size has raised its account quota (AWS's default is 10).
    org = cfg[f"{PROJECT}:organization"]
    org["quotas"] = {**(org.get("quotas") or {}), "organizations-accounts": max(1000, 2 * (3 * teams + 10))}
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


def _one_run(teams: int, path: str) -> dict:
    """One plan of one size, in a fresh process: wall, CPU, peak memory, and its parts."""
    import resource

    from blueprint import program

    wall0, cpu0 = time.perf_counter(), time.process_time()
    code, doc = plan_mod.plan_stack(f"bench{teams}", Path(path))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    if code != 0:
        bad = [f["message"] for f in doc.get("findings", []) if f["severity"] == "mandatory"] or doc.get("config_errors") or []
        return {"error": f"{teams}-team org does not plan cleanly: {bad[:5]}"}
    start = time.perf_counter()
    access.run(doc)  # the access check alone (it is part of the plan): what every flow costs
    flows_s = time.perf_counter() - start
    flat, secrets = stack_file_config(Path(path))
    start = time.perf_counter()
    regs = run_program(f"bench{teams}", flat, secrets, program.main)
    program_s = time.perf_counter() - start
    floor_s = floor(len(regs))
    root = [p["chars"] for g in doc["guardrails"] if g["target"] == "Root" and g["kind"] == "service_control_policies" for p in g["policies"]]
    return {
        "wall_s": wall, "cpu_s": cpu, "flows_s": flows_s, "program_s": program_s, "floor_s": floor_s,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "accounts": sum(1 for r in doc["resources"] if r["type"] == "aws:organizations/account:Account"),
        "resources": doc["summary"]["resources"], "registrations": len(doc["resources"]), "providers": doc["summary"]["providers"],
        "flows_evaluated": doc["summary"]["flows"]["evaluated"],
        "root_scp_chars": sum(root), "root_scp_policies": len(root),
        "largest_policy_fill": max((p["chars"] / g["max_chars"] for g in doc["guardrails"] for p in g["policies"]), default=0),
        "quota_fill": max((q["fill"] for q in doc.get("quotas", [])), default=0),
        "findings": len(doc["findings"]),
    }


def measure(teams: int, repeat: int, workdir: Path) -> dict:
    """Median of ``repeat`` runs, each in its own process (so peak memory is this size's own)."""
    import multiprocessing

    path = synthetic_stack(teams, workdir / f"Pulumi.bench{teams}.yaml")
    ctx = multiprocessing.get_context("spawn")
    runs = []
    for _ in range(repeat):
        with ctx.Pool(1) as pool:
            got = pool.apply(_one_run, (teams, str(path)))
        if "error" in got:
            raise SystemExit(got["error"])
        runs.append(got)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    med.update(teams=teams, pipelines=sum(1 for i in range(teams) if int((i + 1) * PIPELINE_SHARE) > int(i * PIPELINE_SHARE) or teams == 1))
    med["ratio"] = med["program_s"] / med["floor_s"]
    med["flows_share"] = med["flows_s"] / (med["wall_s"] - med["flows_s"])
    med["spread"] = (max(r["wall_s"] for r in runs) - min(r["wall_s"] for r in runs)) / med["wall_s"] if repeat > 1 else 0.0
    return med


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="offline plan benchmark")
    ap.add_argument("--teams", type=int, nargs="*", default=[1, 10, 100, 333])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "build" / "bench.json")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.teams:
            try:
                rows.append(measure(n, args.repeat, Path(tmp)))
            except ConfigError as exc:
                print("\n".join(["bench: the prod stack file is rejected:", *exc.lines()]), file=sys.stderr)
                return 2
            print(f"  measured {n} teams", file=sys.stderr)
    header = (f"{'teams':>5} {'accts':>5} {'resources':>9} {'prov':>4} {'wall s':>7} {'cpu s':>7} {'peak MB':>7} "
              f"{'program':>7} {'floor':>6} {'ratio':>5} {'flows':>6} {'+flows':>6} {'Root SCP':>9} {'quota':>5} {'spread':>6}")
    print(header)
    for r in rows:
        print(
            f"{r['teams']:>5} {r['accounts']:>5.0f} {r['resources']:>9.0f} {r['providers']:>4.0f} {r['wall_s']:>7.2f} {r['cpu_s']:>7.2f} "
            f"{r['peak_mb']:>7.0f} {r['program_s']:>7.2f} {r['floor_s']:>6.2f} {r['ratio']:>5.2f} {r['flows_evaluated']:>6.0f} "
            f"{r['flows_share']:>6.1%} {r['root_scp_chars']:>9.0f} {r['quota_fill']:>5.0%} {r['spread']:>6.1%}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"(median of {args.repeat}, each run in its own process; program = our program under mocks, floor = the bare SDK "
          f"registering as many resources in the same run; +flows = what evaluating every access flow adds to the rest of the plan; "
          f"Root SCP = characters of the Root's SCPs; quota = fullest quota; spread = (max-min)/median wall; wrote {args.out.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
