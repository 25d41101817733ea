"""The scripted edit cases (`make edit-cases`): every bad input, and the data-safety expectation logic.

The bad-input group runs in full (config errors only: about a second). The data-safety group
plans prod several times, so it is not run here: its cases are covered by test_diff_teams.py,
test_diff_lifecycle.py and test_plan.py; here its counting and verdicts run on synthetic plans.
"""

from __future__ import annotations

import copy

import pytest

from blueprint.offline import data_safety as D
from blueprint.offline import edit_cases as E
from tests.conftest import REPO, stack_raw
from tests.diff_plans import res, synthetic

PROD = REPO / "Pulumi.prod.yaml"
ACCOUNT = "aws:organizations/account:Account"
BUCKET = "aws:s3/bucket:Bucket"


def test_every_bad_input_is_a_configuration_error_naming_where():
    results = E.run_bad_input("prod", PROD)
    assert [r.case for r in results] == list(E.BAD_INPUTS)
    for r in results:
        assert r.problems == [], (r.case, r.problems)
        assert r.plan == 2 and r.message.startswith(("Pulumi.prod.yaml: ", "Pulumi.staging.yaml: ")), r


def test_a_bad_input_that_no_longer_applies_or_says_less_is_reported(monkeypatch):
    monkeypatch.setattr(E, "BAD_INPUTS", {
        "stale": (r"no_such_key: 1", "x", "anything"),
        "vaguer": (r"object_lock_days: \d+", "object_lock_days: yes", r"line \d+, column \d+: "),
    })
    stale, vaguer = E.run_bad_input("prod", PROD)
    assert stale.problems == ["Pulumi.prod.yaml no longer matches /no_such_key: 1/: update this case"] and stale.plan is None
    assert vaguer.plan == 2 and vaguer.problems == [r"no message 'Pulumi.prod.yaml: ' matching /line \d+, column \d+: /"]


def test_check_compares_exact_counts_ranges_and_message():
    r = D.Result("x", plan=0, diff=2, deleted_data=0, left_behind=9, message="teams: team 'checkout' is gone")
    assert D.check({"plan": 0, "deleted_data": 0, "left_behind": (1, None), "message": "is gone"}, r) == []
    assert D.check({"diff": 0, "left_behind": (0, 3), "replaced": 0, "message": "previous_names"}, r) == [
        "diff 2, expected 0", "left_behind 9, expected 0 to 3", "replaced None, expected 0",
        "message should contain 'previous_names', got \"teams: team 'checkout' is gone\""]
    assert D.check({"left_behind": (1, None)}, D.Result("y")) == ["left_behind None, expected at least 1"]


def _account(name: str, team: str, env: str, decommission: bool) -> tuple[dict, dict]:
    """A team account as the plan records it: the resource and its ``accounts`` entry."""
    r = res(ACCOUNT, {"name": name, "closeOnDeletion": decommission}, name=name, protect=True, retain_on_delete=not decommission)
    return r, {"key": name, "name": name, "team": team, "team_name": team, "environment": env, "aliases": [], "decommission": decommission}


def _plan_of(*accounts: tuple[dict, dict], extra: tuple[dict, ...] = ()) -> dict:
    doc = synthetic(*[a[0] for a in accounts], *extra)
    doc["accounts"] = [a[1] for a in accounts]
    return doc


def test_closing_in_two_steps_counts_blocked_accounts_that_close_and_data_left_behind():
    bucket = res(BUCKET, {"bucket": "web-artifacts"}, name="web-artifacts", retain_on_delete=True)
    step1 = _plan_of(_account("web-dev", "web", "dev", True), _account("web-prod", "web", "prod", True), extra=(bucket,))
    r = D.fate("(g2)", 0, synthetic(), (0, step1))
    assert (r.plan, r.diff, r.deleted_data, r.replaced, r.left_behind, r.blocked, r.closing, r.created) == (0, 0, 0, 0, 1, 2, 2, 0)
    assert r.message == "" and "left behind: `web-artifacts` (Bucket)" in r.details
    step2 = {"plan": 0, "diff": 0, "deleted_data": 0, "replaced": 0, "closing": 2, "blocked": 2}
    assert D.check(step2, r) == []


def test_a_team_removed_without_decommission_is_the_diffs_config_error():
    base = _plan_of(_account("web-dev", "web", "dev", False))
    r = D.fate("(a)", 0, synthetic(), (0, base))
    assert (r.diff, r.blocked, r.closing, r.deleted_data) == (2, 1, 0, 0)
    assert r.message.startswith("Pulumi.prod.yaml: teams: team 'web' is gone but its accounts are not decommissioned (web-dev)")
    assert "blocked: `web-dev` (Account): removed from the program; once unprotected on purpose: left behind" in r.details


