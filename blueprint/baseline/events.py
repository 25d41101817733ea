"""Critical API events worth waking someone for, as EventBridge patterns.

One list serves both ends: member accounts forward matches to the security account's
alert bus (StackSet baseline), and the management and security accounts alert on them
directly. Each pattern matches CloudTrail-delivered API calls ("AWS API Call via
CloudTrail") or service events, so no custom code is needed to detect them.
"""

from __future__ import annotations

from typing import Any

API_CALL = "AWS API Call via CloudTrail"
# A rule in state ENABLED never sees read-only CloudTrail management events; sts:AssumeRole is
# one (readOnly: true), so the break-glass rule needs the state that takes them all.
ALL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
READ_ONLY_EVENTS = frozenset({"break-glass-used"})


def _api(source: str, names: list[str]) -> dict[str, Any]:
    return {"source": [source], "detail-type": [API_CALL], "detail": {"eventSource": [source.removeprefix("aws.") + ".amazonaws.com"], "eventName": names}}


# name -> (description, pattern)
CRITICAL_EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "cloudtrail-tampering": (
        "CloudTrail stopped, deleted or reconfigured",
        _api("aws.cloudtrail", ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"]),
    ),
    "organization-changes": (
        "Account leaving the organization, or guardrail policies detached or changed",
        _api(
            "aws.organizations",
            ["LeaveOrganization", "RemoveAccountFromOrganization", "DetachPolicy", "UpdatePolicy", "DeletePolicy", "DisablePolicyType"],
        ),
    ),
    "guardduty-disabled": (
        "GuardDuty detector deleted, disabled, or its members removed",
        _api("aws.guardduty", ["DeleteDetector", "UpdateDetector", "DisassociateFromMasterAccount", "DisassociateFromAdministratorAccount", "DeleteMembers", "StopMonitoringMembers"]),
    ),
    "securityhub-disabled": (
        "Security Hub disabled or standards turned off",
        _api("aws.securityhub", ["DisableSecurityHub", "BatchDisableStandards", "DisassociateFromAdministratorAccount", "DisassociateFromMasterAccount"]),
    ),
    "inspector-disabled": (
        "Inspector scanning disabled",
        _api("aws.inspector2", ["Disable", "DisableDelegatedAdminAccount", "DisassociateMember"]),
    ),
    "root-sign-in": (
        "Root user signed in to the console",
        # With the source: EventBridge refuses PutEvents with an aws.* source, so no principal can
        # forge this alert onto the org's alert bus.
        {"source": ["aws.signin"], "detail-type": ["AWS Console Sign In via CloudTrail"], "detail": {"userIdentity": {"type": ["Root"]}}},
    ),
    "iam-user-or-key-created": (
        "IAM user, login profile or access key created",
        _api("aws.iam", ["CreateUser", "CreateAccessKey", "CreateLoginProfile"]),
    ),
    "kms-key-deletion": (
        "KMS key deletion scheduled or key disabled",
        _api("aws.kms", ["ScheduleKeyDeletion", "DisableKey"]),
    ),
    "config-recorder-stopped": (
        "AWS Config recorder stopped or deleted",
        _api("aws.config", ["StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel"]),
    ),
    "break-glass-used": (
        "A break-glass role was assumed",
        {
            "source": ["aws.sts"],
            "detail-type": [API_CALL],
            "detail": {"eventSource": ["sts.amazonaws.com"], "eventName": ["AssumeRole"], "requestParameters": {"roleArn": [{"wildcard": "arn:aws:iam::*:role/BreakGlass*"}]}},
        },
    ),
}


def break_glass_pattern(role_names: list[str]) -> dict[str, Any]:
    """The break-glass pattern for the configured role names (not only BreakGlass*)."""
    pattern = dict(CRITICAL_EVENTS["break-glass-used"][1])
    detail = dict(pattern["detail"])
    # Team break-glass roles live under one path (blueprint.guardrails.TEAM_ROLE_PATHS): one
    # wildcard covers every team, so onboarding a team never changes this rule.
    arns = [f"arn:aws:iam::*:role/{name}" for name in sorted(role_names)] + ["arn:aws:iam::*:role/secure-org/break-glass/*"]
    detail["requestParameters"] = {"roleArn": [{"wildcard": a} for a in arns]}
    pattern["detail"] = detail
    return pattern


def patterns(break_glass_roles: list[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    out = dict(CRITICAL_EVENTS)
    out["break-glass-used"] = (out["break-glass-used"][0], break_glass_pattern(break_glass_roles))
    return out


def rule_state(key: str) -> str:
    """The state a rule for this critical event needs to see its events at all."""
    return ALL_MANAGEMENT_EVENTS if key in READ_ONLY_EVENTS else "ENABLED"
