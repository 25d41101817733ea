"""The organization model built from the recorded plan, and the template instantiation behind it."""

from __future__ import annotations

import json

import pytest

from blueprint.access import cfn
from blueprint.access.check import assemble
from blueprint.access.model import FULL_AWS_ACCESS, RCP_FULL_AWS_ACCESS
from blueprint.pipeline import deploy_roles
from tests.conftest import plan_of


@pytest.fixture(scope="module")
def prod():
    code, doc = plan_of("prod")
    assert code == 0, doc["findings"]
    return assemble(doc).model


# -- cfn --------------------------------------------------------------------------------
PARAMS = {"OrgId": "o-abcdefghij", "ToolingAccountId": "222222222222", "Team": "payments", "Environment": "prod",
          "PipelineRoleArn": "arn:aws:iam::222222222222:role/payments-codepipeline", "ArtifactBucketName": "payments-pipeline-222222222222",
          "ArtifactKeyArn": "arn:aws:kms:eu-west-1:222222222222:key/abc", "ComputePlatform": "Server",
          "DeploymentConfigName": "CodeDeployDefault.OneAtATime"}


def test_template_roles_resolve_per_account_and_team():
    got = {r.logical_id: r for r in cfn.instantiate(deploy_roles.template(), PARAMS, "333333333333", "eu-west-1")}
    deploy = got["DeployRole"]
    assert deploy.arn == "arn:aws:iam::333333333333:role/payments-deploy"
    trust = deploy.properties["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}
    assert trust["Condition"]["ArnEquals"]["aws:PrincipalArn"] == PARAMS["PipelineRoleArn"]
    # Fn::If on the platform: Server has no ECS statements, and the group targets instances by tag.
    sids = [s["Sid"] for s in deploy.properties["Policies"][0]["PolicyDocument"]["Statement"]]
    assert "EcsTaskRoles" not in sids and "TeamDeployments" in sids
    assert got["WorkloadBoundary"].arn == "arn:aws:iam::333333333333:policy/payments-workload-boundary"


def test_unassigned_stack_creates_no_roles():
    """Team 'none' (the StackSet default): the Assigned condition is false, nothing is trusted."""
    got = cfn.instantiate(deploy_roles.template(), {"OrgId": "o-abcdefghij", "ToolingAccountId": "222222222222"}, "3" * 12, "eu-west-1")
    assert [r.logical_id for r in got] == ["Unassigned"]


def test_unsupported_intrinsic_raises_instead_of_dropping_a_permission():
    template = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Fn::ImportValue": "x"}}}}}
    with pytest.raises(cfn.TemplateError, match="Fn::ImportValue"):
        cfn.instantiate(template, {}, "1" * 12, "us-east-1")


def test_missing_parameter_is_an_error():
    with pytest.raises(cfn.TemplateError, match="no value"):
        cfn.instantiate({"Parameters": {"X": {"Type": "String"}}, "Resources": {}}, {}, "1" * 12, "us-east-1")


# -- model ----------------------------------------------------------------------------------
def test_scp_chain_has_full_aws_access_at_every_level(prod):
    acct = prod.by_key["payments-prod"]
    chain = prod.scp_chain(acct.id)
    assert len(chain) == len(acct.chain) == 4  # root, Workloads, Workloads/Prod, the account
    assert all(level[0] is FULL_AWS_ACCESS for level in chain)
    assert any(p.name.startswith("SCP ") for p in chain[0])  # the Root guardrails
    assert all(level[0] is RCP_FULL_AWS_ACCESS for level in prod.rcp_chain(acct.id))


def test_management_account_is_not_subject_to_scps_or_rcps(prod):
    assert prod.scp_chain(prod.management) == [] and prod.rcp_chain(prod.management) == []


def test_stackset_roles_are_principals_in_their_accounts(prod):
    acct = prod.by_key["payments-test"].id
    cfn_exec = prod.principal(f"arn:aws:iam::{acct}:role/payments-cfn-exec")
    assert cfn_exec.label == "payments-test:role/payments-cfn-exec"
    assert cfn_exec.scps and cfn_exec.org_id == prod.org_id
    assert any("team-iac" in p.name for p in cfn_exec.identity_policies)
    # Every member account has the baseline's roles; teams without a pipeline have no deploy role.
    assert prod.role(f"arn:aws:iam::{prod.by_key['mobile-prod'].id}:role/secure-org-security-audit") is not None
    assert prod.role(f"arn:aws:iam::{prod.by_key['mobile-prod'].id}:role/mobile-deploy") is None


def test_resource_policies_come_from_their_own_resources(prod):
    bucket = next(a for a in prod.buckets if a.startswith("payments-pipeline-"))
    res = prod.resource(f"arn:aws:s3:::{bucket}/x")
    assert res.kind == "s3-object" and res.account == prod.by_key["tooling"].id
    assert res.policy is not None and "DeployRolesReadArtifacts" in json.dumps(res.policy.document)
    assert res.rcps, "S3 is governed by RCPs in member accounts"


def test_trust_policy_is_the_resource_policy_only_for_sts(prod):
    arn = f"arn:aws:iam::{prod.by_key['payments-prod'].id}:role/payments-deploy"
    assert prod.resource(arn, action="sts:AssumeRole").policy is not None
    assert prod.resource(arn, action="iam:PassRole").policy is None


def test_symbolic_names_round_trip(prod):
    arn = f"arn:aws:iam::{prod.by_key['payments-prod'].id}:role/payments-deploy"
    assert prod.label(arn) == "payments-prod:role/payments-deploy"
    assert prod.resolve_label("payments-prod:role/payments-deploy") == arn
    s3 = f"arn:aws:s3:::payments-pipeline-{prod.by_key['tooling'].id}"
    assert prod.symbolic(s3) == "arn:aws:s3:::payments-pipeline-<account:tooling>"
    assert prod.resolve_label(prod.symbolic(s3)) == s3
    with pytest.raises(KeyError, match="unknown account"):
        prod.resolve_label("nope-prod:role/x")


def test_exists_tells_created_from_missing(prod):
    tooling = prod.by_key["tooling"].id
    assert prod.exists(f"arn:aws:iam::{tooling}:role/payments-codepipeline") is True
    assert prod.exists(f"arn:aws:iam::{tooling}:role/payments-codepipelin") is False
    assert prod.exists(f"arn:aws:cloudformation:eu-west-1:{tooling}:stack/x/1") is None  # not tracked
