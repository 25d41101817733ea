"""components/landing_zone.py: the top component wires organization, accounts and guardrails."""

from tests.conftest import plan_of


def test_component_tree_and_type_tokens():
    _, doc = plan_of("dev")
    comps = {r["name"]: r for r in doc["resources"] if not r["custom"]}
    assert comps["org"]["type"] == "blueprint:landingzone:LandingZone"
    for child, token in (
        ("org-organization", "blueprint:organization:Organization"),
        ("org-accounts", "blueprint:accounts:Accounts"),
        ("org-guardrails", "blueprint:guardrails:Guardrails"),
    ):
        assert comps[child]["type"] == token
        assert comps[child]["parent"] == comps["org"]["urn"]
    # Every custom resource is named after, and parented by, its component.
    urns = {r["urn"]: r for r in doc["resources"]}
    for r in doc["resources"]:
        if r["custom"]:
            parent = urns[r["parent"]]
            assert r["name"].startswith(parent["name"] + "-"), r["name"]


def test_accounts_and_guardrails_use_the_organizations_ids():
    _, doc = plan_of("dev")
    org_ids = {r["id"] for r in doc["resources"] if r["type"].startswith("aws:organizations/organizationalUnit")}
    for r in doc["resources"]:
        if r["type"] == "aws:organizations/account:Account":
            assert r["inputs"]["parentId"] in org_ids
