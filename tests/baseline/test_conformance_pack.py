"""Tests for blueprint/baseline/conformance_pack.py (organization conformance pack).

Offline checks only: cfn-lint on the template, moto's managed-rule list and config backend
for rule identifiers and input parameters, botocore's Config API model for the request
shapes and enums, and the repository's own SCPs for remediations they would block.
"""

from __future__ import annotations

import copy
import fnmatch
import gzip
import json
import re
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.validate import ParamValidator
from moto import mock_aws

from blueprint.baseline import conformance_pack as cp

REPO = Path(__file__).resolve().parents[2]
FACTS = REPO.parent / "shared" / "reference" / "aws-facts.md"
if not FACTS.exists():  # a clone laid out differently: look upwards for shared/reference
    FACTS = next(
        (p / "shared" / "reference" / "aws-facts.md" for p in REPO.parents if (p / "shared" / "reference" / "aws-facts.md").exists()),
        FACTS,
    )
FACTS_HEADING = "AWS Config managed rule ids worth deploying org-wide"
REGIONS = ["us-east-1", "eu-west-1"]
ROLE = "secure-org-config-remediation"
ACCOUNT = "123456789012"


def facts_rule_ids() -> list[str]:
    """Rule identifiers listed under the aws-facts.md heading (read at test time)."""
    if not FACTS.exists():
        pytest.skip(f"{FACTS} not present")
    ids: list[str] = []
    inside = False
    for line in FACTS.read_text().splitlines():
        if line.startswith("#"):
            inside = line.lstrip("#").strip() == FACTS_HEADING
            continue
        if inside:
            m = re.match(r"^\s*[-*]\s+`?([A-Z0-9]+(?:_[A-Z0-9]+)+)`?\s*$", line)
            if m:
                ids.append(m.group(1))
    assert ids, f"no rule ids found under '{FACTS_HEADING}' in {FACTS}"
    return ids


def moto_managed_rules() -> dict:
    import moto.config

    path = Path(moto.config.__file__).parent / "resources" / "aws_managed_rules.json.gz"
    if not path.exists():
        pytest.skip("moto ships no managed-rule list")
    return json.loads(gzip.open(path).read())["ManagedRules"]


@pytest.fixture(scope="module")
def template() -> dict:
    return cp.conformance_pack_template(ROLE)


def resources_of(template: dict, type_: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == type_}


def sub_role_arn(value, account: str = ACCOUNT, partition: str = "aws") -> str:
    """Resolve the template's Fn::Sub role ARN the way CloudFormation would."""
    assert isinstance(value, dict) and set(value) == {"Fn::Sub"}, value
    return value["Fn::Sub"].replace("${AWS::Partition}", partition).replace("${AWS::AccountId}", account)


# --- cfn-lint -------------------------------------------------------------------------------

# No rule is ignored: cfn-lint reports nothing (errors or warnings) for this template. If a
# cfn-lint upgrade flags something inherent to conformance packs (e.g. the missing
# AWSTemplateFormatVersion, which AWS's own pack samples omit), add its id here with a comment.
CFN_LINT_IGNORED: set[str] = set()


def test_cfn_lint_reports_nothing():
    from cfnlint.api import ManualArgs, lint

    matches = lint(cp.template_body(ROLE), config=ManualArgs(regions=REGIONS))
    reported = [f"{m.rule.id} {m.message}" for m in matches if m.rule.id not in CFN_LINT_IGNORED]
    assert reported == []


def test_cfn_lint_is_really_checking():
    """A broken copy must be flagged, so a silent no-op lint can't pass the test above."""
    from cfnlint.api import ManualArgs, lint

    broken = cp.conformance_pack_template(ROLE)
    rem = next(iter(resources_of(broken, "AWS::Config::RemediationConfiguration").values()))
    rem["DependsOn"] = "NoSuchRule"
    assert any(m.rule.id.startswith("E") for m in lint(json.dumps(broken), config=ManualArgs(regions=REGIONS)))


