"""The plan diff a reviewer reads on a pull request: security-relevant changes first.

Base and head plans are built in-process from temporary stack files; one end-to-end test
drives `python -m blueprint.offline.diff` against a throwaway git repository.
"""

from __future__ import annotations

import copy
import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from blueprint import policies
from blueprint.offline import diff as D
from tests import diff_plans
from tests.conftest import REPO, stack_raw

ACCOUNT = "aws:organizations/account:Account"
POLICY = "aws:organizations/policy:Policy"
ATTACH = "aws:organizations/policyAttachment:PolicyAttachment"
ENABLER = "aws:inspector2/enabler:Enabler"

NEW_TEAM = {"name": "search", "owner_email": "search-lead@acme.example", "cost_center": "CC-4001", "environments": ["dev", "test", "prod"]}


@pytest.fixture(scope="module")
def planner():
    """plan(raw) -> plan document of the prod stack with that config (must be clean).

    Plans are memoized for the session by config (tests/diff_plans.py, shared with the other
    diff tests); each call returns a fresh copy. ``cache=False`` for patched policies.
    """

    def plan(raw: dict, stack: str = "prod", cache: bool = True, flow_violations: set[str] = frozenset()) -> dict:
        """A plan must be clean, except for the access-flow violations a test expects (a weakened
        guardrail now breaks the flows it protected, and the plan says so)."""
        code, doc = diff_plans.plan(raw, stack, cache=cache)
        if flow_violations:
            assert {i["flow"] for i in doc["flows"] if not i["ok"]} == set(flow_violations)
            assert all(f["rule"] == "access-flow" for f in doc["findings"] if f["severity"] == "mandatory")
        else:
            assert code == 0, doc.get("config_errors") or doc["findings"]
        return doc

    return plan


@pytest.fixture(scope="module")
def base(planner) -> dict:
    return planner(stack_raw("prod"))


def names(items: list[dict]) -> set[str]:
    return {i["label"] for i in items}


def by_label(items: list[dict], label: str) -> dict:
    (found,) = [i for i in items if i["label"] == label]
    return found


# --- the pure core ---------------------------------------------------------------------


def test_identical_plans_show_nothing(base):
    d = D.diff_plans(base, copy.deepcopy(base))
    assert d["summary"]["added"] == d["summary"]["removed"] == d["summary"]["changed"] == 0
    assert d["security"] == []
    assert "### Security-relevant changes\n\nNone." in D.markdown(d, base)


def test_adding_a_team_shows_only_additions(planner, base):
    """Onboarding adds the team's accounts, its own tag policy and attachments, and its
    Inspector enablers; no existing resource changes (shared policies hold no team lists)."""
    raw = stack_raw("prod")
    raw["teams"].append(NEW_TEAM)
    head = planner(raw)
    d = D.diff_plans(base, head)

    assert d["removed"] == [] and d["renamed"] == [] and d["changed"] == []
    accounts = {i["label"] for i in d["added"] if i["type"] == ACCOUNT}
    assert accounts == {"search-dev", "search-test", "search-prod"}
    assert {i["type"] for i in d["added"]} == {ACCOUNT, POLICY, ATTACH, ENABLER}
    tag = [i for i in d["added"] if i["type"] == POLICY]
    assert len(tag) == 1 and "team-search" in tag[0]["label"]
    assert d["summary"]["security"]["critical"] == d["summary"]["security"]["high"] == 0
    md = D.markdown(d)
    assert "**0 critical**" in md


