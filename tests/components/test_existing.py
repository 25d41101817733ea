"""Adopting an existing organization through config (`secure-org:existing`), not hand-typed URNs."""

from __future__ import annotations

import pytest

from blueprint.config import ConfigError, parse
from blueprint.offline.plan import plan_stack
from tests.conftest import stack_raw, write_stack

EXISTING = {
    "organization_id": "o-a1b2c3d4e5",
    "organizational_units": {"Security": "ou-ab12-cdef3456", "Workloads/Prod": "ou-ab12-prod0001"},
    "accounts": {"log_archive": "123456789012", "payments-prod": "210987654321"},
}


@pytest.fixture(scope="module")
def adopted(tmp_path_factory):
    raw = stack_raw("dev")
    raw["existing"] = EXISTING
    path = write_stack(tmp_path_factory.mktemp("existing") / "Pulumi.adopt.yaml", raw)
    code, doc = plan_stack("adopt", path)
    assert code == 0, doc.get("config_errors") or [f["message"] for f in doc["findings"]]
    return doc


def _by_name(doc: dict) -> dict:
    return {r["name"]: r for r in doc["resources"]}


def test_existing_resources_are_imported_with_their_ids(adopted):
    r = _by_name(adopted)
    assert r["org-organization-org"]["import_id"] == "o-a1b2c3d4e5"
    assert r["org-organization-org"]["id"] == "o-a1b2c3d4e5"
    assert r["org-organization-ou-security"]["import_id"] == "ou-ab12-cdef3456"
    assert r["org-organization-ou-workloads-prod"]["import_id"] == "ou-ab12-prod0001"
    assert r["org-accounts-log_archive"]["import_id"] == "123456789012"
    assert r["org-accounts-payments-prod"]["import_id"] == "210987654321"
    # Everything else is created as usual, and adopted accounts stay protected and retained.
    assert r["org-accounts-security"]["import_id"] == ""
    assert r["org-accounts-log_archive"]["protect"] and r["org-accounts-log_archive"]["retain_on_delete"]
    # What targets an adopted account uses its real id (the deploy roles of payments-prod).
    targets = [x["inputs"]["deploymentTargets"]["accounts"] for x in adopted["resources"]
               if x["type"] == "aws:cloudformation/stackSetInstance:StackSetInstance" and x["name"].endswith("payments-prod-us-east-1")]
    assert targets == [["210987654321"]]


def test_no_import_without_the_config():
    _, doc = __import__("tests.conftest", fromlist=["plan_of"]).plan_of("dev")
    assert all(r.get("import_id", "") == "" for r in doc["resources"])


def test_bad_existing_ids_are_config_errors_naming_the_key():
    raw = stack_raw("dev")
    raw["existing"] = {"organization_id": "org-1", "organizational_units": {"Workload": "ou-ab12-cdef3456"},
                       "accounts": {"payments-stage": "123456789012", "tooling": "12345", "security": "123456789012",
                                    "log_archive": "123456789012"}}
    with pytest.raises(ConfigError) as err:
        parse(raw, "Pulumi.dev.yaml")
    text = "\n".join(err.value.lines())
    assert "existing.organization_id: 'org-1' is not an AWS organization id: expected 'o-' and 10 to 32" in text
    assert "existing.accounts.tooling: '12345' is not an AWS account id: expected twelve digits" in text
    assert "^" not in text, "no raw regular expressions in messages"
    assert "existing.organizational_units.Workload: unknown OU 'Workload' (did you mean 'Workloads'?)" in text
    assert "existing.accounts.payments-stage: no account 'payments-stage' in this stack" in text
    assert "account id 123456789012 is given for more than one account" in text