def test_only_conformance_pack_resource_types(template):
    types = {r["Type"] for r in template["Resources"].values()}
    assert types == {"AWS::Config::ConfigRule", "AWS::Config::RemediationConfiguration"}
    assert set(template) <= {"Parameters", "Resources", "Conditions", "Mappings", "Description"}


# --- rules -----------------------------------------------------------------------------------


def test_at_least_30_rules(template):
    rules = resources_of(template, "AWS::Config::ConfigRule")
    assert len(cp.RULES) >= 30
    assert len(rules) == len(cp.RULES)


def test_every_reference_rule_id_is_deployed(template):
    deployed = {r["Properties"]["Source"]["SourceIdentifier"] for r in resources_of(template, "AWS::Config::ConfigRule").values()}
    wanted = facts_rule_ids()
    assert len(wanted) >= 20, wanted  # parser sanity: the section lists 31 ids today
    assert set(wanted) - deployed == set()
    # The two rules the seed articles are about, asserted by name.
    assert "CODEBUILD_PROJECT_ENVVAR_AWSCRED_CHECK" in deployed
    assert "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED" in deployed


def test_rule_names_and_entries():
    for name, rule in cp.RULES.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), name
        assert len(name) <= 128
        assert len(name) <= 64, f"{name}: keep room for the suffix Config adds to conformance-pack rules"
        assert rule["identifier"] in cp.VERIFIED_MANAGED_RULE_IDS, name
        assert rule["trigger"] in (cp.PERIODIC, cp.CHANGE, cp.BOTH), name
        assert len(rule["why"]) >= 60, name
        assert all(isinstance(v, str) and v.strip() for v in rule["params"].values()), name
    assert len({r["identifier"] for r in cp.RULES.values()}) == len(cp.RULES), "one rule per identifier"


def test_identifiers_are_known_managed_rules():
    known = moto_managed_rules()
    # Every id we verified in the AWS Config guide is also in moto's copy of the list today.
    # If a moto upgrade lacks one, allow it here explicitly with a comment naming the AWS page.
    allowed_missing_from_moto: set[str] = set()
    ids = {r["identifier"] for r in cp.RULES.values()}
    assert ids <= set(cp.VERIFIED_MANAGED_RULE_IDS)
    assert ids - set(known) <= allowed_missing_from_moto


def test_trigger_types_match_the_managed_rule_list():
    known = moto_managed_rules()
    to_list = {cp.PERIODIC: "Periodic", cp.CHANGE: "Configuration changes", cp.BOTH: "Configuration changes and Periodic"}
    for name, rule in cp.RULES.items():
        assert known[rule["identifier"]]["Trigger type"] == to_list[rule["trigger"]], name


def test_params_are_valid_and_required_ones_present():
    known = moto_managed_rules()
    for name in cp.RULES:
        info = known[cp.RULES[name]["identifier"]]
        allowed = {p["Name"] for p in info["Parameters"]}
        required = {p["Name"] for p in info["Parameters"] if not p["Optional"]}
        for account in (None, ACCOUNT):
            params = cp.rule_input_parameters(name, account)
            assert set(params) <= allowed, name
            assert required <= set(params), name


def test_rules_that_need_parameters_have_deliberate_values(template):
    props = {r["Properties"]["ConfigRuleName"]: r["Properties"] for r in resources_of(template, "AWS::Config::ConfigRule").values()}
    assert props["codepipeline-deployment-count-check"]["InputParameters"] == {"deploymentLimit": "1"}
    assert props["approved-amis-by-tag"]["InputParameters"] == {"amisByTagKeyAndValue": "GoldenAmi:approved"}
    # Tags on shared AMIs are invisible cross-account: the tag rule is opt-in by instance tag,
    # and the owner-based Allowed AMIs rule is deployed alongside it.
    assert props["approved-amis-by-tag"]["Scope"] == {"TagKey": cp.VERIFY_AMI_TAG_SCOPE_KEY}
    assert "ec2-instance-launched-with-allowed-ami" in props
    assert props["multi-region-cloudtrail-enabled"]["InputParameters"] == {"includeManagementEvents": "true", "readWriteType": "ALL"}
    assert "InputParameters" not in props["kms-cmk-not-scheduled-for-deletion"]  # all CMKs
    assert set(props["s3-account-level-public-access-blocks-periodic"]["InputParameters"].values()) == {"True"}


