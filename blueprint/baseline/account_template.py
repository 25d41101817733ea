"""The per-account security baseline: a CloudFormation template generated from Python.

A service-managed StackSet (auto-deployment to OUs) deploys it to every member account in
every allowed region, so the template is region-aware:

* regional settings live in every region: the AWS Config recorder and delivery channel,
  EBS encryption by default and IMDSv2 defaults (through ``Custom::AccountBaseline``), and
  the critical-event forwarding rules (EventBridge rules are regional);
* global settings exist only where ``AWS::Region == HomeRegion`` (condition ``IsHomeRegion``):
  the audit, break-glass, Config-remediation and alert-forwarder IAM roles, the IAM password
  policy and the account-level S3 public access block.

The custom resource's Lambda and its execution role exist in every region because the
function does. The role name carries the region (``secure-org-account-baseline-<region>``),
so no region waits for the home region's IAM resources. Those role names and the
remediation role must be exempt from the guardrail SCPs that deny
``ec2:ModifyInstanceMetadataDefaults``, ``s3:PutAccountPublicAccessBlock`` and
``ec2:ModifyInstanceMetadataOptions``; see :data:`SCP_EXEMPT_ROLE_PATTERNS`.

The template is built as plain data. :func:`template_body` gives the compact JSON the
StackSet takes (``TemplateBody`` is limited to 51,200 bytes).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from blueprint.baseline import ami_key_grant, patching
from blueprint.baseline.events import patterns, rule_state
from blueprint.images.naming import KEY_GRANT_ROLE_PREFIX

REPO = Path(__file__).resolve().parents[2]
HANDLER_PATH = REPO / "functions" / "account_baseline" / "handler.py"

TEMPLATE_BODY_LIMIT = 51_200  # bytes, CloudFormation TemplateBody (StackSet too)
INLINE_CODE_LIMIT = 4_096  # characters we allow for Code.ZipFile (the historic CFN limit)

PREFIX = "secure-org"
BASELINE_FUNCTION_NAME = f"{PREFIX}-account-baseline"  # regional: the same name in each region
BASELINE_ROLE_PREFIX = f"{PREFIX}-account-baseline-"  # + region: IAM is global, one role per region
ALERT_FORWARDER_ROLE_NAME = f"{PREFIX}-alert-forwarder"
CONFIG_RECORDER_NAME = "default"
LOG_RETENTION_DAYS = 365
DEFAULT_BREAK_GLASS_ROLES = ("BreakGlassAdmin",)

# Role ARN patterns the guardrail SCPs must exempt so the baseline can do its job. The
# remediation role's default name is listed; if RemediationRoleName is overridden, exempt that.
SCP_EXEMPT_ROLE_PATTERNS = (
    f"arn:aws:iam::*:role/{BASELINE_ROLE_PREFIX}*",
    f"arn:aws:iam::*:role/{PREFIX}-config-remediation",
    # The golden-AMI key grant (a custom resource of this template) must also succeed in a
    # suspended account, or the StackSet rollout counts it as failed; its own policy is one grant.
    f"arn:aws:iam::*:role/{KEY_GRANT_ROLE_PREFIX}*",
)

ROLE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$"

PARAMETERS: dict[str, str] = {
    "HomeRegion": "Region where account-global resources (IAM roles, password policy, S3 account public access block) are created",
    "OrgId": "AWS Organizations id (o-...) the audit and break-glass callers must belong to",
    "ManagementAccountId": "Management account id; its break-glass operator roles may assume the break-glass roles",
    "SecurityAccountId": "Security (audit) account id; its audit principal may assume the read-only audit role",
    "ConfigBucketName": "Central AWS Config delivery bucket in the log-archive account",
    "ConfigKmsKeyArn": "KMS key ARN (not alias) that AWS Config uses to encrypt deliveries to ConfigBucketName",
    "AlertEventBusArn": "Event bus in the security account that receives forwarded critical events",
    "BreakGlassTrustedPrincipalArns": "Exact role ARNs in the management account allowed to assume break-glass roles (with MFA)",
    "AuditTrustedPrincipalArn": "Exact role ARN in the security account allowed to assume the audit role",
    "PasswordMinLength": "Minimum IAM user password length (14-128)",
    "RemediationRoleName": "Name of the role AWS Config remediation (SSM Automation) assumes",
    "AuditRoleName": "Name of the read-only security audit role",
    ami_key_grant.PARAMETER: ami_key_grant.PARAMETER_SPEC["Description"],
    patching.PARAMETER: patching.PARAMETER_SPEC["Description"],
}

_PARAMETER_SPECS: dict[str, dict[str, Any]] = {
    "HomeRegion": {"Type": "String", "AllowedPattern": r"^[a-z]{2}(-[a-z]+)+-[0-9]$"},
    "OrgId": {"Type": "String", "AllowedPattern": r"^o-[a-z0-9]{10,32}$"},
    "ManagementAccountId": {"Type": "String", "AllowedPattern": r"^[0-9]{12}$"},
    "SecurityAccountId": {"Type": "String", "AllowedPattern": r"^[0-9]{12}$"},
    "ConfigBucketName": {"Type": "String", "AllowedPattern": r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"},
    "ConfigKmsKeyArn": {"Type": "String", "AllowedPattern": r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$"},
    "AlertEventBusArn": {"Type": "String", "AllowedPattern": r"^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:event-bus/[A-Za-z0-9._/-]+$"},
    "BreakGlassTrustedPrincipalArns": {"Type": "CommaDelimitedList", "AllowedPattern": ROLE_ARN_PATTERN},
    "AuditTrustedPrincipalArn": {"Type": "String", "AllowedPattern": ROLE_ARN_PATTERN},
    "PasswordMinLength": {"Type": "Number", "Default": 16, "MinValue": 14, "MaxValue": 128},
    "RemediationRoleName": {"Type": "String", "Default": f"{PREFIX}-config-remediation", "AllowedPattern": ROLE_NAME_RE.pattern},
    "AuditRoleName": {"Type": "String", "Default": f"{PREFIX}-security-audit", "AllowedPattern": ROLE_NAME_RE.pattern},
    ami_key_grant.PARAMETER: {k: v for k, v in ami_key_grant.PARAMETER_SPEC.items() if k != "Description"},
    patching.PARAMETER: {k: v for k, v in patching.PARAMETER_SPEC.items() if k != "Description"},
}

HOME = "IsHomeRegion"
NO_VALUE = {"Ref": "AWS::NoValue"}
ALL = "*"  # only for actions that have no resource-level permissions (said at each use)


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def _if_home(value: Any, otherwise: Any = NO_VALUE) -> dict[str, Any]:
    return {"Fn::If": [HOME, value, otherwise]}


def _stmt(sid: str, actions: list[str], resources: Any, condition: dict | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def _policy(*statements: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _trust(principal: dict[str, Any], condition: dict[str, Any]) -> dict[str, Any]:
    return _policy({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", "Condition": condition})


def _managed(name: str) -> dict[str, str]:
    return _sub(f"arn:${{AWS::Partition}}:iam::aws:policy/{name}")


def _logical_id(prefix: str, name: str) -> str:
    return prefix + "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def handler_source() -> str:
    """The custom resource's code: functions/account_baseline/handler.py, inlined verbatim."""
    return HANDLER_PATH.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- resources
