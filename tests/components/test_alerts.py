"""components/alerts.py: critical events reach an encrypted SNS topic with the configured subscribers."""

from __future__ import annotations

import json

from blueprint.baseline.events import CRITICAL_EVENTS
from blueprint.config import load_file
from tests.conftest import REPO, account_name_of, shared_account_name
from tests.conftest import resources_of as _resources_of


def resources_of(plan, type_):
    """This component's resources only (team pipelines have topics and rules of their own)."""
    return [r for r in _resources_of(plan, type_) if r["name"].startswith("org-baseline-alerts")]

REQUIRED_EVENTS = {
    "StopLogging", "DeleteTrail", "UpdateTrail", "LeaveOrganization", "DetachPolicy", "UpdatePolicy",
    "DeleteDetector", "DisableSecurityHub", "Disable", "CreateUser", "CreateAccessKey", "ScheduleKeyDeletion",
    "StopConfigurationRecorder",
}


def test_topic_is_kms_encrypted_and_subscribed_by_config(plan):
    cfg = load_file(REPO / f"Pulumi.{plan['stack']}.yaml")
    (topic,) = resources_of(plan, "aws:sns/topic:Topic")
    assert topic["inputs"]["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert account_name_of(plan, topic) == shared_account_name(plan["stack"], "security")
    subs = resources_of(plan, "aws:sns/topicSubscription:TopicSubscription")
    assert sorted(s["inputs"]["endpoint"] for s in subs) == sorted(cfg.security_baseline.alert_emails)
    assert all(s["inputs"]["protocol"] == "email" for s in subs)


def test_every_required_event_has_a_rule_publishing_to_the_topic(plan):
    rules = resources_of(plan, "aws:cloudwatch/eventRule:EventRule")
    names = set()
    for r in rules:
        names |= set(json.loads(r["inputs"]["eventPattern"]).get("detail", {}).get("eventName", []))
    assert REQUIRED_EVENTS <= names
    assert any(json.loads(r["inputs"]["eventPattern"]).get("detail-type") == ["AWS Console Sign In via CloudTrail"] for r in rules), "root sign-in"
    targets = resources_of(plan, "aws:cloudwatch/eventTarget:EventTarget")
    (topic,) = resources_of(plan, "aws:sns/topic:Topic")
    assert len(targets) == len(rules) == len(CRITICAL_EVENTS)
    assert all(t["inputs"]["arn"] == topic["id"] for t in targets)


def test_break_glass_rule_matches_the_configured_roles(plan):
    cfg = load_file(REPO / f"Pulumi.{plan['stack']}.yaml")
    rule = next(r for r in resources_of(plan, "aws:cloudwatch/eventRule:EventRule") if r["name"].endswith("break-glass-used"))
    arns = json.loads(rule["inputs"]["eventPattern"])["detail"]["requestParameters"]["roleArn"]
    # The org-level names, and every team break-glass role by its path (one entry for all teams).
    assert arns == [{"wildcard": f"arn:aws:iam::*:role/{n}"} for n in sorted(cfg.guardrails.break_glass_roles)] + [
        {"wildcard": "arn:aws:iam::*:role/secure-org/break-glass/*"}]


def test_alert_bus_accepts_only_the_organization(plan):
    (policy,) = resources_of(plan, "aws:cloudwatch/eventBusPolicy:EventBusPolicy")
    (stmt,) = json.loads(policy["inputs"]["policy"])["Statement"]
    (org,) = _resources_of(plan, "aws:organizations/organization:Organization")
    assert stmt["Action"] == "events:PutEvents" and stmt["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": org["id"]}}