def test_guardduty_central_account_is_optional():
    without = json.loads(cp.template_body(ROLE))["Resources"]["GuarddutyEnabledCentralized"]["Properties"]
    with_ = json.loads(cp.template_body(ROLE, ACCOUNT))["Resources"]["GuarddutyEnabledCentralized"]["Properties"]
    assert "InputParameters" not in without
    assert with_["InputParameters"] == {"CentralMonitoringAccount": ACCOUNT}
    with pytest.raises(ValueError):
        cp.template_body(ROLE, "12345")


def test_once_per_account_rules_say_so():
    for name in ("cloudtrail-enabled", "multi-region-cloudtrail-enabled", "iam-root-access-key-check",
                 "iam-policy-no-statements-with-admin-access", "s3-account-level-public-access-blocks-periodic"):
        assert "once per account" in cp.RULES[name]["why"], name


def test_frequency_and_scope_follow_the_trigger(template):
    for res in resources_of(template, "AWS::Config::ConfigRule").values():
        p = res["Properties"]
        rule = cp.RULES[p["ConfigRuleName"]]
        if rule["trigger"] == cp.CHANGE:
            assert "MaximumExecutionFrequency" not in p, p["ConfigRuleName"]
            assert "Scope" in p, p["ConfigRuleName"]
        else:
            assert p["MaximumExecutionFrequency"] == cp.PERIODIC_FREQUENCY
        assert len(p["Description"]) <= 256
        assert p["Source"] == {"Owner": "AWS", "SourceIdentifier": rule["identifier"]}


@mock_aws
def test_moto_accepts_every_rule():
    """moto's Config backend checks managed rule ids and input parameter names/required ones."""
    client = boto3.client("config", region_name="us-east-1")
    template = cp.conformance_pack_template(ROLE, ACCOUNT)
    for res in resources_of(template, "AWS::Config::ConfigRule").values():
        p = copy.deepcopy(res["Properties"])
        if "InputParameters" in p:
            p["InputParameters"] = json.dumps(p["InputParameters"])
        client.put_config_rule(ConfigRule=p)
    names = set()
    for page in client.get_paginator("describe_config_rules").paginate():
        names |= {r["ConfigRuleName"] for r in page["ConfigRules"]}
    assert names == set(cp.RULES)


@mock_aws
def test_moto_rejects_a_bad_parameter():
    """The moto check above is real: an unknown parameter is refused."""
    client = boto3.client("config", region_name="us-east-1")
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.put_config_rule(ConfigRule={
            "ConfigRuleName": "x",
            "Source": {"Owner": "AWS", "SourceIdentifier": "CODEPIPELINE_DEPLOYMENT_COUNT_CHECK"},
            "InputParameters": json.dumps({"deploymentLimitt": "1"}),
        })


# --- remediations ----------------------------------------------------------------------------


def test_at_least_five_automatic_remediations(template):
    rems = resources_of(template, "AWS::Config::RemediationConfiguration")
    automatic = [r for r in rems.values() if r["Properties"]["Automatic"] is True]
    assert len(automatic) >= 5
    docs = {r["Properties"]["TargetId"] for r in automatic}
    for required in ("AWSConfigRemediation-EnableCloudTrailLogFileValidation", "AWSConfigRemediation-EnableKeyRotation",
                     "AWSConfigRemediation-ConfigureS3PublicAccessBlock", "AWSConfigRemediation-EnableEbsEncryptionByDefault"):
        assert required in docs
    assert docs & {"AWSConfigRemediation-RestrictBucketSSLRequestsOnly", "AWSConfigRemediation-EnforceEC2InstanceIMDSv2"}