def _baseline_resources(code: str) -> dict[str, Any]:
    """Lambda-backed Custom::AccountBaseline, its role and its log group (every region)."""
    log_group = f"/aws/lambda/{BASELINE_FUNCTION_NAME}"
    role_policy = _policy(
        # EnableEbsEncryptionByDefault, GetInstanceMetadataDefaults and
        # ModifyInstanceMetadataDefaults have no resource-level permissions: "*" pinned to
        # this region. GetInstanceMetadataDefaults tells whether a declarative policy owns IMDS.
        _stmt(
            "RegionalEc2Defaults",
            ["ec2:EnableEbsEncryptionByDefault", "ec2:GetInstanceMetadataDefaults", "ec2:ModifyInstanceMetadataDefaults"],
            ALL,
            {"StringEquals": {"aws:RequestedRegion": _ref("AWS::Region")}},
        ),
        # Config's service-linked role, created if missing (regions may deploy in any order).
        _stmt(
            "ConfigServiceLinkedRole",
            ["iam:CreateServiceLinkedRole"],
            _sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"),
            {"StringEquals": {"iam:AWSServiceName": "config.amazonaws.com"}},
        ),
        # s3:PutAccountPublicAccessBlock has no resource-level permissions: "*", own account only.
        _if_home(
            _stmt(
                "AccountPublicAccessBlock",
                ["s3:PutAccountPublicAccessBlock"],
                ALL,
                {"StringEquals": {"s3:ResourceAccount": _ref("AWS::AccountId")}},
            )
        ),
        # iam:UpdateAccountPasswordPolicy has no resource-level permissions: "*".
        _if_home(_stmt("PasswordPolicy", ["iam:UpdateAccountPasswordPolicy"], ALL)),
        _stmt(
            "OwnLogGroup",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            _sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{log_group}:*"),
        ),
    )
    return {
        "BaselineLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            # Explicitly deleted with the stack: the name is fixed, so a retained group would
            # make the next deployment to this account and region fail.
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": log_group, "RetentionInDays": LOG_RETENTION_DAYS},
        },
        "BaselineFunctionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": _sub(f"{BASELINE_ROLE_PREFIX}${{AWS::Region}}"),
                "Description": "Runs Custom::AccountBaseline in this region",
                "AssumeRolePolicyDocument": _policy(
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ),
                "Policies": [{"PolicyName": "account-baseline", "PolicyDocument": role_policy}],
            },
        },
        "BaselineFunction": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": BASELINE_FUNCTION_NAME,
                "Description": "Custom::AccountBaseline: EBS encryption, IMDSv2 defaults, S3 account PAB, password policy",
                "Runtime": "python3.13",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["BaselineFunctionRole", "Arn"]},
                "Timeout": 120,
                "MemorySize": 128,
                "LoggingConfig": {"LogGroup": _ref("BaselineLogGroup"), "LogFormat": "Text"},
                "Code": {"ZipFile": code},
            },
        },
        "AccountBaseline": {
            "Type": "Custom::AccountBaseline",
            "Properties": {
                "ServiceToken": {"Fn::GetAtt": ["BaselineFunction", "Arn"]},
                "ServiceTimeout": 300,  # seconds CFN waits for an answer (default: one hour)
                "AccountId": _ref("AWS::AccountId"),
                "Global": _if_home("true", "false"),
                "PasswordMinLength": _ref("PasswordMinLength"),
                # A code change changes this property, so CloudFormation re-runs the baseline.
                "CodeSha256": hashlib.sha256(code.encode()).hexdigest(),
            },
        },
    }


