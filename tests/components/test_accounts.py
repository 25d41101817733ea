"""components/accounts.py: no config edit can close, delete or replace an account."""

from blueprint.config import AccountSpec
from components.accounts import REPLACING_FIELDS, Accounts, AccountsArgs
from tests.conftest import by_name, run_component

SPECS = [
    AccountSpec(key="tooling", name="tooling", email="aws+tooling@x.example", ou="Infra", role="tooling"),
    AccountSpec(key="pay-prod", name="pay-prod", email="aws+pay-prod@x.example", ou="Prod", role="workload", team="pay", environment="prod", aliases=("old-prod",)),
    AccountSpec(key="pay-dev", name="pay-dev", email="aws+pay-dev@x.example", ou="Suspended", role="workload", team="pay", environment="dev", decommission=True),
]


def build():
    Accounts(
        "a",
        AccountsArgs(
            accounts=SPECS,
            ou_ids={"Infra": "ou-infra", "Prod": "ou-prod", "Suspended": "ou-susp"},
            org_access_role="OrganizationAccountAccessRole",
            owner_emails={"pay": "lead@x.example"},
            cost_centers={"pay": "CC-1"},
        ),
    )


def test_accounts_are_protected_retained_and_guarded_against_replacement():
    res = by_name(run_component(build))
    for key in ("tooling", "pay-prod"):
        r = res[f"a-{key}"]
        assert r["protect"] and r["retain_on_delete"]
        assert r["inputs"]["closeOnDeletion"] is False
        assert set(REPLACING_FIELDS + ["parentId"]) <= set(r["ignore_changes"])
        assert r["inputs"]["iamUserAccessToBilling"] == "DENY"
    assert res["a-tooling"]["inputs"]["parentId"] == "ou-infra"
    tags = res["a-pay-prod"]["inputs"]["tags"]
    assert (tags["team"], tags["environment"], tags["cost-center"], tags["owner"]) == ("pay", "prod", "CC-1", "lead@x.example")


def test_rename_keeps_the_account_through_an_alias():
    res = by_name(run_component(build))
    assert res["a-pay-prod"]["aliases"] == ["a-old-prod"]


def test_only_a_decommissioned_account_can_move_and_close():
    res = by_name(run_component(build))
    r = res["a-pay-dev"]
    assert r["protect"], "closing still needs an explicit `pulumi state unprotect`"
    assert r["inputs"]["closeOnDeletion"] is True and not r["retain_on_delete"]
    assert "parentId" not in r["ignore_changes"] and r["inputs"]["parentId"] == "ou-susp"
