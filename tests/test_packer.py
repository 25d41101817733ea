"""The guardrail packer: nothing lost or duplicated, every output within its limits, deterministic."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blueprint import packer
from blueprint.packer import PackError, Unit, pack
from blueprint.policies import minify

SCP = "service_control_policies"
ACTIONS = [f"{svc}:{verb}{obj}" for svc in ("ec2", "s3", "iam", "kms", "cloudtrail") for verb in ("Delete", "Put", "Stop", "Modify") for obj in ("Bucket", "Trail", "Key", "Role", "Instance")]
CONDITIONS = [
    None,
    {"ArnNotLike": {"aws:PrincipalARN": ["arn:aws:iam::*:role/BreakGlass"]}},
    {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}},
]


@st.composite
def statements(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    out = []
    for i in range(n):
        stmt = {"Sid": f"S{i}", "Effect": "Deny", "Action": draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=12, unique=True)), "Resource": "*"}
        cond = draw(st.sampled_from(CONDITIONS))
        if cond:
            stmt["Condition"] = cond
        out.append(stmt)
    return out


def units(stmts, source="g"):
    return [Unit(f"{source}{i % 3}", s, minify(s)) for i, s in enumerate(stmts)]


def atoms(stmts):
    """What a statement set means: one (effect, action, resource, condition) per allowed/denied action."""
    out = []
    for s in stmts:
        acts = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        for a in acts:
            out.append((s["Effect"], a, json.dumps(s.get("Resource"), sort_keys=True), json.dumps(s.get("Condition"), sort_keys=True)))
    return out


def without_sid(stmt: dict) -> str:
    return minify({k: v for k, v in stmt.items() if k != "Sid"})


def documents(result: packer.Packed) -> list[dict]:
    return [json.loads(result.document(i, {})) for i in range(len(result.bins))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stmts=statements(), max_chars=st.integers(min_value=250, max_value=4000), max_per_target=st.integers(min_value=2, max_value=10))
def test_no_statement_lost_or_duplicated_and_all_within_limits(stmts, max_chars, max_per_target):
    try:
        result = pack(SCP, "Root", units(stmts), max_chars, max_per_target)
    except PackError as exc:
        # Failing is only allowed when it is honest about the shortfall.
        assert "at 'Root'" in str(exc) and "over by" in str(exc) or "do not pack" in str(exc)
        return
    docs = documents(result)
    assert len(docs) <= max_per_target - 1, "FullAWSAccess keeps one slot"
    for d in docs:
        assert len(minify(d)) <= max_chars
    out_stmts = [s for d in docs for s in d["Statement"]]
    out_atoms = atoms(out_stmts)
    assert sorted(set(out_atoms)) == sorted(set(atoms(stmts))), "no statement lost"
    if result.merged:
        assert len(out_atoms) == len(set(out_atoms)), "merging leaves no action twice under one condition"
    else:
        meaning = [without_sid(s) for s in out_stmts]
        assert sorted(meaning) == sorted(set(without_sid(s) for s in stmts)), "each statement exactly once"


@settings(max_examples=150, deadline=None)
@given(stmts=statements(), seed=st.integers(min_value=0, max_value=2**32))
def test_same_input_in_any_order_gives_the_same_policies(stmts, seed):
    shuffled = list(units(stmts))
    random.Random(seed).shuffle(shuffled)
    a = pack(SCP, "Root", units(stmts), 10240, 10)
    b = pack(SCP, "Root", shuffled, 10240, 10)
    assert documents(a) == documents(b)


@settings(max_examples=150, deadline=None)
@given(stmts=statements())
def test_anything_that_fits_one_policy_never_fails(stmts):
    one = len(packer.assemble(SCP, stmts))
    result = pack(SCP, "Root", units(stmts), max(one, 200), 2)
    assert len(result.bins) == 1


def big_statement(i: int, n_actions: int = 30) -> dict:
    return {"Sid": f"Big{i}", "Effect": "Deny", "Action": [f"ec2:Action{i}x{j}" for j in range(n_actions)], "Resource": "*"}


def test_spreads_across_policies_when_one_is_not_enough():
    stmts = [big_statement(i) for i in range(12)]  # ~8.4k chars in all
    result = pack(SCP, "Workloads", units(stmts), 5120, 5)
    assert len(result.bins) == 2
    assert not result.merged
    assert all(len(minify(d)) <= 5120 for d in documents(result))


def test_merges_statements_that_differ_only_in_actions_when_slots_run_out():
    cond = {"ArnNotLike": {"aws:PrincipalARN": ["arn:aws:iam::*:role/BreakGlass"]}}
    stmts = [{"Sid": f"S{i}", "Effect": "Deny", "Action": [f"s3:Put{i}"], "Resource": "*", "Condition": cond} for i in range(60)]
    result = pack(SCP, "Root", units(stmts), 1200, 2)  # one free slot: only fits when merged
    assert result.merged
    (doc,) = documents(result)
    (stmt,) = doc["Statement"]
    assert sorted(stmt["Action"]) == sorted(f"s3:Put{i}" for i in range(60))
    assert stmt["Condition"] == cond


def test_single_statement_too_large_names_target_guardrail_and_overage():
    stmt = big_statement(1, n_actions=400)
    with pytest.raises(PackError) as exc:
        pack(SCP, "Workloads/Prod", [Unit("huge-guardrail", stmt, minify(stmt))], 5120, 5)
    size = len(packer.assemble(SCP, [stmt]))
    assert str(exc.value) == (
        f"service_control_policies at 'Workloads/Prod': Big1 from guardrail 'huge-guardrail' is {size} characters "
        f"as a policy; the limit is 5120 (over by {size - 5120})"
    )


def test_too_many_policies_for_the_slots_says_by_how_much():
    stmts = [big_statement(i, n_actions=60) for i in range(10)]  # ~14k characters, unmergeable by Sid only? no: merge also fails
    stmts = [dict(s, Resource=f"arn:aws:ec2:*:*:instance/{i}") for i, s in enumerate(stmts)]  # distinct resources: no merging
    with pytest.raises(PackError) as exc:
        pack(SCP, "Sandbox", units(stmts), 5120, 3)
    msg = str(exc.value)
    assert msg.startswith("service_control_policies at 'Sandbox': needs ")
    assert "only 2 of 3 attachment slots are free (FullAWSAccess takes one)" in msg
    need = sum(len(minify(s)) + 1 for s in stmts) - 1 + len(packer.SHELLS[SCP][1]) + len(packer.SHELLS[SCP][2])
    assert f"over by {need - 2 * 5120} characters" in msg


def test_identical_statements_from_two_guardrails_are_kept_once_and_credited_to_both():
    s = {"Sid": "DenyLeave", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}
    result = pack(SCP, "Root", [Unit("a", s, minify(s)), Unit("b", s, minify(s))], 10240, 10)
    assert len(result.bins) == 1 and len(result.bins[0]) == 1
    assert result.sources(0) == ["a", "b"]


def test_tag_policy_entries_pack_as_mapping():
    units_ = [Unit("team-tags", (k, {"tag_key": {"@@assign": k}}), minify(k) + ":" + minify({"tag_key": {"@@assign": k}})) for k in ("team", "environment")]
    result = pack("tag_policies", "Workloads", units_, 10000, 10)
    (doc,) = [json.loads(result.document(0, {}))]
    assert set(doc["tags"]) == {"team", "environment"}


def test_two_guardrails_setting_one_attribute_differently_is_an_error():
    a = ("instance_metadata_defaults", {"http_tokens": {"@@assign": "required"}})
    b = ("instance_metadata_defaults", {"http_tokens": {"@@assign": "optional"}})
    units_ = [Unit(src, t, minify(t[0]) + ":" + minify(t[1])) for src, t in (("ec2-baseline", a), ("ec2-lax", b))]
    with pytest.raises(PackError, match="guardrails 'ec2-baseline' and 'ec2-lax' both set 'instance_metadata_defaults' differently"):
        pack("declarative_policies", "Workloads", units_, 10000, 10)