def _config_resources() -> dict[str, Any]:
    """AWS Config recorder + delivery channel (every region).

    CloudFormation starts the recorder as soon as the delivery channel exists (the
    recorder's StartedOnCreate defaults to true), so no StartConfigurationRecorder call is
    needed. Global IAM resource types are recorded in the home region only.
    """
    return {
        "ConfigRecorder": {
            "Type": "AWS::Config::ConfigurationRecorder",
            # The service-linked role is ensured by the custom resource.
            "DependsOn": ["AccountBaseline"],
            "Properties": {
                "Name": CONFIG_RECORDER_NAME,
                "RoleARN": _sub(
                    "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
                ),
                "RecordingGroup": {
                    "AllSupported": True,
                    "IncludeGlobalResourceTypes": _if_home(True, False),
                    "RecordingStrategy": {"UseOnly": "ALL_SUPPORTED_RESOURCE_TYPES"},
                },
            },
        },
        "ConfigDeliveryChannel": {
            "Type": "AWS::Config::DeliveryChannel",
            "DependsOn": ["ConfigRecorder"],  # a delivery channel needs an existing recorder
            "Properties": {
                "Name": CONFIG_RECORDER_NAME,
                "S3BucketName": _ref("ConfigBucketName"),
                "S3KmsKeyArn": _ref("ConfigKmsKeyArn"),
                "ConfigSnapshotDeliveryProperties": {"DeliveryFrequency": "TwentyFour_Hours"},
            },
        },
    }


