"""What `pulumi up` does at scale, computed from the plan (docs/scale.md)."""

from __future__ import annotations

from blueprint.offline import scale
from tests.conftest import plan_of


def test_depth_and_counts_come_from_the_plan():
    _, doc = plan_of("prod")
    d, chain = scale.depth(doc)
    by_urn = {r["urn"]: r for r in doc["resources"]}
    # The chain is a real dependency path: each step depends on (or is a child of) the one before.
    for before, after in zip(chain, chain[1:]):
        r = by_urn[after]
        assert before in r["dependencies"] or before == r["parent"], (before, after)
    assert d == sum(1 for u in chain if by_urn[u]["custom"])
    counts = scale.per_type(doc)
    assert sum(counts.values()) == doc["summary"]["resources"]
    assert all(doc["summary"]["by_type"][t] == n for t, n in counts.items())


def test_depth_does_not_grow_with_teams():
    """Six teams (prod) and one (dev): the same longest chain, so wall time grows only with what AWS serializes."""
    _, dev = plan_of("dev")
    _, prod = plan_of("prod")
    assert abs(scale.depth(dev)[0] - scale.depth(prod)[0]) <= 1
    assert scale.depth(prod)[0] <= 12


def test_estimate_is_dominated_by_account_creation_at_scale():
    _, doc = plan_of("prod")
    e = scale.estimate(doc)
    assert e["account_creation_s"] == -(-e["accounts"] // scale.ACCOUNT_CREATION_CONCURRENCY) * scale.LATENCY["aws:organizations/account:Account"]
    assert e["expected_wall_s"] >= max(e["critical_path_s"], e["account_creation_s"])
