"""blueprint/offline/sdk_types.py: every recorded input is one the installed pulumi_aws accepts.

The mocks take any property; these tests hold both stacks' plans to the SDK's own input
types, nested ones included, and prove the check sees a misspelling at depth.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pytest

from blueprint.offline import sdk_types
from tests.conftest import run_component


def test_every_recorded_input_is_one_the_sdk_accepts(plan):
    report = sdk_types.check(plan["resources"])
    assert report.problems == [], "\n".join(report.problems)
    custom = [r for r in plan["resources"] if not r["type"].startswith("blueprint:")]
    # Everything that is not a component was held to an SDK type (providers included).
    assert report.resources == len(custom) and any(r["type"] == sdk_types.PROVIDER for r in custom)
    assert set(report.skipped) == {r["type"] for r in plan["resources"]} - {r["type"] for r in custom}
    # Nested values were walked, not just the top-level names.
    assert report.properties > 2 * sum(len(r["inputs"]) for r in custom)


def _typos():
    aws.s3.BucketVersioning("nested-typo", bucket="b", versioning_configuration={"statuz": "Enabled"})
    aws.s3.BucketVersioning("wrong-kind", bucket="b", versioning_configuration={"status": True})
    aws.cloudformation.StackSetInstance(
        "deprecated", stack_set_name="s", region="eu-west-1", stack_set_instance_region="us-east-1",
        deployment_targets={"organizational_unit_idz": ["r-1"]},
    )
    aws.iam.Role("list-item", assume_role_policy="{}", inline_policies=[{"name": "x", "policy": "{}", "polcy": "{}"}])
    aws.Provider("provider", region="us-east-1", assume_roles=[{"role_arnn": "arn:aws:iam::111111111111:role/x"}])
    aws.sns.Topic("ignored", name="t", opts=pulumi.ResourceOptions(ignore_changes=["nameTypo"]))


def test_a_misspelled_nested_property_is_reported_with_its_path():
    report = sdk_types.check(run_component(_typos))
    by_name = {}
    for p in report.problems:
        where, path, msg = p.split(": ", 2)
        by_name.setdefault(where.split(" ")[1], []).append((path, msg))
    assert by_name["nested-typo"] == [
        ("versioningConfiguration.statuz", "not an input of BucketVersioningVersioningConfigurationArgs (did you mean 'status'?)"),
        ("versioningConfiguration.status", "required by BucketVersioningVersioningConfigurationArgs, missing"),
    ]
    assert by_name["wrong-kind"] == [("versioningConfiguration.status", "is a bool, the SDK takes str")]
    paths = dict(by_name["deprecated"])
    assert paths["deploymentTargets.organizational_unit_idz"].startswith("not an input of StackSetInstanceDeploymentTargetsArgs")
    assert "Use `stack_set_instance_region` instead" in paths["region"]
    assert [p for p, _ in by_name["list-item"]] == ["inlinePolicies[0].polcy"]
    # Providers get JSON-encoded inputs from the engine: decoded, then checked the same way.
    assert [p for p, _ in by_name["provider"]] == ["assumeRoles[0].role_arnn"]
    assert by_name["ignored"] == [("ignore_changes 'nameTypo'", "names no property of the resource")]


def test_correct_inputs_pass_in_every_form():
    """Args classes, plain dicts with snake_case keys, numbers, assets: no false alarms."""

    def build():
        aws.s3.BucketVersioning("args", bucket="b", versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"))
        aws.cloudformation.StackSetInstance("dict", stack_set_name="s", stack_set_instance_region="us-east-1",
                                            deployment_targets={"organizational_unit_ids": ["r-1"], "account_filter_type": "NONE"})
        aws.lambda_.Function("fn", role="arn:aws:iam::111111111111:role/x", runtime="python3.12", handler="h.h", memory_size=256,
                             code=pulumi.AssetArchive({"h.py": pulumi.StringAsset("def h(e, c): pass")}))
        aws.Provider("p", region="us-east-1", skip_region_validation=True, allowed_account_ids=["111111111111"],
                     assume_roles=[aws.ProviderAssumeRoleArgs(role_arn="arn:aws:iam::111111111111:role/x")])

    report = sdk_types.check(run_component(build))
    assert report.problems == [] and report.resources == 4


@pytest.mark.parametrize("value, kinds", [(1.0, "int"), (1.5, "number"), ("1", "str"), (True, "bool"), ([], "list"), ({}, "map")])
def test_recorded_values_are_classified_as_the_engine_sends_them(value, kinds):
    # Numbers arrive as floats (protobuf Struct): a whole one still fits an int property.
    assert sdk_types._kind(value) == kinds


def test_unknown_resource_types_are_reported_not_skipped():
    report = sdk_types.check([{"type": "aws:s3/bucketTypo:BucketTypo", "name": "x", "inputs": {}}])
    assert report.problems == ["aws:s3/bucketTypo:BucketTypo x: not a resource type of the installed pulumi_aws"]
