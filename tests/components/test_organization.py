"""components/organization.py: the org, its policy types and a nested OU tree."""

import pulumi

from blueprint.config import OrganizationalUnit
from components.organization import Organization, OrganizationArgs
from tests.conftest import by_name, run_component

TREE = [
    OrganizationalUnit(name="Security"),
    OrganizationalUnit(name="Workloads", children=[OrganizationalUnit(name="Prod", children=[OrganizationalUnit(name="Payments")])]),
]


def build():
    org = Organization("t", OrganizationArgs(service_access_principals=["b.amazonaws.com", "a.amazonaws.com"], organizational_units=TREE))
    pulumi.export("ou_paths", sorted(org.ou_ids))


def test_org_is_protected_and_enables_all_policy_types():
    res = by_name(run_component(build))
    org = res["t-org"]
    assert org["protect"] and org["retain_on_delete"]
    assert org["inputs"]["featureSet"] == "ALL"
    assert org["inputs"]["awsServiceAccessPrincipals"] == ["a.amazonaws.com", "b.amazonaws.com"], "sorted: stable diffs"
    assert res["t"]["type"] == "blueprint:organization:Organization"
    assert org["parent"] == res["t"]["urn"]


def test_nested_ous_hang_off_their_parent():
    res = by_name(run_component(build))
    org = res["t-org"]
    sec, wl, prod, pay = (res[f"t-ou-{s}"] for s in ("security", "workloads", "workloads-prod", "workloads-prod-payments"))
    assert sec["inputs"]["parentId"] == wl["inputs"]["parentId"], "top-level OUs share the root"
    assert sec["inputs"]["parentId"].startswith("r-")
    assert prod["inputs"]["parentId"] == wl["id"]
    assert pay["inputs"]["parentId"] == prod["id"]
    assert pay["inputs"]["tags"]["ou-path"] == "Workloads/Prod/Payments"
    assert org["urn"] in sec["dependencies"], "OUs wait for the organization root"
    for ou in (sec, wl, prod, pay):
        assert ou["retain_on_delete"]
