"""Failing and passing fixtures for the launch-template and ECR rules (blueprint/crossguard/rules_compute.py).

The cases are also added to fixtures.RESOURCE_CASES / STACK_CASES (conftest.py imports this
module first), so the catalogue and unknown-value checks of test_rules.py and test_unknowns.py
see them whichever file is run.
"""

from __future__ import annotations

import pytest

from blueprint.crossguard.rules import Resource

from .fixtures import ACCT, KEY_ARN, OTHER, RESOURCE_CASES, STACK_CASES, Case, StackCase, template
from .test_rules import run_case, run_stack_case

LT = "aws:ec2/launchTemplate:LaunchTemplate"
SS = "aws:cloudformation/stackSet:StackSet"
REPO = "aws:ecr/repository:Repository"
ENABLER = "aws:inspector2/enabler:Enabler"
REGISTRY = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"


def lt_template(**options) -> dict:
    data = {"ImageId": "ami-0abc", "MetadataOptions": options} if options else {"ImageId": "ami-0abc"}
    return template({"Workers": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {"LaunchTemplateData": data}}})


def repo(name="payments-api", account=OTHER, region="eu-west-1", **props) -> Resource:
    inputs = {"name": name, "region": region, "imageTagMutability": "IMMUTABLE", **props}
    return Resource(REPO, name, f"urn:pulumi:t::p::{REPO}::{name}", inputs, account_id=account)


def enabler(accounts, types=("EC2", "ECR"), region="eu-west-1") -> Resource:
    return Resource(ENABLER, "inspector", f"urn:pulumi:t::p::{ENABLER}::inspector",
                    {"accountIds": accounts, "resourceTypes": list(types), "region": region}, account_id=ACCT)


def registry(filters, scan_type="ENHANCED", frequency="CONTINUOUS_SCAN", account=OTHER) -> Resource:
    rules = [{"scanFrequency": frequency, "repositoryFilters": [{"filter": f, "filterType": "WILDCARD"} for f in filters]}]
    return Resource(REGISTRY, "registry-scanning", f"urn:pulumi:t::p::{REGISTRY}::registry-scanning",
                    {"scanType": scan_type, "rules": rules, "region": "eu-west-1"}, account_id=account)


def kms(kind="KMS", key=KEY_ARN) -> dict:
    cfg = {"encryptionType": kind}
    if key is not None:
        cfg["kmsKey"] = key
    return {"encryptionConfigurations": [cfg]}