def _audit_role() -> dict[str, Any]:
    """Read-only audit role: SecurityAudit + ViewOnlyAccess.

    Not ReadOnlyAccess: that one reads data (s3:GetObject, dynamodb:GetItem, ...). The
    auditor needs configuration and metadata, which these two policies cover.
    """
    trust = _trust(
        {"AWS": _sub("arn:${AWS::Partition}:iam::${SecurityAccountId}:root")},
        {
            "ArnEquals": {"aws:PrincipalArn": _ref("AuditTrustedPrincipalArn")},
            "StringEquals": {"aws:PrincipalOrgID": _ref("OrgId")},
        },
    )
    return {
        "AuditRole": {
            "Type": "AWS::IAM::Role",
            "Condition": HOME,
            "Properties": {
                "RoleName": _ref("AuditRoleName"),
                "Description": "Read-only security audit, assumable only by the security account's audit principal",
                "AssumeRolePolicyDocument": trust,
                "ManagedPolicyArns": [_managed("SecurityAudit"), _managed("job-function/ViewOnlyAccess")],
                "MaxSessionDuration": 3600,
            },
        }
    }


def _break_glass_roles(names: Sequence[str]) -> dict[str, Any]:
    trust = _trust(
        {"AWS": _sub("arn:${AWS::Partition}:iam::${ManagementAccountId}:root")},
        {
            "ArnEquals": {"aws:PrincipalArn": _ref("BreakGlassTrustedPrincipalArns")},
            "StringEquals": {"aws:PrincipalOrgID": _ref("OrgId")},
            "Bool": {"aws:MultiFactorAuthPresent": "true"},
            "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
        },
    )
    out: dict[str, Any] = {}
    for name in names:
        out[_logical_id("BreakGlassRole", name)] = {
            "Type": "AWS::IAM::Role",
            "Condition": HOME,
            "Properties": {
                "RoleName": name,
                "Description": "Break-glass administrator: MFA-authenticated management-account operators only",
                "AssumeRolePolicyDocument": trust,
                # The one place administrator access is allowed.
                "ManagedPolicyArns": [_managed("AdministratorAccess")],
                "MaxSessionDuration": 3600,
                "Tags": [{"Key": "break-glass", "Value": "true"}],
            },
        }
    return out