def test_dropping_a_guardrail_from_an_ou_comes_first_with_its_statements(planner, base):
    raw = stack_raw("prod")
    raw["guardrails"]["service_control_policies"]["Root"].remove("deny-iam-users")
    d = D.diff_plans(base, planner(raw, flow_violations={"team-cannot-create-iam-users"}))
    # The access model names what the dropped guardrail protected, before any statement diff.
    assert {c["flow"] for c in d["flows"]} == {"team-cannot-create-iam-users"}
    assert all(c["change"] == "newly allowed" and not c["ok"] for c in d["flows"])

    first = d["security"][0]
    assert (first["type"], first["severity"], first["category"]) == (POLICY, "critical", "guardrail")
    removed = [s for s in first["statements"] if s["op"] == "removed"]
    assert [s["key"] for s in removed] == ["DenyIamUsersAndLongLivedKeys"]
    assert removed[0]["severity"] == "critical"
    assert any("guardrail weakened" in n["text"] and "DenyIamUsersAndLongLivedKeys" in n["text"] for n in first["notes"])
    # Repacking the rest of Root's statements is reported, but not as a weakening.
    others = [i for i in d["security"][1:] if i["type"] == POLICY]
    assert all(i["severity"] == "normal" for i in others)
    assert d["summary"]["security"]["critical"] == 1

    md = D.markdown(d)
    section = md.split("### Security-relevant changes", 1)[1].split("### Other changes", 1)[0]
    assert section.index(first["label"]) < min((section.index(i["label"]) for i in others), default=len(section))
    assert "Statement `DenyIamUsersAndLongLivedKeys` removed (critical)" in section
    assert '-   "Sid": "DenyIamUsersAndLongLivedKeys",' in section


def test_removing_an_action_from_an_scp_document_is_a_statement_level_critical(planner, base, monkeypatch):
    real = policies._load_text

    def edited(kind: str, gid: str) -> str:
        text = real(kind, gid)
        if gid != "deny-iam-users":
            return text
        doc = json.loads(text)
        doc["Statement"][0]["Action"].remove("iam:CreateAccessKey")
        return json.dumps(doc)

    monkeypatch.setattr(policies, "_load_text", edited)
    d = D.diff_plans(base, planner(stack_raw("prod"), cache=False, flow_violations={"team-cannot-create-iam-users"}))
    assert {(c["flow"], c["action"]) for c in d["flows"]} == {("team-cannot-create-iam-users", "iam:CreateAccessKey")}

    first = d["security"][0]
    assert first["type"] == POLICY and first["severity"] == "critical"
    (stmt,) = [s for s in first["statements"] if s["op"] != "moved" and s["op"] != "moved-out"]
    assert stmt["key"] == "DenyIamUsersAndLongLivedKeys" and stmt["op"] == "changed"
    assert stmt["lines"] == ["- DenyIamUsersAndLongLivedKeys.Action[]: iam:CreateAccessKey"]
    assert "no longer denies Action `iam:CreateAccessKey`" in first["notes"][0]["text"]
    assert d["summary"]["changed"] == 1 and d["summary"]["added"] == d["summary"]["removed"] == 0


def test_removing_a_team_is_critical_and_a_config_error(planner, base):
    raw = stack_raw("prod")
    raw["teams"] = [t for t in raw["teams"] if t["name"] != "mobile"]
    d = D.diff_plans(base, planner(raw))

    removed_accounts = [i for i in d["removed"] if i["type"] == ACCOUNT]
    assert names(removed_accounts) == {"mobile-dev", "mobile-prod"}
    for item in removed_accounts:
        assert item["severity"] == "critical"
        assert {n["category"] for n in item["notes"]} >= {"account", "protection"}
    critical = [i for i in d["security"] if i["severity"] == "critical"]
    assert {"mobile-dev", "mobile-prod"} <= names(critical)
    assert d["security"][: len(critical)] == critical, "critical items come first"
    assert d["changed"] == [], "the team's own policies and enablers go with it; nothing shared changes"
    # Protected accounts stop `pulumi up`; the team was not decommissioned, so the change is an error.
    assert {e["label"] for e in d["lifecycle"]["blocked"]} == {"mobile-dev", "mobile-prod"}
    assert [e.split(": teams: ")[1].split(":")[0] for e in d["config_errors"]] == [
        "team 'mobile' is gone but its accounts are not decommissioned (mobile-dev, mobile-prod)"]
    md = D.markdown(d, base)
    assert "`mobile-dev` (Account)" in md
    assert md.index("**Configuration errors in this change**") < md.index("### Would be deleted or replaced") < md.index("### Security-relevant")


def test_removing_protection_is_critical(base):
    head = copy.deepcopy(base)
    acct = next(r for r in head["resources"] if r["type"] == ACCOUNT and r["inputs"]["name"] == "payments-prod")
    acct["protect"] = False
    acct["retain_on_delete"] = False
    acct["ignore_changes"] = [f for f in acct["ignore_changes"] if f != "email"]
    acct["inputs"]["closeOnDeletion"] = True
    d = D.diff_plans(base, head)

    (item,) = d["security"]
    assert item["label"] == "payments-prod" and item["severity"] == "critical"
    texts = " | ".join(n["text"] for n in item["notes"] if n["severity"] == "critical")
    for expected in ("protection removed", "retain_on_delete", "`ignore_changes` no longer covers `email`", "closeOnDeletion"):
        assert expected in texts