C, S = Case, StackCase
RES = [
    C("ec2-launch-template-imdsv2", LT, {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2}}, False, id="required"),
    C("ec2-launch-template-imdsv2", LT, {"metadataOptions": {"httpEndpoint": "disabled"}}, False, id="endpoint-off"),
    C("ec2-launch-template-imdsv2", LT, {"metadataOptions": {"httpTokens": "optional"}}, True, id="optional"),
    C("ec2-launch-template-imdsv2", LT, {"imageId": "ami-0abc"}, True, id="unset"),
    C("ec2-launch-template-imdsv2", SS, lt_template(HttpTokens="required"), False, id="template-required"),
    C("ec2-launch-template-imdsv2", SS, lt_template(HttpTokens={"Ref": "Tokens"}), False, id="template-parameter"),
    C("ec2-launch-template-imdsv2", SS, lt_template(HttpTokens="optional"), True, id="template-optional"),
    C("ec2-launch-template-imdsv2", SS, lt_template(), True, id="template-unset"),
    C("ec2-launch-template-imds-hop-limit", LT, {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2}}, False, id="two"),
    C("ec2-launch-template-imds-hop-limit", LT, {"metadataOptions": {"httpTokens": "required"}}, False, id="default-one"),
    C("ec2-launch-template-imds-hop-limit", LT, {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 3}}, True, id="three"),
    C("ec2-launch-template-imds-hop-limit", SS, lt_template(HttpTokens="required", HttpPutResponseHopLimit=8), True, id="template-eight"),
    C("ecr-repository-tags-immutable", REPO, {"imageTagMutability": "IMMUTABLE"}, False, id="immutable"),
    C("ecr-repository-tags-immutable", REPO, {"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
      "imageTagMutabilityExclusionFilters": [{"filter": "latest", "filterType": "WILDCARD"}]}, False, id="immutable-but-latest"),
    C("ecr-repository-tags-immutable", REPO, {"imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
      "imageTagMutabilityExclusionFilters": [{"filter": "*", "filterType": "WILDCARD"}]}, True, id="exclusion-matches-all"),
    C("ecr-repository-tags-immutable", REPO, {"imageTagMutability": "MUTABLE_WITH_EXCLUSION"}, True, id="mutable-with-exclusion"),
    C("ecr-repository-tags-immutable", REPO, {"name": "payments-api"}, True, id="default-mutable"),
    C("ecr-repository-kms", REPO, kms(), False, id="customer-key"),
    C("ecr-repository-kms", REPO, kms("KMS_DSSE"), False, id="dsse"),
    C("ecr-repository-kms", REPO, kms("KMS", None), True, id="aws-managed-key"),
    C("ecr-repository-kms", REPO, kms("AES256", None), True, id="aes256"),
    C("ecr-repository-kms", REPO, {"name": "payments-api"}, True, id="unset"),
]
STACK = [
    S("ecr-repository-scanning", [repo(imageScanningConfiguration={"scanOnPush": True})], False, id="scan-on-push"),
    S("ecr-repository-scanning", [repo(), enabler([OTHER])], False, id="inspector-enabled-for-the-account"),
    S("ecr-repository-scanning", [repo(), registry(["payments-*"])], False, id="enhanced-rule-matches"),
    S("ecr-repository-scanning", [repo(), registry(["payments"], "BASIC", "SCAN_ON_PUSH")], False, id="basic-substring-filter"),
    S("ecr-repository-scanning", [repo(imageScanningConfiguration={"scanOnPush": False})], True, id="off"),
    S("ecr-repository-scanning", [repo()], True, id="nothing"),
    S("ecr-repository-scanning", [repo(), enabler([ACCT])], True, id="inspector-other-account"),
    S("ecr-repository-scanning", [repo(), enabler([OTHER], types=("EC2", "LAMBDA"))], True, id="inspector-without-ecr"),
    S("ecr-repository-scanning", [repo(), enabler([OTHER], region="us-east-1")], True, id="inspector-other-region"),
    S("ecr-repository-scanning", [repo(), registry(["checkout-*"])], True, id="rule-misses-repository"),
    S("ecr-repository-scanning", [repo(), registry(["*"], frequency="MANUAL")], True, id="manual-only"),
    S("ecr-repository-scanning", [repo(), registry(["*"], account=ACCT)], True, id="registry-of-another-account"),
]
STACK_CASES.extend(c for c in STACK if str(c) not in {str(x) for x in STACK_CASES})
RESOURCE_CASES.extend(c for c in RES if str(c) not in {str(x) for x in RESOURCE_CASES})


@pytest.mark.parametrize("case", RES, ids=str)
def test_compute_rule(case):
    assert bool(run_case(case)) == case.fails, run_case(case)


@pytest.mark.parametrize("case", STACK, ids=str)
def test_ecr_scanning(case):
    found = run_stack_case(case)
    assert bool(found) == case.fails, found
    assert all(r is not None and r.type == REPO for r, _ in found)


def test_messages_name_the_template_resource_and_the_key():
    (msg,) = run_case(Case("ec2-launch-template-imdsv2", SS, lt_template(HttpTokens="optional"), True))
    assert msg.startswith("template Workers: MetadataOptions.HttpTokens is 'optional'")
    (msg,) = run_case(Case("ec2-launch-template-imds-hop-limit", LT, {"metadataOptions": {"httpPutResponseHopLimit": "3"}}, True))
    assert "httpPutResponseHopLimit is 3" in msg


def test_only_the_uncovered_repository_is_reported():
    covered, other = repo("payments-api"), repo("checkout-api")
    found = run_stack_case(StackCase("ecr-repository-scanning", [covered, other, registry(["payments-*"])], True))
    assert [r.name for r, _ in found] == ["checkout-api"]


def test_an_unknown_repository_account_is_not_judged_against_inspector():
    # A repository whose provider account is not known yet (preview) may be the enabled one.
    assert run_stack_case(StackCase("ecr-repository-scanning", [repo(account=None), enabler([OTHER])], False)) == []