def test_deletions_count_data_apart_and_a_mandatory_finding_is_the_message():
    from blueprint.offline.diff_lifecycle import data_types

    head = synthetic()
    head["findings"] = [{"rule": "access-flow", "severity": "mandatory", "urn": "", "message": "forbidden flow f is allowed"}]
    roles = [res("aws:iam/role:Role", {"name": n}, name=n) for n in ("r1", "r2")]
    r = D.fate("x", 1, head, (0, synthetic(res(BUCKET, {"bucket": "b"}, name="b"), *roles)))
    assert (r.plan, r.diff, r.deleted_data, r.deleted_other) == (1, 0, 1, 2)
    assert r.details == [f"deleted: `b` (Bucket): it holds {data_types()[BUCKET]}", "deleted, holding no data: 2 (2 Role)"]
    assert r.message == "mandatory finding: forbidden flow f is allowed"


def test_plans_that_stop_give_no_counts():
    rejected = D.fate("x", 2, {"config_errors": ["Pulumi.prod.yaml: teams: bad"]}, (0, synthetic()))
    assert (rejected.diff, rejected.deleted_data, rejected.message) == (2, None, "Pulumi.prod.yaml: teams: bad")
    crashed = D.fate("x", 3, {"internal_error": "internal error (a bug): KeyError: 'k'"}, (0, synthetic()))
    assert crashed.diff is None and crashed.message.startswith("internal error")
    orphan = D.fate("x", 0, synthetic(), (3, {}))
    assert orphan.problems == ["its base plan exited 3"]


def test_the_cases_edit_teams_as_a_user_would():
    teams = [{k: v for k, v in t.items()} for t in copy.deepcopy(stack_raw("prod")["teams"])]
    cases = {c.key: c for c in D.edits(teams)}
    heads = {}
    for key, c in cases.items():
        edited = copy.deepcopy(teams)
        c.edit(edited)
        heads[key] = edited
    checkout = lambda ts, name: next(t for t in ts if t["name"] == name)  # noqa: E731
    assert "pipeline" not in checkout(heads["(b)"], "checkout")
    assert checkout(heads["(c)"], "storefront")["previous_names"] == ["checkout"]
    assert "previous_names" not in checkout(heads["(d)"], "storefront")
    assert checkout(heads["(f)"], "checkout")["decommission"] == ["dev", "test", "prod"]
    assert "pipeline" in checkout(heads["(f)"], "checkout") and "pipeline" not in checkout(heads["(g1)"], "checkout")
    assert heads["(e)"][3]["environments"] == ["test", "prod"]  # data-platform: no pipeline
    # Removing the team, with or without decommissioning first, is one config: one plan serves both.
    assert heads["(a)"] == heads["(g2)"]
    assert cases["(g2)"].base == "(g1)"
    assert teams == stack_raw("prod")["teams"], "the cases edit copies"


def test_the_cases_need_a_team_with_a_pipeline():
    with pytest.raises(D.CaseError, match="no team in secure-org:teams has a pipeline"):
        D.edits([{"name": "web", "environments": ["dev", "prod"]}])
    piped = D.edits([{"name": "web", "environments": ["dev", "test", "prod"], "pipeline": {"source": {"type": "s3"}}}])
    assert piped[0].case == "(a) remove team 'web' (it has a pipeline)"


def test_main_exits_1_naming_a_case_not_as_expected(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(E, "run_data_safety", lambda stack, path: [
        D.Result("(a) good", plan=0, diff=2, message="a | b"), D.Result("(b) bad", plan=3, problems=["plan 3, expected 0"])])
    out = tmp_path / "cases.md"
    assert E.main(["--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "not as expected (1): (b) bad" in captured.err and "Traceback" not in captured.err
    md = out.read_text()
    assert "| (a) good | 0 | 2 | - | - | - | - | - | - | yes | a \\| b |" in md
    assert "| (b) bad | 3 | - | - | - | - | - | - | - | no: plan 3, expected 0 | - |" in md
    assert md.count("| yes |") == 1 + len(E.BAD_INPUTS)


def test_main_on_a_missing_stack_exits_2_without_a_traceback(tmp_path, capsys):
    assert E.main(["--stack", "staging", "--out", str(tmp_path / "x.md")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("edit-cases: Pulumi.staging.yaml: no such stack file") and "Traceback" not in err