def test_a_detached_guardrail_is_critical(planner, base):
    raw = stack_raw("prod")
    del raw["guardrails"]["service_control_policies"]["Sandbox"]
    d = D.diff_plans(base, planner(raw))

    removed = {i["type"]: i for i in d["removed"]}
    assert removed[POLICY]["severity"] == "critical" and removed[ATTACH]["severity"] == "critical"
    assert any("guardrail detached" in n["text"] and "Sandbox" in n["text"] for n in removed[ATTACH]["notes"])
    assert {i["severity"] for i in d["security"][:2]} == {"critical"}


def test_a_new_team_break_glass_role_changes_no_shared_guardrail(planner, base):
    """Team roles are exempted by path, named once: a new team with one widens nothing shared."""
    raw = stack_raw("prod")
    raw["teams"].append(NEW_TEAM | {"break_glass_roles": ["SearchIncident"]})
    d = D.diff_plans(base, planner(raw))
    assert not [i for i in d["security"] if i["severity"] == "critical"]
    assert not [i for i in d["changed"] + d["removed"] if i["type"] == POLICY]


def test_allowing_another_region_weakens_the_region_guardrail(planner, base):
    raw = stack_raw("prod")
    raw["organization"]["allowed_regions"].append("eu-north-1")
    d = D.diff_plans(base, planner(raw))
    texts = [n["text"] for i in d["security"] if i["severity"] == "critical" for n in i["notes"]]
    assert any("DenyOutsideAllowedRegions" in t and "gains `eu-north-1`" in t for t in texts)


def test_renaming_a_team_keeps_every_resource(planner, base):
    """A team renamed with previous_names keeps its identity: nothing is deleted, replaced or
    re-created; its accounts keep their ids, so no guardrail that names them changes."""
    raw = stack_raw("prod")
    team = next(t for t in raw["teams"] if t["name"] == "mobile")
    team["name"], team["previous_names"] = "apps", ["mobile"]
    d = D.diff_plans(base, planner(raw))

    assert d["added"] == [] and d["removed"] == []
    assert (d["summary"]["deleted"], d["summary"]["replaced"], d["summary"]["blocked"], d["summary"]["left_behind"]) == (0, 0, 0, 0)
    assert d["config_errors"] == []
    accounts = {i["label"] for i in d["changed"] if i["type"] == ACCOUNT}
    assert accounts == {"apps-dev", "apps-prod"}
    # Only the account names, emails and team tag change (ignored by `pulumi up` where they
    # could replace an account); the team's own tag policy now allows the new name.
    changed_policies = [i for i in d["changed"] if i["type"] == POLICY]
    assert all("-tag-team-" in i["label"] for i in changed_policies), [i["label"] for i in changed_policies]
    assert all(i["severity"] != "critical" for i in d["security"])


def test_renaming_a_shared_account_keeps_its_id(planner, base):
    """Offline account ids come from the logical name (the config key), not the display name:
    renaming the log-archive account changes its name and email only, raises nothing critical."""
    raw = stack_raw("prod")
    raw["shared_accounts"]["log_archive"]["name"] = "audit-logs"
    head = planner(raw)
    ids = {r["urn"]: r["id"] for r in base["resources"] if r["type"] == ACCOUNT}
    assert {r["urn"]: r["id"] for r in head["resources"] if r["type"] == ACCOUNT} == ids
    d = D.diff_plans(base, head)

    assert [(i["label"], i["type"]) for i in d["changed"]] == [("audit-logs", ACCOUNT)]
    assert d["summary"]["security"]["critical"] == 0
    assert (d["summary"]["deleted"], d["summary"]["replaced"]) == (0, 0), "name and email are ignore_changes"


