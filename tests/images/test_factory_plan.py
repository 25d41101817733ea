"""Plan assertions for the golden-AMI factory, both stacks (issue 10).

Each configured image has a recipe, a pipeline, a distribution, a gate workflow and a
lifecycle policy; distribution shares with the organization ARN and never copies; scanning is
on; build instances require IMDSv2; EBS is encrypted with the factory key; the baseline
StackSet carries the factory's keys and the patch threshold; and the access flows prove a
Workloads EC2 launch has an approved AMI to use.
"""

from __future__ import annotations

import json

import pytest

from blueprint.config import load_file
from tests.conftest import REPO, STACKS, plan_of

IB = "aws:imagebuilder/"
KINDS = {
    "recipe": f"{IB}imageRecipe:ImageRecipe",
    "pipeline": f"{IB}imagePipeline:ImagePipeline",
    "distribution": f"{IB}distributionConfiguration:DistributionConfiguration",
    "gate": f"{IB}workflow:Workflow",
    "lifecycle": f"{IB}lifecyclePolicy:LifecyclePolicy",
    "infra": f"{IB}infrastructureConfiguration:InfrastructureConfiguration",
}


def images_of(stack: str) -> list[str]:
    cfg = load_file(REPO / f"Pulumi.{stack}.yaml")
    return [i.name for i in cfg.image_factory.images] if cfg.image_factory else []


def of_type(doc: dict, token: str) -> list[dict]:
    return [r for r in doc["resources"] if r["type"] == token]


def per_image(doc: dict, image: str, kind: str) -> dict:
    [r] = [r for r in of_type(doc, KINDS[kind]) if r["name"].startswith(f"org-image-factory-{image}-")]
    return r


@pytest.fixture(scope="module", params=STACKS)
def plan(request):
    code, doc = plan_of(request.param)
    assert code == 0, doc["findings"]
    return request.param, doc


def test_prod_has_at_least_two_images():
    assert len(images_of("prod")) >= 2


def test_every_image_has_its_resources(plan):
    stack, doc = plan
    names = images_of(stack)
    assert names, f"{stack}: no image configured"
    for image in names:
        for kind in KINDS:
            per_image(doc, image, kind)  # exactly one of each


def test_distribution_shares_with_the_organization_never_copies(plan):
    stack, doc = plan
    for image in images_of(stack):
        dist = per_image(doc, image, "distribution")["inputs"]["distributions"]
        assert dist
        for d in dist:
            ami = d["amiDistributionConfiguration"]
            assert "targetAccountIds" not in ami, f"{image}: copies to accounts"
            perm = ami["launchPermission"]
            assert [a.split(":")[-1].startswith("organization/") for a in perm["organizationArns"]] == [True]
            assert "userGroups" not in perm and "userIds" not in perm
            assert ami["kmsKeyId"].startswith("arn:aws:kms:")


def test_scanning_on_and_gate_workflow_abort(plan):
    stack, doc = plan
    for image in images_of(stack):
        p = per_image(doc, image, "pipeline")["inputs"]
        assert p["imageScanningConfiguration"]["imageScanningEnabled"] is True
        assert p["imageTestsConfiguration"]["imageTestsEnabled"] is True
        assert any(w.get("onFailure") == "ABORT" for w in p["workflows"])
        gate = per_image(doc, image, "gate")["inputs"]
        assert gate["type"] == "TEST" and "WaitForAction" in gate["data"]


def test_build_instances_require_imdsv2(plan):
    stack, doc = plan
    for image in images_of(stack):
        infra = per_image(doc, image, "infra")["inputs"]
        assert infra["instanceMetadataOptions"]["httpTokens"] == "required"
        assert infra["terminateInstanceOnFailure"] is True and infra["subnetId"] and infra["snsTopicArn"]


def test_ebs_is_encrypted_with_the_factory_key(plan):
    stack, doc = plan
    keys = {r["name"]: r for r in of_type(doc, "aws:kms/key:Key") if r["name"].startswith("org-image-factory-key-")}
    assert keys and all(k["inputs"]["enableKeyRotation"] for k in keys.values())
    key_ids = {k["id"] for k in keys.values()} | {k["inputs"].get("arn", "") for k in keys.values()}
    for image in images_of(stack):
        for bdm in per_image(doc, image, "recipe")["inputs"]["blockDeviceMappings"]:
            ebs = bdm["ebs"]
            assert ebs["encrypted"] == "true" and ":key/" in ebs["kmsKeyId"] and "alias/aws/" not in ebs["kmsKeyId"]
    assert key_ids


def test_lifecycle_deprecates_then_deletes(plan):
    stack, doc = plan
    for image in images_of(stack):
        details = per_image(doc, image, "lifecycle")["inputs"]["policyDetails"]
        assert {d["action"]["type"] for d in details} >= {"DEPRECATE", "DELETE"}


def test_baseline_stackset_carries_the_keys_and_threshold(plan):
    stack, doc = plan
    [ss] = [r for r in of_type(doc, "aws:cloudformation/stackSet:StackSet") if r["name"] == "org-baseline-accounts-stackset"]
    params = ss["inputs"]["parameters"]
    keys = [k for k in params["GoldenAmiKeyArns"].split(",") if k]
    assert keys and all(":kms:" in k for k in keys)
    cfg = load_file(REPO / f"Pulumi.{stack}.yaml")
    assert params["PatchSeverityThreshold"] == cfg.image_factory.patch_severity_threshold
    body = json.loads(ss["inputs"]["templateBody"])
    assert body["Resources"]["AmiKeyGrant"]["Type"] == "Custom::GoldenAmiKeyGrant"
    assert body["Resources"]["PatchBaselineAssociation"]["Properties"]["Name"] == "AWS-RunPatchBaseline"


def test_workloads_launch_has_an_approved_ami(plan):
    stack, doc = plan
    flows = [f for f in doc["flows"] if f["flow"] in ("workload-launches-approved-ami", "prod-cannot-launch-public-ami",
                                                      "only-gate-writes-approval-record", "consumers-decrypt-golden-ami-key")]
    decided = {f["flow"] for f in flows}
    assert {"workload-launches-approved-ami", "only-gate-writes-approval-record", "consumers-decrypt-golden-ami-key"} <= decided
    assert all(f["ok"] for f in flows), [f for f in flows if not f["ok"]]
    launches = [f for f in flows if f["flow"] == "workload-launches-approved-ami"]
    assert launches and all(f["decision"] == "ALLOW" for f in launches)
