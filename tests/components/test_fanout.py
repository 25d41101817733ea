"""components/fanout.py and the account baseline: AWS's engine reaches every account."""

from __future__ import annotations

import json

from blueprint.baseline.account_template import PARAMETERS
from blueprint.config import load_file
from tests.conftest import REPO
from tests.conftest import resources_of as _resources_of


def resources_of(plan, type_):
    """The account baseline's StackSet, instances and stacks (pipelines have a StackSet of their own)."""
    return [r for r in _resources_of(plan, type_) if r["name"].startswith("org-baseline-accounts-")]


def test_baseline_stackset_is_service_managed_and_auto_deploys(plan):
    cfg = load_file(REPO / f"Pulumi.{plan['stack']}.yaml")
    (ss,) = resources_of(plan, "aws:cloudformation/stackSet:StackSet")
    i = ss["inputs"]
    assert i["permissionModel"] == "SERVICE_MANAGED"
    assert i["autoDeployment"] == {"enabled": True, "retainStacksOnAccountRemoval": False}
    assert i["capabilities"] == ["CAPABILITY_NAMED_IAM"]
    prefs = i["operationPreferences"]
    r = cfg.security_baseline.rollout
    assert (prefs["maxConcurrentPercentage"], prefs["failureTolerancePercentage"], prefs["regionConcurrencyType"]) == (
        r.max_concurrent_percentage, r.failure_tolerance_percentage, r.region_concurrency_type)
    assert set(i["parameters"]) == set(PARAMETERS)
    assert all(v and "${" not in v for v in i["parameters"].values())
    json.loads(i["templateBody"])  # valid JSON template


def test_one_instance_per_region_targeting_the_root(plan):
    cfg = load_file(REPO / f"Pulumi.{plan['stack']}.yaml")
    instances = resources_of(plan, "aws:cloudformation/stackSetInstance:StackSetInstance")
    assert sorted(x["inputs"]["stackSetInstanceRegion"] for x in instances) == sorted(cfg.organization.allowed_regions)
    for x in instances:
        assert x["inputs"]["deploymentTargets"]["organizationalUnitIds"][0].startswith("r-")


def test_every_instance_names_only_its_target_region_and_lives_where_its_stack_set_does(plan):
    """pulumi-aws 7: a StackSetInstance's `region` is the deprecated alias of
    `stackSetInstanceRegion` (the provider rejects both), not where it is managed; it is managed
    in its provider's region, so the StackSet takes that region too (no `region` of its own)."""
    instances = _resources_of(plan, "aws:cloudformation/stackSetInstance:StackSetInstance")
    assert instances and all("region" not in x["inputs"] and x["inputs"]["stackSetInstanceRegion"] for x in instances)
    sets = _resources_of(plan, "aws:cloudformation/stackSet:StackSet")
    assert sets and all("region" not in s["inputs"] for s in sets)
    by_set = {s["inputs"]["name"]: s for s in sets}
    assert all(by_set[x["inputs"]["stackSetName"]]["provider"] == x["provider"] for x in instances)


def test_management_account_gets_the_same_baseline_as_a_stack(plan):
    cfg = load_file(REPO / f"Pulumi.{plan['stack']}.yaml")
    (ss,) = resources_of(plan, "aws:cloudformation/stackSet:StackSet")
    stacks = resources_of(plan, "aws:cloudformation/stack:Stack")
    assert sorted(s["inputs"]["region"] for s in stacks) == sorted(cfg.organization.allowed_regions)
    assert all(s["inputs"]["templateBody"] == ss["inputs"]["templateBody"] for s in stacks)
    assert all(s["provider"] == "" for s in stacks), "service-managed sets skip the management account"


def test_baseline_resource_count_does_not_grow_with_teams():
    """Only per-team resources (named after the team) are added per team; the rest is constant."""
    from tests.conftest import synthetic_plan

    counts = {}
    for n in (1, 100):  # the same plans as the provider-count test
        code, doc = synthetic_plan(n)
        assert code == 0, doc["findings"]
        counts[n] = sum(1 for r in doc["resources"] if ("-baseline-" in r["name"] or r["name"] == "org-baseline") and "-team-" not in r["name"])
    assert counts[1] == counts[100]


def test_management_account_forwards_every_critical_event_in_every_region(plan):
    """The management account's alert rules come with its baseline stack, one per region."""
    from blueprint.baseline.events import CRITICAL_EVENTS

    cfg = load_file(REPO / f"Pulumi.{plan['stack']}.yaml")
    for stack in resources_of(plan, "aws:cloudformation/stack:Stack"):
        template = json.loads(stack["inputs"]["templateBody"])
        rules = [r for lid, r in template["Resources"].items()
                 if r["Type"] == "AWS::Events::Rule" and lid != "PatchOnFindingRule"]  # patching, not forwarding
        assert len(rules) == len(CRITICAL_EVENTS)
        for rule in rules:
            (target,) = rule["Properties"]["Targets"]
            assert target["Arn"] == {"Ref": "AlertEventBusArn"}
        assert stack["inputs"]["parameters"]["AlertEventBusArn"].endswith(":event-bus/secure-org-alerts")
    assert len(resources_of(plan, "aws:cloudformation/stack:Stack")) == len(cfg.organization.allowed_regions)