def test_a_base_planned_by_older_mocks_maps_account_ids_by_urn(base):
    """A base plan whose stand-in account ids differ (older mocks derived them from names) is the
    same organization: the diff matches accounts by URN, so nothing that names them changes."""
    old = copy.deepcopy(base)
    acct = next(r for r in old["resources"] if r["type"] == ACCOUNT and r["name"].endswith("log_archive"))
    text = json.dumps(old).replace(acct["id"], "999999999999")
    d = D.diff_plans(json.loads(text), base)
    assert d["summary"]["changed"] == d["summary"]["added"] == d["summary"]["removed"] == 0


def test_no_base_plan_counts_everything_as_added(base):
    d = D.diff_plans(None, base)
    assert d["base"]["status"] == "missing"
    assert d["summary"]["added"] == len(base["resources"]) and d["summary"]["removed"] == 0
    assert "**No base plan**" in D.markdown(d, base)


def test_markdown_highlights_changed_nodes_in_the_org_diagram(planner, base):
    raw = stack_raw("prod")
    raw["teams"].append(NEW_TEAM)
    head = planner(raw)
    d = D.diff_plans(base, head)
    md = D.markdown(d, head)
    assert md.index("### Security-relevant changes") < md.index("### Other changes") < md.index("```mermaid")
    assert "classDef added" in md and "lg_added" in md  # styled, with a legend
    added_line = next(ln for ln in md.splitlines() if ln.strip().startswith("class ") and ln.strip().endswith(" added"))
    new_nodes = [ln.split("(")[0].strip() for ln in md.splitlines() if '("search-' in ln]
    assert len(new_nodes) == 3 and all(n in added_line.split()[1].split(",") for n in new_nodes)


def test_markdown_fits_a_pr_comment(planner, base):
    raw = stack_raw("prod")
    raw["teams"].append(NEW_TEAM | {"break_glass_roles": ["SearchIncident"]})
    head = planner(raw)
    d = D.diff_plans(base, head)
    text = D.fit(d, head, 4000)
    assert len(text) <= 4000 and "Left out to stay within 4,000 characters" in text
    assert text.count("```") % 2 == 0 and text.count("<details>") == text.count("</details>")
    # Whole blocks only: every table row that starts also ends.
    assert all(line.rstrip().endswith("|") for line in text.splitlines() if line.startswith("|"))


# --- statement analysis ----------------------------------------------------------------


def stmt(**kw) -> dict:
    return {"Sid": "S", "Effect": "Allow", **kw}


@pytest.mark.parametrize(
    "kind, before, after, severity, words",
    [
        ("trust", stmt(Principal={"Service": "ec2.amazonaws.com"}, Action="sts:AssumeRole"),
         stmt(Principal={"Service": "ec2.amazonaws.com", "AWS": "arn:aws:iam::999999999999:root"}, Action="sts:AssumeRole"),
         "critical", "trust widened: `S` new principal(s) `AWS:arn:aws:iam::999999999999:root`"),
        ("trust", stmt(Principal={"AWS": "arn:aws:iam::1:root"}), stmt(Principal="*"), "critical", "`*`"),
        ("trust", stmt(Principal={"AWS": "a"}, Condition={"StringEquals": {"sts:ExternalId": "x"}}), stmt(Principal={"AWS": "a"}),
         "critical", "condition `StringEquals` `sts:ExternalId` removed"),
        ("guardrail", stmt(Effect="Deny", Action=["a:X", "a:Y"]), stmt(Effect="Deny", Action="a:X"), "critical", "no longer denies Action `a:Y`"),
        ("guardrail", stmt(Effect="Deny", Action="a:X"), stmt(Effect="Deny", Action=["a:X", "a:Y"]), "normal", "Action added"),
        ("guardrail", stmt(Effect="Deny", Action="*", Condition={"ArnNotLike": {"aws:PrincipalARN": ["r1"]}}),
         stmt(Effect="Deny", Action="*", Condition={"ArnNotLike": {"aws:PrincipalARN": ["r1", "r2"]}}), "critical", "exemption widened"),
        ("guardrail", stmt(Effect="Deny", Action="*"), stmt(Effect="Deny", Action="*", Condition={"Bool": {"aws:ViaAWSService": "false"}}),
         "critical", "applies in fewer cases"),
        ("guardrail", stmt(Effect="Deny", Action="kms:ScheduleKeyDeletion", Condition={"NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": "30"}}),
         stmt(Effect="Deny", Action="kms:ScheduleKeyDeletion", Condition={"NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": "7"}}),
         "high", "changed"),
        ("resource", stmt(Effect="Deny", Principal="*", Action="s3:*", Condition={"Bool": {"aws:SecureTransport": "false"}}), None,
         "critical", "deny weakened: statement `S` removed"),
        ("guardrail", stmt(Effect="Deny", Action="a:X"), stmt(Effect="Allow", Action="a:X"), "critical", "from Deny to Allow"),
        ("identity", None, stmt(Action="*", Resource="*"), "critical", "allows every action"),
        ("identity", None, stmt(Action=["s3:*"], Resource="*"), "critical", "`s3:*` on every resource"),
        ("identity", None, stmt(Action="codepipeline:ListPipelines", Resource="*"), "high", "Allow statement `S` added"),
    ],
)
def test_statement_analysis(kind, before, after, severity, words):
    notes = D.analyze_statement("S", before, after, kind)
    top = min(notes, key=lambda n: D.RANK[n[0]])
    assert top[0] == severity, notes
    assert any(words in text for _, text in notes), notes