def _remediation_role() -> dict[str, Any]:
    """What the conformance pack's SSM remediations need, and nothing else."""
    own = "${AWS::AccountId}"
    own_account = {"StringEquals": {"s3:ResourceAccount": _ref("AWS::AccountId")}}
    policy = _policy(
        _stmt("TrailLogging", ["cloudtrail:GetTrail", "cloudtrail:UpdateTrail"], _sub(f"arn:${{AWS::Partition}}:cloudtrail:*:{own}:trail/*")),
        # No resource-level permissions: cloudtrail:DescribeTrails, config:ListDiscoveredResources,
        # ec2:DescribeInstances, ec2:Enable/GetEbsEncryptionByDefault.
        _stmt(
            "NoResourceLevelReads",
            [
                "cloudtrail:DescribeTrails",
                "config:ListDiscoveredResources",
                "ec2:DescribeInstances",
                "ec2:EnableEbsEncryptionByDefault",
                "ec2:GetEbsEncryptionByDefault",
            ],
            ALL,
        ),
        _stmt(
            "KeyRotation",
            ["kms:DescribeKey", "kms:EnableKeyRotation", "kms:GetKeyRotationStatus"],
            _sub(f"arn:${{AWS::Partition}}:kms:*:{own}:key/*"),
        ),
        # s3:Get/PutAccountPublicAccessBlock have no resource-level permissions: "*", own account.
        _stmt("AccountPublicAccessBlock", ["s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock"], ALL, own_account),
        _stmt(
            "BucketPublicAccessAndTls",
            ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock"],
            _sub("arn:${AWS::Partition}:s3:::*"),
            own_account,
        ),
        _stmt("InstanceImdsV2", ["ec2:ModifyInstanceMetadataOptions"], _sub(f"arn:${{AWS::Partition}}:ec2:*:{own}:instance/*")),
        # Nested runbooks: AWS-owned automation definitions carry no account id.
        _stmt(
            "NestedAutomation",
            ["ssm:StartAutomationExecution"],
            [
                _sub("arn:${AWS::Partition}:ssm:*::automation-definition/AWS*"),
                _sub(f"arn:${{AWS::Partition}}:ssm:*:{own}:automation-definition/*"),
            ],
        ),
        _stmt("AutomationStatus", ["ssm:GetAutomationExecution"], _sub(f"arn:${{AWS::Partition}}:ssm:*:{own}:automation-execution/*")),
        # A nested automation runs as this same role, which SSM must be allowed to pass.
        _stmt(
            "PassSelfToSsm",
            ["iam:PassRole"],
            _sub(f"arn:${{AWS::Partition}}:iam::{own}:role/${{RemediationRoleName}}"),
            {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
        ),
    )
    trust = _trust(
        {"Service": "ssm.amazonaws.com"},
        {
            "StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")},
            "ArnLike": {"aws:SourceArn": _sub(f"arn:${{AWS::Partition}}:ssm:*:{own}:automation-execution/*")},
        },
    )
    return {
        "RemediationRole": {
            "Type": "AWS::IAM::Role",
            "Condition": HOME,
            "Properties": {
                "RoleName": _ref("RemediationRoleName"),
                "Description": "AWS Config remediation (SSM Automation) for the conformance pack",
                "AssumeRolePolicyDocument": trust,
                "Policies": [{"PolicyName": "config-remediation", "PolicyDocument": policy}],
                "MaxSessionDuration": 3600,
            },
        }
    }


def _forwarding(break_glass_roles: Sequence[str]) -> dict[str, Any]:
    """One rule per critical event on the default bus, forwarded to the security account's bus."""
    forwarder_arn = _if_home(
        {"Fn::GetAtt": ["AlertForwarderRole", "Arn"]},
        # IAM is global: other regions use the home region's role, by name.
        _sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{ALERT_FORWARDER_ROLE_NAME}"),
    )
    out: dict[str, Any] = {
        "AlertForwarderRole": {
            "Type": "AWS::IAM::Role",
            "Condition": HOME,
            "Properties": {
                "RoleName": ALERT_FORWARDER_ROLE_NAME,
                "Description": "EventBridge forwards critical events to the security account's alert bus",
                "AssumeRolePolicyDocument": _trust(
                    {"Service": "events.amazonaws.com"},
                    {
                        "StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")},
                        "ArnLike": {"aws:SourceArn": _sub(f"arn:${{AWS::Partition}}:events:*:${{AWS::AccountId}}:rule/{PREFIX}-*")},
                    },
                ),
                "Policies": [
                    {
                        "PolicyName": "put-events-alert-bus",
                        "PolicyDocument": _policy(_stmt("AlertBus", ["events:PutEvents"], _ref("AlertEventBusArn"))),
                    }
                ],
            },
        }
    }
    for key, (description, pattern) in sorted(patterns(list(break_glass_roles)).items()):
        out[_logical_id("AlertRule", key)] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": f"{PREFIX}-{key}",
                "Description": description[:512],
                "State": rule_state(key),
                "EventPattern": pattern,
                "Targets": [{"Id": "security-alert-bus", "Arn": _ref("AlertEventBusArn"), "RoleArn": forwarder_arn}],
            },
        }
    return out


