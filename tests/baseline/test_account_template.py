"""The per-account baseline CloudFormation template (blueprint/baseline/account_template.py).

1. cfn-lint: no errors, no warnings and no informational findings, in us-east-1 and eu-west-1
   (and the harness is shown to catch a broken template, so it cannot pass vacuously).
2. Parameters, size (TemplateBody < 51,200 bytes), determinism.
3. Region awareness: global resources only where AWS::Region == HomeRegion.
4. IAM: exact trust principals (evaluated with blueprint/access/evaluator.py's condition engine),
   MFA on break-glass, no Action "*", "*" resources only for actions without
   resource-level permissions, parliament on every permission policy.
5. The custom resource inlines functions/account_baseline/handler.py verbatim, < 4096 chars.
6. One forwarding rule per critical event, each to AlertEventBusArn through the forwarder role.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterator

import pytest

from blueprint.baseline import account_template as at
from blueprint.baseline.account_template import PARAMETERS, account_baseline_template, template_body
from blueprint.baseline.events import patterns
from blueprint.access.evaluator import conditions_hold

HOME = "IsHomeRegion"
REGIONS = ["us-east-1", "eu-west-1"]
ROLE_SETS = [["BreakGlassAdmin"], ["BreakGlassAdmin", "Ops.BreakGlass_2"]]

ACCOUNT = "111122223333"  # the member account
SECURITY = "222233334444"
MANAGEMENT = "333344445555"
ORG = "o-abcdefghij"
AUDITOR = f"arn:aws:iam::{SECURITY}:role/SecurityAuditor"
OPERATOR = f"arn:aws:iam::{MANAGEMENT}:role/BreakGlassOperator"
BUS = f"arn:aws:events:eu-west-1:{SECURITY}:event-bus/secure-org-alerts"

VALUES: dict[str, Any] = {
    "AWS::Partition": "aws",
    "AWS::AccountId": ACCOUNT,
    "HomeRegion": "eu-west-1",
    "OrgId": ORG,
    "ManagementAccountId": MANAGEMENT,
    "SecurityAccountId": SECURITY,
    "ConfigBucketName": "secure-org-config-logs",
    "ConfigKmsKeyArn": "arn:aws:kms:eu-west-1:444455556666:key/0f0e0d0c-1111-2222-3333-444455556666",
    "AlertEventBusArn": BUS,
    "BreakGlassTrustedPrincipalArns": [OPERATOR],
    "AuditTrustedPrincipalArn": AUDITOR,
    "PasswordMinLength": "16",
    "RemediationRoleName": "secure-org-config-remediation",
    "AuditRoleName": "secure-org-security-audit",
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return account_baseline_template()


def resources(t: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in t["Resources"].items() if v["Type"] == type_}


# --------------------------------------------------------------------------- resolving
class _Absent:
    pass


ABSENT = _Absent()  # AWS::NoValue


def resolve(node: Any, region: str, t: dict[str, Any]) -> Any:
    """Evaluate the intrinsics this template uses, as CloudFormation would in ``region``."""
    home = region == VALUES["HomeRegion"]
    values = {**VALUES, "AWS::Region": region}
    if isinstance(node, list):
        return [v for v in (resolve(x, region, t) for x in node) if v is not ABSENT]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        (fn, arg), = node.items()
        if fn == "Ref":
            if arg == "AWS::NoValue":
                return ABSENT
            if arg in values:
                return values[arg]
            return f"<ref:{arg}>"
        if fn == "Fn::Sub":
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(values[m.group(1)]), arg)
        if fn == "Fn::If":
            assert arg[0] == HOME, arg
            return resolve(arg[1] if home else arg[2], region, t)
        if fn == "Fn::GetAtt":
            target = t["Resources"][arg[0]]
            if target["Type"] == "AWS::IAM::Role" and arg[1] == "Arn":
                return f"arn:aws:iam::{ACCOUNT}:role/{resolve(target['Properties']['RoleName'], region, t)}"
            return f"<{arg[0]}.{arg[1]}>"
    out = {k: resolve(v, region, t) for k, v in node.items()}
    return {k: v for k, v in out.items() if v is not ABSENT}


def deployed(region: str, t: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The resources CloudFormation creates in ``region``, intrinsics resolved."""
    t = t or account_baseline_template()
    home = region == VALUES["HomeRegion"]
    return {
        k: {**v, "Properties": resolve(v.get("Properties", {}), region, t)}
        for k, v in t["Resources"].items()
        if v.get("Condition") is None or (v["Condition"] == HOME and home)
    }