def test_merged_statements_are_not_a_weakening():
    u0 = {"Sid": "A", "Effect": "Deny", "Action": ["x:A"], "Resource": "*"}
    merged = {"Sid": "AB", "Effect": "Deny", "Action": ["x:A", "x:B"], "Resource": "*"}
    notes = D.analyze_unit("SERVICE_CONTROL_POLICY", "A", u0, None, [merged])
    assert [n[0] for n in notes] == ["normal"] and "still denied" in notes[0][1]


def test_json_diff_matches_statements_by_sid_and_treats_scalars_as_lists():
    a = {"Statement": [{"Sid": "One", "Action": "s3:GetObject"}, {"Sid": "Two", "Action": ["a", "b"]}]}
    b = {"Statement": [{"Sid": "Two", "Action": ["b", "a", "c"]}, {"Sid": "One", "Action": ["s3:GetObject"]}]}
    assert D.json_diff(a, b) == [{"path": "Statement[Two].Action[]", "op": "added", "after": "c"}]


def test_trust_policy_change_on_a_role_is_flagged(base):
    head = copy.deepcopy(base)
    role = next(r for r in head["resources"] if r["type"] == "aws:iam/role:Role")
    doc = json.loads(role["inputs"]["assumeRolePolicy"])
    doc["Statement"][0]["Principal"] = {"AWS": "*"}
    role["inputs"]["assumeRolePolicy"] = json.dumps(doc)
    d = D.diff_plans(base, head)
    (item,) = d["security"]
    assert item["category"] == "trust" and item["severity"] == "critical"
    assert any(ln.startswith("+ assumeRolePolicy.Statement") for ln in item["lines"])


# --- the git path, end to end -----------------------------------------------------------

