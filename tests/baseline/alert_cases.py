"""The EventBridge rules recorded in an offline plan, and the sample event each must fire on.

A rule's key is its name (the same on the alert bus and in the forwarding templates), its
logical id where the template gives no name, or ``pipeline-start/<source type>`` for a team's
pipeline start. CASES maps each key to a sample in tests/baseline/events/ (the service's own
event shape; ${...} fields filled from the stack's config and plan), the variants the rule is
meant to catch, and near misses (one field off) it must not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from string import Template
from typing import Any, Callable

from blueprint.config import load_file
from tests.baseline.event_matcher import ENABLED
from tests.conftest import REPO, resources_of, shared_account_name

EVENTS = Path(__file__).parent / "events"
MEMBER = "111122223333"  # the account the samples happen in


@dataclass(frozen=True)
class Rule:
    key: str  # which case covers it
    where: str  # for messages: resource name, and logical id for template rules
    name: str | None
    pattern: dict
    raw: str | None  # the pattern string as sent to PutRule (Pulumi rules)
    state: str
    resource: dict  # the recorded resource (the rule, or the stack that holds it)


@dataclass(frozen=True)
class Case:
    sample: str
    # Substitutions for the sample's ${...} fields: one dict per event that must fire.
    subs: Callable[[dict, Rule], list[dict[str, str]]] = lambda plan, rule: [{}]
    # path -> values: the sample with any one of them must still fire.
    also_fires: dict[str, list[Any]] = field(default_factory=dict)
    # (path, value): the sample with that one field changed must not fire.
    near_misses: tuple[tuple[str, Any], ...] = ()


# --------------------------------------------------------------------------- substitutions
def _config(plan: dict):
    return _config_of(plan["stack"])


@lru_cache(maxsize=None)
def _config_of(stack: str):
    return load_file(REPO / f"Pulumi.{stack}.yaml")


def _break_glass_roles(plan: dict, rule: Rule) -> list[dict[str, str]]:
    """Every configured break-glass role: the organization's, and each team's under its path."""
    cfg = _config(plan)
    names = list(cfg.guardrails.break_glass_roles) + [f"secure-org/break-glass/{r}" for t in cfg.teams for r in t.break_glass_roles]
    return [{"role_arn": f"arn:aws:iam::{MEMBER}:role/{n}", "role_name": n.rsplit("/", 1)[-1]} for n in names]


def _team_of(plan: dict, rule: Rule):
    cfg = _config(plan)
    (team,) = [t for t in cfg.teams if t.pipeline and rule.name == f"{t.key}-pipeline-start"]
    return team


def _tooling_account(plan: dict) -> str:
    name = shared_account_name(plan["stack"], "tooling")
    (acct,) = [a for a in resources_of(plan, "aws:organizations/account:Account") if a["inputs"]["name"] == name]
    return acct["id"]


def _codecommit_source(plan: dict, rule: Rule) -> list[dict[str, str]]:
    source = _team_of(plan, rule).pipeline.source
    (repo,) = [r for r in resources_of(plan, "aws:codecommit/repository:Repository") if r["inputs"]["repositoryName"] == source.repository]
    account, region = _tooling_account(plan), repo["inputs"]["region"]
    return [{"account": account, "region": region, "repository": source.repository, "branch": source.branch,
             "repository_arn": f"arn:aws:codecommit:{region}:{account}:{source.repository}"}]


def _s3_source(plan: dict, rule: Rule) -> list[dict[str, str]]:
    source = _team_of(plan, rule).pipeline.source
    # S3 emits "Object Created" to EventBridge only where the bucket turns that on.
    (note,) = [n for n in resources_of(plan, "aws:s3/bucketNotification:BucketNotification")
               if n["parent"] == rule.resource["parent"] and n["inputs"].get("eventbridge") is True]
    return [{"account": _tooling_account(plan), "region": note["inputs"]["region"], "bucket": note["inputs"]["bucket"], "object_key": source.object_key}]


# --------------------------------------------------------------------------- cases
SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
CASES: dict[str, Case] = {
    "secure-org-cloudtrail-tampering": Case(
        "cloudtrail-stop-logging.json",
        also_fires={"detail.eventName": ["StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"]},
        near_misses=(("detail.eventName", "StartLogging"), ("detail-type", "AWS Service Event via CloudTrail"), ("detail.eventSource", "cloudtrail-data.amazonaws.com")),
    ),
    "secure-org-organization-changes": Case(
        "organizations-detach-policy.json",
        also_fires={"detail.eventName": ["LeaveOrganization", "RemoveAccountFromOrganization", "DetachPolicy", "UpdatePolicy", "DeletePolicy", "DisablePolicyType"]},
        near_misses=(("detail.eventName", "AttachPolicy"), ("detail.eventName", "CreateAccount")),
    ),
    "secure-org-guardduty-disabled": Case(
        "guardduty-delete-detector.json",
        also_fires={"detail.eventName": ["DeleteDetector", "UpdateDetector", "DisassociateFromAdministratorAccount", "DeleteMembers", "StopMonitoringMembers"]},
        near_misses=(("detail.eventName", "CreateDetector"), ("source", "aws.securityhub")),
    ),
    "secure-org-securityhub-disabled": Case(
        "securityhub-disable.json",
        also_fires={"detail.eventName": ["DisableSecurityHub", "BatchDisableStandards", "DisassociateFromAdministratorAccount"]},
        near_misses=(("detail.eventName", "EnableSecurityHub"), ("detail.eventName", "BatchEnableStandards")),
    ),
    "secure-org-inspector-disabled": Case(
        "inspector2-disable.json",
        also_fires={"detail.eventName": ["Disable", "DisableDelegatedAdminAccount", "DisassociateMember"]},
        near_misses=(("detail.eventName", "Enable"), ("source", "aws.inspector"), ("detail.eventSource", "inspector.amazonaws.com")),
    ),
    "secure-org-root-sign-in": Case(
        "root-console-sign-in.json",
        also_fires={"detail.responseElements.ConsoleLogin": ["Success", "Failure"]},
        # A forged event (PutEvents cannot use an aws.* source) must not raise the alert.
        near_misses=(("detail.userIdentity.type", "IAMUser"), ("detail-type", "AWS API Call via CloudTrail"), ("source", "acme.forged")),
    ),
    "secure-org-iam-user-or-key-created": Case(
        "iam-create-access-key.json",
        also_fires={"detail.eventName": ["CreateUser", "CreateAccessKey", "CreateLoginProfile"]},
        near_misses=(("detail.eventName", "DeleteAccessKey"), ("detail.eventName", "CreateRole")),
    ),
    "secure-org-kms-key-deletion": Case(
        "kms-schedule-key-deletion.json",
        also_fires={"detail.eventName": ["ScheduleKeyDeletion", "DisableKey"]},
        near_misses=(("detail.eventName", "CancelKeyDeletion"), ("detail.eventName", "EnableKey")),
    ),
    "secure-org-config-recorder-stopped": Case(
        "config-stop-recorder.json",
        also_fires={"detail.eventName": ["StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel"]},
        near_misses=(("detail.eventName", "StartConfigurationRecorder"), ("detail.eventName", "PutConfigurationRecorder")),
    ),
    "secure-org-break-glass-used": Case(
        "sts-assume-break-glass-role.json",
        subs=_break_glass_roles,
        near_misses=(
            ("detail.requestParameters.roleArn", f"arn:aws:iam::{MEMBER}:role/WorkloadAdmin"),
            ("detail.requestParameters.roleArn", f"arn:aws:iam::{MEMBER}:role/${{role_name}}ReadOnly"),  # a longer name is another role
            ("detail.requestParameters.roleArn", f"arn:aws:iam::{MEMBER}:role/secure-org/exempt/${{role_name}}"),
            ("detail.eventName", "GetCallerIdentity"),
        ),
    ),
    "secure-org-ami-gate-image-available": Case(
        "imagebuilder-image-available.json",
        near_misses=(("detail.state.status", "FAILED"), ("detail.state.status", "DISTRIBUTING"), ("detail-type", "EC2 Image Builder CVE Detected")),
    ),
    "secure-org-ami-gate-inspector-finding": Case(
        "inspector2-finding-ec2.json",
        also_fires={"detail.severity": SEVERITIES},
        near_misses=(("detail.severity", "INFORMATIONAL"), ("detail.status", "CLOSED"), ("detail.status", "SUPPRESSED")),
    ),
    "PatchOnFindingRule": Case(  # the threshold is the function's; the rule takes every active EC2 finding
        "inspector2-finding-ec2.json",
        also_fires={"detail.severity": ["INFORMATIONAL", *SEVERITIES]},
        near_misses=(("detail.resources.0.type", "AWS_ECR_CONTAINER_IMAGE"), ("detail.status", "CLOSED"), ("detail-type", "Inspector2 Coverage")),
    ),
    "pipeline-start/codecommit": Case(
        "codecommit-reference-updated.json",
        subs=_codecommit_source,
        also_fires={"detail.event": ["referenceCreated", "referenceUpdated"]},
        near_misses=(
            ("detail.referenceType", "tag"),
            ("detail.referenceName", "feature/login"),
            ("detail.event", "referenceDeleted"),
            ("resources.0", "arn:aws:codecommit:${region}:${account}:another-repository"),
        ),
    ),
    "pipeline-start/s3": Case(
        "s3-object-created.json",
        subs=_s3_source,
        near_misses=(("detail.object.key", "drafts/${object_key}"), ("detail.bucket.name", "${bucket}-replica"), ("detail-type", "Object Deleted")),
    ),
}


# --------------------------------------------------------------------------- the rules in a plan
def _pulumi_state(inputs: dict) -> str:
    if inputs.get("state"):
        return inputs["state"]
    return "DISABLED" if inputs.get("isEnabled") is False else ENABLED


def recorded_rules(plan: dict) -> list[Rule]:
    cfg = _config(plan)
    teams = {t.key: t for t in cfg.teams if t.pipeline}  # resources are named after the identity
    rules = []
    for r in resources_of(plan, "aws:cloudwatch/eventRule:EventRule"):
        raw = r["inputs"]["eventPattern"]
        name = r["inputs"]["name"]
        key = name
        team = name.removesuffix("-pipeline-start")
        if "TeamPipeline" in r["urn"] and team in teams:
            key = f"pipeline-start/{teams[team].pipeline.source.type}"
        rules.append(Rule(key, r["name"], name, json.loads(raw), raw, _pulumi_state(r["inputs"]), r))
    for stack_type in ("aws:cloudformation/stackSet:StackSet", "aws:cloudformation/stack:Stack"):
        for s in resources_of(plan, stack_type):
            template = json.loads(s["inputs"]["templateBody"])
            for logical, res in template.get("Resources", {}).items():
                if res["Type"] != "AWS::Events::Rule" or "EventPattern" not in res["Properties"]:
                    continue
                props = res["Properties"]
                rules.append(Rule(props.get("Name", logical), f"{s['name']}:{logical}", props.get("Name"), props["EventPattern"], None, props.get("State", ENABLED), s))
    return rules


def sample_events(plan: dict, rule: Rule) -> list[tuple[dict, dict]]:
    """(event, substitutions) for each base event the rule must fire on."""
    case = CASES[rule.key]
    text = (EVENTS / case.sample).read_text()
    return [(json.loads(Template(text).substitute(subs)), subs) for subs in case.subs(plan, rule)]


def substitute(value: Any, subs: dict) -> Any:
    return Template(value).substitute(subs) if isinstance(value, str) else value