def policy_documents(t: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(resource, kind, document) for every IAM policy document in the template."""
    for lid, res in t["Resources"].items():
        props = res.get("Properties", {})
        if "AssumeRolePolicyDocument" in props:
            yield lid, "trust", props["AssumeRolePolicyDocument"]
        for pol in props.get("Policies", []):
            yield lid, pol["PolicyName"], pol["PolicyDocument"]


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for s in doc["Statement"]:
        if "Fn::If" in s:  # a statement present in one branch only
            out += [b for b in s["Fn::If"][1:] if b != {"Ref": "AWS::NoValue"}]
        else:
            out.append(s)
    return out


def as_list(x: Any) -> list[Any]:
    return x if isinstance(x, list) else [x]


# --------------------------------------------------------------------------- 1. cfn-lint
def _lint(body: str, include_informational: bool = True) -> list[Any]:
    from cfnlint.api import ManualArgs, lint

    args = {"regions": REGIONS}
    if include_informational:
        # Informational (I*) rules are included too. None fires today; if a future one
        # does, decide case by case rather than hiding the whole class.
        args["include_checks"] = ["I"]
    return lint(body, config=ManualArgs(**args))


@pytest.mark.parametrize("roles", ROLE_SETS, ids=lambda r: "+".join(r))
def test_cfn_lint_finds_nothing(roles):
    matches = _lint(template_body(roles))
    assert not matches, "\n".join(f"{m.rule.id} {m.rule.severity}: {m.message} at {m.path}" for m in matches)


def test_cfn_lint_harness_catches_broken_templates():
    t = account_baseline_template()
    t["Parameters"]["Unused"] = {"Type": "String"}  # W2001
    t["Resources"]["AuditRole"]["Properties"]["MaxSessionDuration"] = "one hour"  # E3012
    t["Resources"]["BaselineFunction"]["Properties"]["Runtime"] = "python3.7"  # deprecated runtime
    found = {m.rule.id for m in _lint(json.dumps(t))}
    assert {"W2001", "E3012"} <= found, found
    assert any(r.startswith(("E253", "W253")) for r in found), found


# --------------------------------------------------------------------------- 2. parameters, size
def test_parameters_match_the_template(template):
    assert set(PARAMETERS) == set(template["Parameters"])
    assert list(PARAMETERS) == [
        "HomeRegion", "OrgId", "ManagementAccountId", "SecurityAccountId", "ConfigBucketName",
        "ConfigKmsKeyArn", "AlertEventBusArn", "BreakGlassTrustedPrincipalArns",
        "AuditTrustedPrincipalArn", "PasswordMinLength", "RemediationRoleName", "AuditRoleName",
        "GoldenAmiKeyArns", "PatchSeverityThreshold",
    ]
    for name, description in PARAMETERS.items():
        assert description and "\n" not in description and len(description) <= 4000
        assert template["Parameters"][name]["Description"] == description
    params = template["Parameters"]
    assert params["BreakGlassTrustedPrincipalArns"]["Type"] == "CommaDelimitedList"
    assert params["PasswordMinLength"]["Type"] == "Number" and params["PasswordMinLength"]["Default"] == 16
    assert params["RemediationRoleName"]["Default"] == "secure-org-config-remediation"
    assert params["AuditRoleName"]["Default"] == "secure-org-security-audit"
    # every parameter is used (cfn-lint W2001 checks it too)
    text = json.dumps(template["Resources"]) + json.dumps(template["Conditions"])
    for name in PARAMETERS:
        assert f'"Ref": "{name}"' in text or f"${{{name}}}" in text, name


@pytest.mark.parametrize("name", [n for n, s in at._PARAMETER_SPECS.items() if "AllowedPattern" in s])
def test_parameter_patterns_accept_the_sample_values(name):
    pattern = at._PARAMETER_SPECS[name]["AllowedPattern"]
    for value in as_list(VALUES[name]):
        assert re.fullmatch(pattern, value), (name, value)


def test_parameter_patterns_reject_look_alikes():
    specs = at._PARAMETER_SPECS
    assert not re.fullmatch(specs["ConfigKmsKeyArn"]["AllowedPattern"], "arn:aws:kms:eu-west-1:444455556666:alias/config")
    assert not re.fullmatch(specs["AuditTrustedPrincipalArn"]["AllowedPattern"], "arn:aws:iam::222233334444:root")
    assert not re.fullmatch(specs["AuditTrustedPrincipalArn"]["AllowedPattern"], "arn:aws:iam::*:role/SecurityAuditor")
    assert not re.fullmatch(specs["HomeRegion"]["AllowedPattern"], "us-east1")


def test_size_is_under_the_stackset_limit_and_output_is_deterministic(template):
    body = template_body()
    size = len(body.encode("utf-8"))
    assert size < at.TEMPLATE_BODY_LIMIT == 51_200
    assert body == template_body()  # deterministic
    assert json.loads(body) == template
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))  # compact, sorted
    # headroom: ten break-glass roles still fit. Was 0.75 until the golden-AMI key grant and
    # patch-on-finding custom code (two inlined Lambdas, ~5.5 KB) joined the baseline; the next
    # addition should go to its own StackSet rather than raise this again.
    many = [f"BreakGlass{i}" for i in range(10)]
    assert len(template_body(many).encode()) < 0.85 * at.TEMPLATE_BODY_LIMIT


def test_size_guard_raises(monkeypatch):
    monkeypatch.setattr(at, "TEMPLATE_BODY_LIMIT", 1000)
    with pytest.raises(ValueError, match="51,200|under 1000"):
        template_body()


def test_template_sections(template):
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert set(template) == {"AWSTemplateFormatVersion", "Description", "Parameters", "Conditions", "Resources", "Outputs"}
    assert len(template["Description"]) <= 1024
    assert template["Conditions"] == {HOME: {"Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "HomeRegion"}]},
                                      "HasGoldenAmiKeys": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "GoldenAmiKeyArns"}]}, ""]}]}}


@pytest.mark.parametrize("roles", [[], ["bad name"], ["A", "A"], ["a-b", "aB"], ["secure-org-alert-forwarder"], "BreakGlassAdmin"])
def test_bad_break_glass_role_lists_are_rejected(roles):
    with pytest.raises((ValueError, TypeError)):
        account_baseline_template(roles)


# --------------------------------------------------------------------------- 3. region awareness
HOME_ONLY = {"AuditRole", "RemediationRole", "AlertForwarderRole", "BreakGlassRoleBreakGlassAdmin"}
EVERY_REGION = {"BaselineLogGroup", "BaselineFunctionRole", "BaselineFunction", "AccountBaseline", "ConfigRecorder", "ConfigDeliveryChannel",
                # patching (blueprint/baseline/patching.py), every account and region
                "PatchBaselineAssociation", "PatchOnFindingLogGroup", "PatchOnFindingRole", "PatchOnFindingFunction", "PatchOnFindingInvoke"}
# The golden-AMI key grant (blueprint/baseline/ami_key_grant.py): every region, only with a factory.
WITH_FACTORY = {"AmiKeyGrantLogGroup", "AmiKeyGrantRole", "AmiKeyGrantFunction", "AmiKeyGrant"}


def test_global_resources_carry_the_home_region_condition(template):
    conditional = {k for k, v in template["Resources"].items() if v.get("Condition") == HOME}
    assert conditional == HOME_ONLY
    rules = set(resources(template, "AWS::Events::Rule"))
    assert set(template["Resources"]) == HOME_ONLY | EVERY_REGION | WITH_FACTORY | rules
    assert {k for k, v in template["Resources"].items() if v.get("Condition") == "HasGoldenAmiKeys"} == WITH_FACTORY
    # IAM is global: every IAM role is home-only, except the custom resource's execution
    # role, which exists per region (its name carries the region) because its Lambda does.
    for lid, role in resources(template, "AWS::IAM::Role").items():
        if lid == "BaselineFunctionRole":
            assert role["Properties"]["RoleName"] == {"Fn::Sub": "secure-org-account-baseline-${AWS::Region}"}
        elif lid in ("AmiKeyGrantRole", "PatchOnFindingRole"):
            assert "${AWS::Region}" in role["Properties"]["RoleName"]["Fn::Sub"], lid
        else:
            assert role.get("Condition") == HOME, lid


def test_what_each_region_gets():
    home, other = deployed("eu-west-1"), deployed("us-east-1")
    assert set(home) - set(other) == HOME_ONLY
    assert {home[k]["Type"] for k in set(home) - set(other)} == {"AWS::IAM::Role"}
    # password policy and account public access block are applied only in the home region
    assert home["AccountBaseline"]["Properties"]["Global"] == "true"
    assert other["AccountBaseline"]["Properties"]["Global"] == "false"
    assert home["ConfigRecorder"]["Properties"]["RecordingGroup"]["IncludeGlobalResourceTypes"] is True
    assert other["ConfigRecorder"]["Properties"]["RecordingGroup"]["IncludeGlobalResourceTypes"] is False
    # the Lambda role gets the account-global permissions only where it uses them
    def actions(region_resources):
        doc = region_resources["BaselineFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        return {a for s in doc["Statement"] for a in as_list(s["Action"])}
    global_actions = {"s3:PutAccountPublicAccessBlock", "iam:UpdateAccountPasswordPolicy"}
    assert global_actions <= actions(home)
    assert not global_actions & actions(other)


def _references(node: Any) -> Iterator[tuple[str, bool]]:
    """(resource referenced, guarded by Fn::If IsHomeRegion true-branch)."""
    if isinstance(node, dict):
        if "Fn::If" in node and node["Fn::If"][0] == HOME:
            for name, _ in _references(node["Fn::If"][1]):
                yield name, True
            yield from _references(node["Fn::If"][2])
            return
        if "Fn::GetAtt" in node:
            yield node["Fn::GetAtt"][0], False
        if "Ref" in node:
            yield node["Ref"], False
        for v in node.values():
            yield from _references(v)
    elif isinstance(node, list):
        for v in node:
            yield from _references(v)


def test_home_only_resources_are_referenced_only_where_they_exist(template):
    for section in ("Resources", "Outputs"):
        for lid, item in template[section].items():
            for name, guarded in _references(item):
                if template["Resources"].get(name, {}).get("Condition") == HOME:
                    assert guarded or item.get("Condition") == HOME, f"{section}.{lid} uses {name} outside {HOME}"


# --------------------------------------------------------------------------- 4. IAM
def trust_allows(doc: dict[str, Any], principal_account_root: str, ctx: dict[str, Any]) -> bool:
    """Whether an AWS-principal trust policy lets a caller of that account assume the role."""
    for s in doc["Statement"]:
        assert s["Effect"] == "Allow" and s["Action"] == "sts:AssumeRole"
        if principal_account_root in as_list(s["Principal"].get("AWS", [])) and conditions_hold(s.get("Condition", {}), ctx):
            return True
    return False


def test_audit_role_trusts_only_the_security_principal_in_the_org():
    role = deployed("eu-west-1")["AuditRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]
    assert len(trust["Statement"]) == 1
    stmt = trust["Statement"][0]
    assert stmt["Principal"] == {"AWS": f"arn:aws:iam::{SECURITY}:root"}
    assert stmt["Condition"] == {"ArnEquals": {"aws:PrincipalArn": AUDITOR}, "StringEquals": {"aws:PrincipalOrgID": ORG}}
    root = f"arn:aws:iam::{SECURITY}:root"
    ok = {"aws:PrincipalArn": AUDITOR, "aws:PrincipalOrgID": ORG}
    assert trust_allows(trust, root, ok)
    assert not trust_allows(trust, root, {**ok, "aws:PrincipalArn": f"arn:aws:iam::{SECURITY}:role/Other"})
    assert not trust_allows(trust, root, {**ok, "aws:PrincipalOrgID": "o-zzzzzzzzzz"})
    assert not trust_allows(trust, f"arn:aws:iam::{MANAGEMENT}:root", ok)
    assert role["RoleName"] == "secure-org-security-audit"
    assert role["MaxSessionDuration"] == 3600
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/SecurityAudit", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]
    assert "Policies" not in role


@pytest.mark.parametrize("roles", ROLE_SETS, ids=lambda r: "+".join(r))
def test_break_glass_roles_require_mfa_and_the_exact_operator(roles):
    t = account_baseline_template(roles)
    found = {k: v for k, v in deployed("eu-west-1", t).items() if k.startswith("BreakGlassRole")}
    assert sorted(v["Properties"]["RoleName"] for v in found.values()) == sorted(roles)
    root = f"arn:aws:iam::{MANAGEMENT}:root"
    ok = {"aws:PrincipalArn": OPERATOR, "aws:PrincipalOrgID": ORG, "aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "120"}
    for lid, res in found.items():
        assert res["Condition"] == HOME
        props = res["Properties"]
        trust = props["AssumeRolePolicyDocument"]
        cond = trust["Statement"][0]["Condition"]
        assert cond["Bool"] == {"aws:MultiFactorAuthPresent": "true"}
        assert cond["NumericLessThan"] == {"aws:MultiFactorAuthAge": "3600"}
        assert cond["ArnEquals"] == {"aws:PrincipalArn": [OPERATOR]}
        assert trust_allows(trust, root, ok)
        assert not trust_allows(trust, root, {k: v for k, v in ok.items() if not k.startswith("aws:MultiFactor")})
        assert not trust_allows(trust, root, {**ok, "aws:MultiFactorAuthPresent": "false"})
        assert not trust_allows(trust, root, {**ok, "aws:MultiFactorAuthAge": "7200"})
        assert not trust_allows(trust, root, {**ok, "aws:PrincipalArn": f"arn:aws:iam::{MANAGEMENT}:role/Admin"})
        assert not trust_allows(trust, f"arn:aws:iam::{SECURITY}:root", ok)
        assert props["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
        assert props["MaxSessionDuration"] == 3600
        assert {"Key": "break-glass", "Value": "true"} in props["Tags"]


def test_every_trust_policy_names_exact_principals(template):
    services = {"lambda.amazonaws.com", "ssm.amazonaws.com", "events.amazonaws.com"}
    for region in REGIONS:
        for lid, res in deployed(region).items():
            if res["Type"] != "AWS::IAM::Role":
                continue
            for s in res["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                assert s["Effect"] == "Allow" and s["Action"] == "sts:AssumeRole", lid
                principal = s["Principal"]
                assert principal != "*" and set(principal) <= {"AWS", "Service"}, lid
                for p in as_list(principal.get("AWS", [])):
                    assert re.fullmatch(r"arn:aws:iam::(%s|%s):root" % (SECURITY, MANAGEMENT), p), (lid, p)
                    assert "aws:PrincipalArn" in s["Condition"]["ArnEquals"], lid  # exact role, not the whole account
                for p in as_list(principal.get("Service", [])):
                    assert p in services, (lid, p)
                    if p != "lambda.amazonaws.com":  # confused-deputy protection
                        assert s["Condition"]["StringEquals"]["aws:SourceAccount"] == ACCOUNT, lid


def test_no_action_star_and_admin_only_on_break_glass(template):
    for lid, kind, doc in policy_documents(template):
        for s in statements(doc):
            assert "NotAction" not in s and "NotResource" not in s and s["Effect"] == "Allow", (lid, kind)
            for action in as_list(s["Action"]):
                assert "*" not in action, (lid, kind, action)
    for lid, role in resources(template, "AWS::IAM::Role").items():
        arns = json.dumps(role["Properties"].get("ManagedPolicyArns", []))
        assert ("AdministratorAccess" in arns) == lid.startswith("BreakGlassRole"), lid


def _iam_actions() -> dict[str, dict[str, Any]]:
    import parliament

    path = os.path.join(os.path.dirname(parliament.__file__), "iam_definition.json")
    with open(path) as f:
        data = json.load(f)
    return {f"{s['prefix']}:{p['privilege']}".lower(): p for s in data for p in s["privileges"]}


def test_star_resources_only_for_actions_without_resource_level_permissions(template):
    known = _iam_actions()
    for lid, kind, doc in policy_documents(template):
        if kind == "trust":
            continue
        for s in statements(doc):
            for action in as_list(s["Action"]):
                assert action.lower() in known, f"unknown action {action}"
            if s["Resource"] == "*":
                for action in as_list(s["Action"]):
                    types = {r["resource_type"] for r in known[action.lower()]["resource_types"]}
                    assert types == {""}, f"{lid}/{s['Sid']}: {action} supports resource-level permissions {types}"


def _actions_of(doc: dict[str, Any]) -> set[str]:
    return {a for s in statements(doc) for a in as_list(s["Action"])}


def test_custom_resource_role_is_least_privilege(template):
    role = template["Resources"]["BaselineFunctionRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    (policy,) = role["Policies"]
    assert _actions_of(policy["PolicyDocument"]) == {
        "ec2:EnableEbsEncryptionByDefault",
        "ec2:ModifyInstanceMetadataDefaults",
        "ec2:GetInstanceMetadataDefaults",  # to leave declarative-policy-managed IMDS alone
        "s3:PutAccountPublicAccessBlock",
        "iam:UpdateAccountPasswordPolicy",
        "iam:CreateServiceLinkedRole",  # only AWSServiceRoleForConfig, see below
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    home = deployed("eu-west-1")["BaselineFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in home["Statement"]}
    assert by_sid["ConfigServiceLinkedRole"]["Resource"] == (
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    )
    assert by_sid["ConfigServiceLinkedRole"]["Condition"] == {"StringEquals": {"iam:AWSServiceName": "config.amazonaws.com"}}
    assert by_sid["OwnLogGroup"]["Resource"] == f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/secure-org-account-baseline:*"
    assert by_sid["RegionalEc2Defaults"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    assert by_sid["AccountPublicAccessBlock"]["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}
    log_group = template["Resources"]["BaselineLogGroup"]["Properties"]
    assert log_group == {"LogGroupName": "/aws/lambda/secure-org-account-baseline", "RetentionInDays": 365}
    fn = template["Resources"]["BaselineFunction"]["Properties"]
    assert fn["LoggingConfig"]["LogGroup"] == {"Ref": "BaselineLogGroup"}


def test_remediation_role_has_only_what_remediations_need():
    role = deployed("eu-west-1")["RemediationRole"]["Properties"]
    assert role["RoleName"] == "secure-org-config-remediation"
    (stmt,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert stmt["Principal"] == {"Service": "ssm.amazonaws.com"}
    assert stmt["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    (policy,) = role["Policies"]
    assert _actions_of(policy["PolicyDocument"]) == {
        "cloudtrail:UpdateTrail", "cloudtrail:GetTrail", "cloudtrail:DescribeTrails",
        "kms:EnableKeyRotation", "kms:GetKeyRotationStatus", "kms:DescribeKey",
        "s3:PutAccountPublicAccessBlock", "s3:GetAccountPublicAccessBlock", "s3:PutBucketPublicAccessBlock",
        "ec2:EnableEbsEncryptionByDefault", "ec2:GetEbsEncryptionByDefault",
        "ec2:ModifyInstanceMetadataOptions", "ec2:DescribeInstances",
        "s3:PutBucketPolicy", "s3:GetBucketPolicy",
        "ssm:StartAutomationExecution", "ssm:GetAutomationExecution",
        "config:ListDiscoveredResources",
        "iam:PassRole",  # itself, to SSM only: nested automations run as this role
    }
    by_sid = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert by_sid["PassSelfToSsm"]["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/secure-org-config-remediation"
    assert by_sid["PassSelfToSsm"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}
    for sid in ("AccountPublicAccessBlock", "BucketPublicAccessAndTls"):
        assert by_sid[sid]["Condition"] == {"StringEquals": {"s3:ResourceAccount": ACCOUNT}}
    # every resource ARN with an account field names this account (or none: AWS-owned runbooks)
    for s in policy["PolicyDocument"]["Statement"]:
        for arn in as_list(s["Resource"]):
            parts = arn.split(":")
            assert arn == "*" or parts[4] in ("", ACCOUNT), arn


# (finding, resource) -> why it is acceptable. Everything else parliament reports fails.
PARLIAMENT_ALLOWLIST = {
    # The SSL-only remediation (S3_BUCKET_SSL_REQUESTS_ONLY) must write bucket policies. Only
    # SSM in this account can assume the role; keep iam:PassRole on it tightly held.
    ("RESOURCE_POLICY_PRIVILEGE_ESCALATION", "RemediationRole"): "s3:PutBucketPolicy is what the SSL-only remediation does",
}


def test_parliament_finds_nothing_in_permission_policies():
    from parliament import analyze_policy_string

    bad, used = [], set()
    for region in REGIONS:
        for lid, kind, doc in policy_documents({"Resources": deployed(region)}):
            if kind == "trust":  # parliament lints identity policies, not trust policies
                continue
            for f in analyze_policy_string(json.dumps(doc)).findings:
                if (f.issue, lid) in PARLIAMENT_ALLOWLIST:
                    used.add((f.issue, lid))
                else:
                    bad.append(f"{lid}/{kind}: {f.issue} {f.detail}")
    assert not bad, "\n".join(bad)
    assert used == set(PARLIAMENT_ALLOWLIST), "stale allowlist entries"


# --------------------------------------------------------------------------- 5. custom resource
def test_custom_resource_inlines_the_handler_module(template):
    source = at.HANDLER_PATH.read_text(encoding="utf-8")
    fn = template["Resources"]["BaselineFunction"]["Properties"]
    assert fn["Code"]["ZipFile"] == source
    assert len(source) < 4096
    assert fn["Handler"] == "index.handler" and fn["Runtime"].startswith("python3.")
    assert "def handler(event, context)" in source and "cfnresponse" not in source.split('"""')[-1]
    cr = template["Resources"]["AccountBaseline"]
    assert cr["Type"] == "Custom::AccountBaseline"
    props = cr["Properties"]
    assert props["ServiceToken"] == {"Fn::GetAtt": ["BaselineFunction", "Arn"]}
    assert props["PasswordMinLength"] == {"Ref": "PasswordMinLength"}
    assert props["Global"] == {"Fn::If": [HOME, "true", "false"]}
    assert props["ServiceTimeout"] <= 600
    import hashlib

    assert props["CodeSha256"] == hashlib.sha256(source.encode()).hexdigest()  # code change => Update


def test_inline_code_guard(monkeypatch):
    monkeypatch.setattr(at, "handler_source", lambda: "#" * 4096)
    with pytest.raises(ValueError, match="4096"):
        account_baseline_template()


def test_config_recorder_and_delivery_channel(template):
    rec = template["Resources"]["ConfigRecorder"]
    assert "Condition" not in rec and rec["DependsOn"] == ["AccountBaseline"]  # SLR ensured first
    group = rec["Properties"]["RecordingGroup"]
    assert group["AllSupported"] is True
    assert group["RecordingStrategy"] == {"UseOnly": "ALL_SUPPORTED_RESOURCE_TYPES"}
    assert group["IncludeGlobalResourceTypes"] == {"Fn::If": [HOME, True, False]}
    assert deployed("us-east-1")["ConfigRecorder"]["Properties"]["RoleARN"] == (
        f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    )
    ch = template["Resources"]["ConfigDeliveryChannel"]
    assert ch["DependsOn"] == ["ConfigRecorder"]
    assert ch["Properties"]["S3BucketName"] == {"Ref": "ConfigBucketName"}
    assert ch["Properties"]["S3KmsKeyArn"] == {"Ref": "ConfigKmsKeyArn"}


# --------------------------------------------------------------------------- 6. forwarding
@pytest.mark.parametrize("roles", ROLE_SETS, ids=lambda r: "+".join(r))
def test_one_forwarding_rule_per_critical_event(roles):
    t = account_baseline_template(roles)
    rules = {k: v for k, v in resources(t, "AWS::Events::Rule").items() if k != "PatchOnFindingRule"}  # not a forwarding rule
    expected = patterns(roles)
    assert len(rules) == len(expected)
    by_name = {r["Properties"]["Name"]: r for r in rules.values()}
    assert set(by_name) == {f"secure-org-{k}" for k in expected}
    for key, (description, pattern) in expected.items():
        rule = by_name[f"secure-org-{key}"]
        assert "Condition" not in rule  # rules are regional: every region forwards
        props = rule["Properties"]
        # sts:AssumeRole is a read-only management event: only this state sees it.
        state = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" if key == "break-glass-used" else "ENABLED"
        assert props["EventPattern"] == pattern and props["State"] == state
        assert "EventBusName" not in props  # the default bus
        (target,) = props["Targets"]
        assert target["Arn"] == {"Ref": "AlertEventBusArn"}
        assert target["RoleArn"] == {
            "Fn::If": [
                HOME,
                {"Fn::GetAtt": ["AlertForwarderRole", "Arn"]},
                {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/secure-org-alert-forwarder"},
            ]
        }
    bg = by_name["secure-org-break-glass-used"]["Properties"]["EventPattern"]
    assert bg["detail"]["requestParameters"]["roleArn"] == [{"wildcard": f"arn:aws:iam::*:role/{n}"} for n in sorted(roles)] + [
        {"wildcard": "arn:aws:iam::*:role/secure-org/break-glass/*"}]  # every team's break-glass roles, by path
    # in every region the target role resolves to the same, home-region role
    for region in REGIONS:
        for lid, res in deployed(region, t).items():
            if res["Type"] == "AWS::Events::Rule" and lid != "PatchOnFindingRule":  # a Lambda target, not forwarding
                assert res["Properties"]["Targets"][0]["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/secure-org-alert-forwarder"
                assert res["Properties"]["Targets"][0]["Arn"] == BUS


def test_alert_forwarder_may_only_put_events_on_the_alert_bus():
    role = deployed("eu-west-1")["AlertForwarderRole"]["Properties"]
    assert role["RoleName"] == "secure-org-alert-forwarder"
    (stmt,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert stmt["Principal"] == {"Service": "events.amazonaws.com"}
    assert stmt["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    (policy,) = role["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [{"Sid": "AlertBus", "Effect": "Allow", "Action": ["events:PutEvents"], "Resource": BUS}]
