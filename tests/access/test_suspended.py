"""Closing accounts: a decommissioned account in the Suspended OU is locked down by suspended-deny-all.

One plan of prod, closing team checkout the documented way (its `pipeline:` block removed, every
environment in `decommission`), shared by every test here. Before suspended-deny-all, that plan
exited 1: in Suspended, checkout-prod had lost prod's guardrails (prod-cannot-launch-public-ami
was allowed).
"""

from __future__ import annotations

import json

import pytest

from blueprint.access import flows as catalogue
from blueprint.offline import plan as plan_mod
from tests.conftest import REPO, resources_of, stack_raw, write_stack

TEAM = "checkout"
SUSPENDED_SIDS = {"SuspendedAccountDenyAll", "SuspendedAccountForwardsToPlatformBusesOnly"}
CLOSING_ONLY = {f.id for f in catalogue.load() if ("decommissioned", True) in f.where}
# Flows for every account, closing ones included: what roles in a closing account must still do
# (the org trail and Config deliver as AWS services, which SCPs never affect).
STILL_WORKS = ("alert-forwarder-puts-events", "baseline-function-sets-account-defaults", "baseline-function-blocks-public-buckets",
               "break-glass-acts", "suspended-account-platform-cleans-up")
# Flows about an account's normal work: not for an account being closed.
NORMAL_WORK = ("workload-launches-approved-ami", "consumers-decrypt-golden-ami-key", "consumers-grant-ebs-on-golden-ami-key",
               "baseline-grants-autoscaling-on-golden-ami-key", "audit-role-reads-configuration",
               "team-roles-under-the-exempt-paths-are-exempt")


@pytest.fixture(scope="module")
def closing(tmp_path_factory) -> tuple[int, dict]:
    raw = stack_raw("prod")
    team = next(t for t in raw["teams"] if t["name"] == TEAM)
    del team["pipeline"]
    team["decommission"] = list(team["environments"])
    path = write_stack(tmp_path_factory.mktemp("closing") / "Pulumi.closing.yaml", raw)
    code, doc = plan_mod.plan_stack("closing", path)
    assert code != plan_mod.EXIT_CONFIG, doc.get("config_errors")
    return code, doc


def _closing_accounts(doc: dict) -> list[str]:
    return [a["key"] for a in doc["accounts"] if a.get("decommission")]


def _of(doc: dict, flow: str, accounts: list[str] | None = None) -> list[dict]:
    """The flow's instances whose principal is in one of ``accounts`` (labels start with the account key)."""
    return [i for i in doc["flows"] if i["flow"] == flow
            and (accounts is None or any(i["principal"].startswith(f"{a}:") for a in accounts))]


def test_closing_a_team_plans_clean(closing):
    code, doc = closing
    assert code == 0, [f["message"] for f in doc["findings"] if f["severity"] == "mandatory" and not f.get("waived")]
    assert doc["summary"]["flows"]["violations"] == 0
    assert _closing_accounts(doc) == [f"{TEAM}-dev", f"{TEAM}-test", f"{TEAM}-prod"]


def test_the_suspended_ou_gets_the_deny_all_scp_within_limits(closing):
    _, doc = closing
    (g,) = [g for g in doc["guardrails"] if g["type"] == "SERVICE_CONTROL_POLICY" and g["target"] == "Suspended"]
    assert [p["guardrails"] for p in g["policies"]] == [["suspended-deny-all"]]
    assert all(0 < p["chars"] <= g["max_chars"] for p in g["policies"]) and g["slots_used"] <= g["slots_max"]
    ous = {r["id"]: r["inputs"]["name"] for r in resources_of(doc, "aws:organizations/organizationalUnit:OrganizationalUnit")}
    names = {r["id"]: r["inputs"]["name"] for r in resources_of(doc, "aws:organizations/policy:Policy")}
    attached = {names[a["inputs"]["policyId"]] for a in resources_of(doc, "aws:organizations/policyAttachment:PolicyAttachment")
                if ous.get(a["inputs"]["targetId"]) == "Suspended"}
    assert attached == {p["name"] for p in g["policies"]}


def test_prod_guardrail_is_now_held_by_the_deny_all(closing):
    _, doc = closing
    (inst,) = _of(doc, "prod-cannot-launch-public-ami", [f"{TEAM}-prod"])
    assert inst["decision"] == "DENY" and inst["ok"]
    assert inst["layer"] == "scp" and "-scp-suspended-" in inst["policy"] and inst["sid"] == "SuspendedAccountDenyAll"


def test_a_team_admin_in_a_suspended_account_can_do_nothing(closing):
    _, doc = closing
    closing_accounts = _closing_accounts(doc)
    assert {"suspended-admin-cannot-touch-data", "suspended-admin-cannot-launch", "suspended-admin-cannot-change-iam",
            "suspended-admin-cannot-even-read", "suspended-admin-cannot-send-events", "suspended-team-path-roles-cannot-act"} <= CLOSING_ONLY
    for fid in sorted(CLOSING_ONLY):
        insts = _of(doc, fid)
        assert insts, f"{fid} has no instance although {TEAM}'s accounts are decommissioned"
        # Only the closing accounts: the flows select decommissioned: true.
        assert insts == _of(doc, fid, closing_accounts), fid
        assert {a for a in closing_accounts if _of(doc, fid, [a])} == set(closing_accounts), fid
        if fid.startswith(("suspended-admin-", "suspended-team-path-")):
            for i in insts:
                assert i["decision"] == "DENY" and i["ok"], i
                assert i["layer"] == "scp" and "-scp-suspended-" in i["policy"] and i["sid"] in SUSPENDED_SIDS, i
    for action in ("s3:PutObject", "ec2:RunInstances", "iam:CreateRole"):
        assert any(i["action"] == action for fid in CLOSING_ONLY for i in _of(doc, fid)), action


def test_what_a_closing_account_must_still_do_still_works(closing):
    _, doc = closing
    for fid in STILL_WORKS:
        insts = _of(doc, fid, _closing_accounts(doc))
        assert insts and all(i["decision"] == "ALLOW" and i["ok"] for i in insts), fid


def test_normal_work_flows_skip_closing_accounts_only(closing):
    _, doc = closing
    for fid in NORMAL_WORK:
        assert not _of(doc, fid, _closing_accounts(doc)), fid
        assert _of(doc, fid), f"{fid} should still hold for every other account"


def test_the_golden_ami_key_grant_still_runs_in_a_suspended_account():
    # The baseline StackSet still updates suspended accounts; its key-grant custom resource must
    # not answer FAILED there (it counts against the rollout's failure tolerance).
    from blueprint import guardrails
    from blueprint.config import load_file
    from blueprint.images import naming

    values = guardrails.values_for(load_file(REPO / "Pulumi.prod.yaml"), "Suspended")
    assert f"arn:aws:iam::*:role/{naming.KEY_GRANT_ROLE_PREFIX}*" in values["baseline_principal_arns"]
    doc = json.loads((REPO / "policies" / "scp" / "suspended-deny-all.json").read_text())
    assert all("${baseline_principal_arns}" in s["Condition"]["ArnNotLike"]["aws:PrincipalARN"] for s in doc["Statement"])
