"""A team or environment that disappears without being decommissioned is a config error (exit 2).

Synthetic plans carry only what the check reads: the recorded ``accounts``. One end-to-end
test runs the diff's command line on saved real plans.
"""

from __future__ import annotations

import json

from blueprint.offline import diff as D
from blueprint.offline import diff_teams as T
from tests import diff_plans
from tests.conftest import stack_raw

README = '(README "Renaming, moving and closing accounts")'


def acct(team: str, env: str, decommission: bool = False, key: str | None = None, aliases: tuple[str, ...] = ()) -> dict:
    """One recorded account; ``key`` is the team's identity when it differs from its name (newer plans)."""
    return {"key": f"{key or team}-{env}", "name": f"{team}-{env}", "team": key or team, "team_name": team,
            "environment": env, "aliases": list(aliases), "decommission": decommission}


def doc(*accounts: dict) -> dict:
    shared = {"key": "log_archive", "name": "log-archive", "team": None, "environment": None, "aliases": [], "decommission": False}
    return {"stack": "prod", "source": "Pulumi.prod.yaml", "resources": [], "accounts": [shared, *accounts]}


BASE = doc(acct("web", "dev"), acct("web", "prod"), acct("mobile", "dev"), acct("mobile", "prod"))


def test_a_removed_team_is_an_error_naming_file_and_key():
    assert T.team_errors(BASE, doc(acct("web", "dev"), acct("web", "prod"))) == [
        "Pulumi.prod.yaml: teams: team 'mobile' is gone but its accounts are not decommissioned (mobile-dev, mobile-prod): "
        f"to rename it, set name: <new> and previous_names: [mobile]; to close it, decommission first {README}"]


def test_a_new_team_in_the_same_change_looks_like_a_rename():
    (error,) = T.team_errors(BASE, doc(acct("web", "dev"), acct("web", "prod"), acct("apps", "dev"), acct("apps", "prod")))
    assert ("to rename it, set name: apps and previous_names: [mobile] "
            "(team 'apps' is new in this change: it looks like a rename of 'mobile')") in error


def test_a_rename_with_previous_names_is_fine():
    # Newer plans: the identity (first previous name) is the team key, the new name is team_name.
    renamed = doc(acct("web", "dev"), acct("web", "prod"), acct("apps", "dev", key="mobile", aliases=("apps-dev",)),
                  acct("apps", "prod", key="mobile", aliases=("apps-prod",)))
    assert T.team_errors(BASE, renamed) == []
    # Older plans: the key is the new name and the old one is an alias.
    older = doc(*[{k: v for k, v in a.items() if k != "team_name"} for a in (
        acct("web", "dev"), acct("web", "prod"), acct("apps", "dev", aliases=("mobile-dev",)), acct("apps", "prod", aliases=("mobile-prod",)))])
    assert T.team_errors(BASE, older) == []


def test_closing_a_decommissioned_team_is_fine():
    closing = doc(acct("web", "dev"), acct("web", "prod"), acct("mobile", "dev", True), acct("mobile", "prod", True))
    assert T.team_errors(closing, doc(acct("web", "dev"), acct("web", "prod"))) == []
    half = doc(acct("web", "dev"), acct("web", "prod"), acct("mobile", "dev", True), acct("mobile", "prod"))
    (error,) = T.team_errors(half, doc(acct("web", "dev"), acct("web", "prod")))
    assert "not decommissioned (mobile-prod)" in error


def test_an_environment_dropped_without_decommission_is_an_error():
    (error,) = T.team_errors(BASE, doc(acct("web", "dev"), acct("mobile", "dev"), acct("mobile", "prod")))
    assert error == ("Pulumi.prod.yaml: teams[0].environments: team 'web' no longer lists 'prod' but its account 'web-prod' "
                     "is not decommissioned: to close it, put 'prod' back and list it in teams[0].decommission first, "
                     f"then remove it in a later change {README}")
    decommissioned = doc(acct("web", "dev"), acct("web", "prod", True), acct("mobile", "dev"), acct("mobile", "prod"))
    assert T.team_errors(decommissioned, doc(acct("web", "dev"), acct("mobile", "dev"), acct("mobile", "prod"))) == []


def test_no_base_plan_has_no_team_errors():
    assert T.team_errors(None, BASE) == []


def test_the_diff_exits_2_on_a_removed_team_and_still_writes_the_diff(tmp_path, capsys):
    raw = stack_raw("prod")
    raw["teams"] = [t for t in raw["teams"] if t["name"] != "mobile"]
    _, head = diff_plans.plan(raw)
    _, base = diff_plans.plan(stack_raw("prod"))
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "head.json").write_text(json.dumps(head))
    code = D.main(["--stack", "prod", "--base-plan", str(tmp_path / "base.json"), "--head-plan", str(tmp_path / "head.json"),
                   "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "configuration rejected by the diff (1 problems):" in err
    assert "Pulumi.prod.yaml: teams: team 'mobile' is gone but its accounts are not decommissioned (mobile-dev, mobile-prod)" in err
    written = json.loads((tmp_path / "out" / "diff-prod.json").read_text())
    assert len(written["config_errors"]) == 1 and written["summary"]["blocked"] == 2


def test_reordering_previous_names_would_change_the_identity_and_is_an_error():
    # mobile -> apps -> phones, but written previous_names: [apps, mobile]: the identity becomes 'apps'.
    base = doc(acct("web", "dev"), acct("web", "prod"), acct("apps", "dev", key="mobile"), acct("apps", "prod", key="mobile"))
    head = doc(acct("web", "dev"), acct("web", "prod"), acct("phones", "dev", key="apps", aliases=("mobile-dev", "phones-dev")),
               acct("phones", "prod", key="apps", aliases=("mobile-prod", "phones-prod")))
    assert T.team_errors(base, head) == [
        "Pulumi.prod.yaml: teams[1].previous_names: team 'phones' would change its identity from 'mobile' to 'apps', replacing "
        "every resource named after it: keep 'mobile' first in previous_names (oldest first; never reorder or remove an entry)"]
    right = doc(acct("web", "dev"), acct("web", "prod"), acct("phones", "dev", key="mobile", aliases=("apps-dev", "phones-dev")),
                acct("phones", "prod", key="mobile", aliases=("apps-prod", "phones-prod")))
    assert T.team_errors(base, right) == []


def test_a_plan_stopped_early_still_records_its_accounts():
    # A head that stops on a quota or guardrail limit must not read as "every team removed".
    from blueprint.offline.plan import plan_stack
    raw = stack_raw("prod")
    raw["organization"]["policy_limits"] = {"service_control_policy": {"max_chars": 1000, "max_per_target": 5}}
    code, head = diff_plans.plan(raw)
    assert code == 1 and not head["resources"] and head["accounts"]
    assert T.team_errors(diff_plans.plan(stack_raw("prod"))[1], head) == []