# --------------------------------------------------------------------------- template
def _check_roles(break_glass_roles: Sequence[str]) -> list[str]:
    if isinstance(break_glass_roles, str):
        raise TypeError("break_glass_roles must be a list of role names, not a string")
    names = list(break_glass_roles)
    if not names:
        raise ValueError("at least one break-glass role is required")
    bad = [n for n in names if not ROLE_NAME_RE.match(n)]
    if bad:
        raise ValueError(f"invalid IAM role names: {bad}")
    reserved = {ALERT_FORWARDER_ROLE_NAME, f"{PREFIX}-config-remediation", f"{PREFIX}-security-audit"}
    clash = sorted(set(names) & reserved) + sorted(n for n in names if n.startswith(BASELINE_ROLE_PREFIX))
    if clash:
        raise ValueError(f"break-glass role names clash with baseline roles: {clash}")
    ids = [_logical_id("BreakGlassRole", n) for n in names]
    if len(set(ids)) != len(ids):
        raise ValueError(f"break-glass role names must be unique (ignoring punctuation): {names}")
    return names


def account_baseline_template(break_glass_roles: Sequence[str] = DEFAULT_BREAK_GLASS_ROLES) -> dict[str, Any]:
    """The full CloudFormation template as a dict."""
    names = _check_roles(break_glass_roles)
    code = handler_source()
    if len(code) >= INLINE_CODE_LIMIT:
        raise ValueError(f"{HANDLER_PATH.name} is {len(code)} characters; inline code must stay under {INLINE_CODE_LIMIT}")

    parameters = {name: {**spec, "Description": PARAMETERS[name]} for name, spec in _PARAMETER_SPECS.items()}
    resources: dict[str, Any] = {
        **_baseline_resources(code),
        **_config_resources(),
        **_audit_role(),
        **_break_glass_roles(names),
        **_remediation_role(),
        **_forwarding(names),
        **ami_key_grant.resources(LOG_RETENTION_DAYS),
        **patching.resources(LOG_RETENTION_DAYS),
    }
    outputs: dict[str, Any] = {
        "ConfigRecorderName": {"Value": _ref("ConfigRecorder")},
        "BaselineCodeSha256": {"Value": resources["AccountBaseline"]["Properties"]["CodeSha256"]},
        "AuditRoleArn": {"Condition": HOME, "Value": {"Fn::GetAtt": ["AuditRole", "Arn"]}},
        "RemediationRoleArn": {"Condition": HOME, "Value": {"Fn::GetAtt": ["RemediationRole", "Arn"]}},
        "AlertForwarderRoleArn": {"Condition": HOME, "Value": {"Fn::GetAtt": ["AlertForwarderRole", "Arn"]}},
    }
    for name in names:
        logical = _logical_id("BreakGlassRole", name)
        outputs[f"{logical}Arn"] = {"Condition": HOME, "Value": {"Fn::GetAtt": [logical, "Arn"]}}

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            "secure-org per-account security baseline (service-managed StackSet, every allowed region): "
            "AWS Config, EBS encryption and IMDSv2 defaults, S3 account public access block, password policy, "
            "audit/break-glass/remediation roles and critical-event forwarding. Global resources only in HomeRegion."
        ),
        "Parameters": parameters,
        "Conditions": {HOME: {"Fn::Equals": [_ref("AWS::Region"), _ref("HomeRegion")]}, **ami_key_grant.conditions()},
        "Resources": resources,
        "Outputs": outputs,
    }


def template_body(break_glass_roles: Sequence[str] = DEFAULT_BREAK_GLASS_ROLES) -> str:
    """Compact, deterministic JSON of the template, guarded against the 51,200-byte limit."""
    body = json.dumps(account_baseline_template(break_glass_roles), sort_keys=True, separators=(",", ":"))
    size = len(body.encode("utf-8"))
    if size >= TEMPLATE_BODY_LIMIT:
        raise ValueError(f"baseline template is {size} bytes; StackSet TemplateBody must be under {TEMPLATE_BODY_LIMIT}")
    return body
