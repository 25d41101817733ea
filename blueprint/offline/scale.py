"""What a real `pulumi up` of a plan does at scale: dependency depth, per-type counts, wall time.

    python -m blueprint.offline.scale build/plan-prod.json

The engine runs independent registrations in parallel (``--parallel``, default unbounded
for the Python SDK, bounded by the provider), so the wall time of a first ``pulumi up`` is
governed by the longest dependency chain, each step costing what its resource type takes
in AWS, and by what AWS serializes: account creation, and the operations on one StackSet.
The step latencies are planning figures (see docs/scale.md), not measurements.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

# Seconds one create takes in AWS (planning figures; StackSet instances are per account).
LATENCY = {
    "aws:organizations/account:Account": 240,  # CreateAccount is asynchronous: minutes
    "aws:cloudformation/stackSetInstance:StackSetInstance": 120,
    "aws:cloudformation/stackSet:StackSet": 20,
    "aws:cloudformation/stack:Stack": 120,
    "aws:organizations/organizationalUnit:OrganizationalUnit": 3,
    "aws:organizations/policy:Policy": 3,
    "aws:organizations/policyAttachment:PolicyAttachment": 3,
    "aws:iam/role:Role": 5,
    "aws:kms/key:Key": 10,
    "aws:s3/bucket:Bucket": 5,
    "aws:codepipeline/pipeline:Pipeline": 10,
    "aws:guardduty/detector:Detector": 10,
}
DEFAULT_LATENCY = 3
ACCOUNT_CREATION_CONCURRENCY = 5  # Organizations processes a handful of CreateAccount requests at once
STACKSET_ACCOUNTS_AT_ONCE = 20  # instances one StackSet operation deploys in parallel (MaxConcurrentCount-like)


def depth(doc: dict[str, Any]) -> tuple[int, list[str]]:
    """The longest dependency chain (parents and dependencies), and the URNs on it."""
    res = {r["urn"]: r for r in doc["resources"]}
    memo: dict[str, tuple[int, list[str]]] = {}

    def walk(urn: str) -> tuple[int, list[str]]:
        if urn in memo:
            return memo[urn]
        memo[urn] = (1, [urn])  # cycle guard (the engine rejects cycles anyway)
        r = res[urn]
        deps = set(r.get("dependencies") or []) | ({r["parent"]} if r.get("parent") in res else set())
        best: tuple[int, list[str]] = (0, [])
        for d in deps:
            if d in res:
                got = walk(d)
                if got[0] > best[0]:
                    best = got
        memo[urn] = (best[0] + (1 if r["custom"] else 0), best[1] + [urn])
        return memo[urn]

    top = max((walk(u) for u in res), default=(0, []), key=lambda t: t[0])
    return top


def per_type(doc: dict[str, Any]) -> Counter:
    return Counter(r["type"] for r in doc["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:"))


def estimate(doc: dict[str, Any]) -> dict[str, Any]:
    """Expected first-`pulumi up` wall time: the critical path, plus what AWS serializes."""
    d, chain = depth(doc)
    res = {r["urn"]: r for r in doc["resources"]}
    path_s = sum(LATENCY.get(res[u]["type"], DEFAULT_LATENCY) for u in chain if res[u]["custom"])
    counts = per_type(doc)
    accounts = counts["aws:organizations/account:Account"]
    # Accounts are created a few at a time, whatever the engine's parallelism.
    account_waves = math.ceil(accounts / ACCOUNT_CREATION_CONCURRENCY)
    serialized_accounts_s = account_waves * LATENCY["aws:organizations/account:Account"]
    # Instances of one StackSet queue behind each other, a batch at a time.
    instances = Counter()
    for r in doc["resources"]:
        if r["type"] == "aws:cloudformation/stackSetInstance:StackSetInstance":
            instances[r["inputs"].get("stackSetName")] += 1
    busiest = max(instances.values(), default=0)
    stackset_s = math.ceil(busiest / STACKSET_ACCOUNTS_AT_ONCE) * LATENCY["aws:cloudformation/stackSetInstance:StackSetInstance"]
    total = max(path_s, serialized_accounts_s + stackset_s)
    return {"depth": d, "critical_path_s": path_s, "accounts": accounts, "account_creation_s": serialized_accounts_s,
            "busiest_stack_set_instances": busiest, "stack_set_s": stackset_s, "expected_wall_s": total,
            "resources": sum(counts.values()), "per_type": dict(counts.most_common())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("plan", type=Path)
    args = ap.parse_args(argv)
    try:
        doc = json.loads(args.plan.read_text())
    except (OSError, ValueError) as exc:
        print(f"scale: cannot read plan {args.plan}: {exc} (write it with `make plan`)", file=sys.stderr)
        return 2
    e = estimate(doc)
    print(f"{e['resources']} resources, dependency depth {e['depth']}, critical path ~{e['critical_path_s'] / 60:.0f} min")
    print(f"{e['accounts']} accounts created {ACCOUNT_CREATION_CONCURRENCY} at a time: ~{e['account_creation_s'] / 60:.0f} min; "
          f"busiest StackSet {e['busiest_stack_set_instances']} instances: ~{e['stack_set_s'] / 60:.0f} min")
    print(f"expected first `pulumi up`: ~{e['expected_wall_s'] / 60:.0f} min")
    for t, n in list(e["per_type"].items())[:12]:
        print(f"  {n:>6}  {t}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