GIT = ["git", "-c", "user.name=diff-test", "-c", "user.email=diff-test@example.invalid", "-c", "commit.gpgsign=false",
       "-c", "init.defaultBranch=main"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def _run_diff(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")} | {"PYTHONPATH": str(repo)}
    return subprocess.run([sys.executable, "-m", "blueprint.offline.diff", *args], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def git_repo(tmp_path_factory) -> Path:
    """A throwaway repository of the working tree: README only, then the project, then a stack edit."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    listing = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, text=True)
    if listing.returncode != 0:
        pytest.skip(f"the project is not a git checkout: {listing.stderr.strip()}")
    repo = tmp_path_factory.mktemp("repo")
    listed = listing.stdout.split("\0")
    files = [f for f in listed if f and (REPO / f).is_file()]
    _git(repo, "init", "-q")
    shutil.copy2(REPO / "README.md", repo / "README.md")
    _git(repo, "add", "README.md")
    _git(repo, "commit", "-q", "-m", "readme only: no stack file, no planner")
    for f in files:
        (repo / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / f, repo / f)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "the project")
    stack = repo / "Pulumi.dev.yaml"
    text = stack.read_text()
    assert "        - deny-iam-users\n" in text
    stack.write_text(text.replace("        - deny-iam-users\n", "", 1))
    _git(repo, "commit", "-q", "-am", "dev: drop deny-iam-users from Root")
    return repo


def test_make_diff_against_the_previous_commit(git_repo):
    done = _run_diff(git_repo, "--stack", "dev", "--base", "HEAD~1")
    assert done.returncode == 0, done.stderr
    assert "security-relevant: 1 critical" in done.stdout
    md = (git_repo / "build" / "diff-dev.md").read_text()
    assert md.startswith("## Plan diff: `dev` (`HEAD~1` @ `")
    security = md.split("### Security-relevant changes", 1)[1].split("### Other changes", 1)[0]
    # Flows whose decision flips come first (the dropped statement let team admins create users),
    # then the policy change itself.
    flows_block, first_block = security.split("#### ", 3)[1:3]
    assert flows_block.startswith("Access flows whose decision changes") and "team-cannot-create-iam-users" in flows_block
    assert re.match(r"🔴 critical: changed `acme-rehearsal-scp-root-\d`", first_block)  # whichever policy held it
    assert "Statement `DenyIamUsersAndLongLivedKeys` removed (critical)" in first_block
    assert "```mermaid" in md and "class " in md
    doc = json.loads((git_repo / "build" / "diff-dev.json").read_text())
    assert doc["base"]["status"] == "ok" and doc["base"]["ref"] == "HEAD~1"
    assert doc["security"][0]["severity"] == "critical"
    # The temporary worktree is gone and the checkout untouched.
    assert _git(git_repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert _git(git_repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_a_base_without_the_stack_or_planner_is_no_base_plan(git_repo):
    done = _run_diff(git_repo, "--stack", "dev", "--base", "HEAD~2", "--out", str(git_repo / "build" / "old"))
    assert done.returncode == 0, done.stderr
    assert "no base plan" in done.stdout
    md = (git_repo / "build" / "old" / "diff-dev.md").read_text()
    assert "**No base plan**: `Pulumi.dev.yaml` does not exist at HEAD~2" in md
    doc = json.loads((git_repo / "build" / "old" / "diff-dev.json").read_text())
    assert doc["summary"]["removed"] == 0 and doc["summary"]["added"] > 50
    assert _git(git_repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_an_unknown_ref_is_an_operational_error(git_repo):
    done = _run_diff(git_repo, "--stack", "dev", "--base", "no-such-ref", "--out", str(git_repo / "build" / "bad"))
    assert done.returncode == 2
    assert "unknown git ref 'no-such-ref'" in done.stderr
    assert not (git_repo / "build" / "bad").exists()


def test_adding_a_team_with_a_pipeline_shows_only_additions(planner, base):
    """Pipelines are per team too: the shared deploy-roles StackSet only gains instances."""
    raw = stack_raw("prod")
    team = dict(NEW_TEAM, pipeline={
        "source": {"type": "codecommit", "repository": "search"},
        "approvers": ["search-lead@acme.example"],
        "dast_target_url": "https://staging.search.acme.example",
    })
    raw["teams"].append(team)
    d = D.diff_plans(base, planner(raw))
    assert d["removed"] == [] and d["changed"] == []
    added_types = {i["type"] for i in d["added"]}
    assert {"aws:codepipeline/pipeline:Pipeline", "aws:cloudformation/stackSetInstance:StackSetInstance"} <= added_types


def test_readme_onboarding_example_is_additions_only_new_accounts_first(planner, base):
    """The README's onboarding block (team with break-glass role and pipeline) changes nothing shared."""
    import re

    import yaml

    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    team = yaml.safe_load(next(b for b in blocks if b.lstrip().startswith("- name:")))[0]
    team["pipeline"] = yaml.safe_load(next(b for b in blocks if b.lstrip().startswith("pipeline:")))["pipeline"]
    assert team["break_glass_roles"], "the example exercises a team break-glass role"
    raw = stack_raw("prod")
    raw["teams"].append(team)
    d = D.diff_plans(base, planner(raw))
    s = d["summary"]
    assert (s["removed"], s["changed"], s["renamed"]) == (0, 0, 0) and s["added"] > 0
    assert s["security"]["critical"] == 0
    assert not d["flows"], "no existing flow changes its decision"
    md = D.markdown(d)
    assert md.index("### New accounts and teams") < md.index("### Security-relevant changes")
    section = md.split("### New accounts and teams", 1)[1].split("###", 1)[0]
    assert f"| `{team['name']}-prod` | {team['name']} | prod |" in section
    assert "additions only, nothing shared changes." in section
