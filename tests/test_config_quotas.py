"""Organization-wide quotas counted from config agree with what the plan counts, and stop a plan early."""

from __future__ import annotations

from blueprint import guardrails
from blueprint.access.check import assemble
from blueprint.config import load_file, parse
from blueprint.offline import quotas
from tests.conftest import REPO, plan_of, stack_raw

ORG_WIDE = ("organizations-accounts", "organizations-ous", "organizations-policies-per-type")


def test_config_counts_are_the_plans_counts():
    code, doc = plan_of("prod")
    assert code == 0
    cfg = load_file(REPO / "Pulumi.prod.yaml")
    from_config = quotas.config_usage(cfg, guardrails.plan(cfg))
    from_plan = quotas.usage(doc, assemble(doc).model)
    for qid in ORG_WIDE:
        assert from_config[qid] == from_plan[qid], qid
    assert from_config["organizations-policies-per-type"]["TAG_POLICY"] == len(cfg.teams) + 1  # one per team, one shared


def test_one_team_too_many_is_a_mandatory_finding():
    raw = stack_raw("dev")
    raw["organization"]["quotas"] = {"organizations-accounts": 10000}
    base = {k: v for k, v in raw["teams"][0].items() if k != "pipeline"}
    raw["teams"] = [dict(base, name=f"team-{i:02d}", owner_email=f"t{i}@acme.example") for i in range(20)]  # tag policies the most numerous
    cfg = parse(raw, "x")
    planned = guardrails.plan(cfg)
    per_type = quotas.config_usage(cfg, planned)["organizations-policies-per-type"]
    assert not [f for f in quotas.config_check(cfg, planned) if f["severity"] == "mandatory"]
    # The same organization with the tag-policy quota exactly used, then one over.
    raw["organization"]["quotas"]["organizations-policies-per-type"] = per_type["TAG_POLICY"]
    assert not [f for f in quotas.config_check(parse(raw, "x"), planned) if f["severity"] == "mandatory"]
    raw["organization"]["quotas"]["organizations-policies-per-type"] = per_type["TAG_POLICY"] - 1
    (over,) = [f for f in quotas.config_check(parse(raw, "x"), planned) if f["severity"] == "mandatory"]
    assert over["rule"] == "quota-organizations-policies-per-type" and over["message"].startswith("TAG_POLICY: ")