def test_remediations_attach_to_rules_in_the_template(template):
    rule_ids = {r["Properties"]["ConfigRuleName"]: lid for lid, r in resources_of(template, "AWS::Config::ConfigRule").items()}
    for res in resources_of(template, "AWS::Config::RemediationConfiguration").values():
        name = res["Properties"]["ConfigRuleName"]
        assert name in rule_ids
        assert res["DependsOn"] == rule_ids[name]


def test_remediation_settings(template):
    expected_arn = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
    for res in resources_of(template, "AWS::Config::RemediationConfiguration").values():
        p = res["Properties"]
        rem = cp.REMEDIATIONS[p["ConfigRuleName"]]
        assert p["TargetType"] == "SSM_DOCUMENT"
        assert p["TargetId"] == rem["document"] and p["TargetId"].startswith("AWSConfigRemediation-")
        assert p["Automatic"] is True
        assert p["MaximumAutomaticAttempts"] in range(1, 26)
        assert p["RetryAttemptSeconds"] in range(1, 2678001)
        params = p["Parameters"]
        # Every required runbook parameter is set, nothing the runbook doesn't take.
        doc = rem["document_parameters"]
        assert set(doc["required"]) <= set(params), p["ConfigRuleName"]
        assert set(params) <= set(doc["required"]) | set(doc["optional"]), p["ConfigRuleName"]
        # Assume role: the named role in the account being remediated.
        (arn,) = params["AutomationAssumeRole"]["StaticValue"]["Values"]
        assert sub_role_arn(arn) == expected_arn
        # The resource id goes to the runbook's resource parameter, where it has one.
        resource_params = [k for k, v in params.items() if "ResourceValue" in v]
        expected_resource = [k for k, v in rem["parameters"].items() if v == cp.RESOURCE_ID]
        assert resource_params == expected_resource
        for k in resource_params:
            assert params[k] == {"ResourceValue": {"Value": "RESOURCE_ID"}}
        if p["TargetId"] != "AWSConfigRemediation-EnableEbsEncryptionByDefault":
            assert len(resource_params) == 1, p["ConfigRuleName"]  # takes only the role: acts on account+Region


def test_resource_parameters_are_the_documented_ones():
    expected = {
        "AWSConfigRemediation-EnableCloudTrailLogFileValidation": "TrailName",
        "AWSConfigRemediation-EnableKeyRotation": "KeyId",
        "AWSConfigRemediation-ConfigureS3PublicAccessBlock": "AccountId",
        "AWSConfigRemediation-RestrictBucketSSLRequestsOnly": "BucketName",
    }
    for rem in cp.REMEDIATIONS.values():
        if rem["document"] in expected:
            assert rem["parameters"][expected[rem["document"]]] == cp.RESOURCE_ID


def test_role_name_flows_into_the_arn():
    body = json.loads(cp.template_body("other-remediation-role"))
    rem = body["Resources"]["CmkBackingKeyRotationEnabledRemediation"]["Properties"]
    (arn,) = rem["Parameters"]["AutomationAssumeRole"]["StaticValue"]["Values"]
    assert sub_role_arn(arn, partition="aws-us-gov") == f"arn:aws-us-gov:iam::{ACCOUNT}:role/other-remediation-role"
    for bad in ("", "x" * 65, "bad/${AWS::Region}", "has space"):
        with pytest.raises(ValueError):
            cp.template_body(bad)


# --- API shapes (botocore model, offline) -----------------------------------------------------


def _config_model():
    return botocore.session.get_session().get_service_model("config")


