"""components/providers.py: a constant, small provider budget, whatever the number of teams."""

from __future__ import annotations

import pytest

from components.providers import AccountProviders, AccountProvidersArgs
from tests.conftest import run_component, synthetic_plan


def test_provider_count_is_the_same_for_1_and_100_teams_and_at_most_6():
    counts = {}
    for n in (1, 100):
        code, doc = synthetic_plan(n)
        assert code == 0
        counts[n] = doc["summary"]["providers"]
    assert counts[1] == counts[100] <= 6


def test_providers_assume_the_org_role_and_pin_the_account():
    def build():
        p = AccountProviders("p", AccountProvidersArgs(account_ids={"security": "222222222222"}, role_name="OrganizationAccountAccessRole", region="eu-west-1"))
        p.get("security")
        p.get("security")  # cached: still one provider

    (prov,) = [r for r in run_component(build) if r["type"] == "pulumi:providers:aws"]
    assert "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole" in str(prov["inputs"]["assumeRoles"])
    assert "222222222222" in str(prov["inputs"]["allowedAccountIds"])


def test_no_provider_for_workload_accounts():
    def build():
        AccountProviders("p", AccountProvidersArgs(account_ids={}, role_name="r", region="eu-west-1")).get("payments-prod")

    with pytest.raises(ValueError, match="workload accounts are reached through StackSets"):
        run_component(build)