def _enum(model, shape: str) -> set[str]:
    return set(model.shape_for(shape).enum)


def test_request_shapes_and_enums_match_the_config_api(template):
    model = _config_model()
    validator = ParamValidator()
    freq = _enum(model, "MaximumExecutionFrequency")
    for res in resources_of(template, "AWS::Config::ConfigRule").values():
        p = copy.deepcopy(res["Properties"])
        if "InputParameters" in p:
            p["InputParameters"] = json.dumps(p["InputParameters"])
            assert len(p["InputParameters"]) <= 1024
        if "MaximumExecutionFrequency" in p:
            assert p["MaximumExecutionFrequency"] in freq
        report = validator.validate({"ConfigRule": p}, model.operation_model("PutConfigRule").input_shape)
        assert not report.has_errors(), report.generate_report()
    for res in resources_of(template, "AWS::Config::RemediationConfiguration").values():
        p = copy.deepcopy(res["Properties"])
        for v in p["Parameters"].values():
            if "StaticValue" in v:
                v["StaticValue"]["Values"] = [sub_role_arn(x) if isinstance(x, dict) else x for x in v["StaticValue"]["Values"]]
            else:
                assert v["ResourceValue"]["Value"] in _enum(model, "ResourceValueType")
        assert p["TargetType"] in _enum(model, "RemediationTargetType")
        report = validator.validate({"RemediationConfigurations": [p]}, model.operation_model("PutRemediationConfigurations").input_shape)
        assert not report.has_errors(), report.generate_report()


# --- guardrail interplay ----------------------------------------------------------------------


def _only_exempts_by_principal(condition: dict | None) -> bool:
    """True when a Deny's only condition is the exemption list, i.e. it hits every other role."""
    if not condition:
        return True
    return all(
        op.lower() in ("arnnotlike", "arnnotlikeifexists") and {k.lower() for k in keys} == {"aws:principalarn"}
        for op, keys in condition.items()
    )


def _scp_denials() -> dict[str, list[str]]:
    """SCP id -> actions it denies to any non-exempt role (statements that also depend on the
    request, like Region, instance type or the root principal, don't apply to every call)."""
    out: dict[str, list[str]] = {}
    for path in sorted((REPO / "policies" / "scp").glob("*.json")):
        doc = json.loads(path.read_text())
        for st in doc.get("Statement", []):
            if st.get("Effect") == "Deny" and "Action" in st and _only_exempts_by_principal(st.get("Condition")):
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                out.setdefault(path.stem, []).extend(actions)
    return out


def test_scp_conflicts_are_declared():
    """Remediation APIs that the blueprint's SCPs deny must be listed, so the role gets exempted."""
    denials = _scp_denials()
    if not denials:
        pytest.skip("no SCP documents in this checkout")
    for name, rem in cp.REMEDIATIONS.items():
        found: dict[str, list[str]] = {}
        for policy, patterns in denials.items():
            hit = sorted(a for a in rem["iam_actions"] if any(fnmatch.fnmatch(a.lower(), p.lower()) for p in patterns))
            if hit:
                found[policy] = hit
        assert found == rem["scp_conflicts"], name


# --- size and determinism -------------------------------------------------------------------------


def test_template_size_and_determinism():
    a = cp.template_body(ROLE)
    b = cp.template_body(ROLE)
    assert a == b
    assert len(a.encode("utf-8")) < cp.TEMPLATE_BODY_LIMIT == 51_200
    assert a == json.dumps(json.loads(a), sort_keys=True, separators=(",", ":"))
    assert cp.template_body() == cp.template_body(cp.DEFAULT_REMEDIATION_ROLE)
    # Building the template doesn't mutate the module's tables.
    before = copy.deepcopy((cp.RULES, cp.REMEDIATIONS))
    cp.conformance_pack_template(ROLE, ACCOUNT)
    assert (cp.RULES, cp.REMEDIATIONS) == before
