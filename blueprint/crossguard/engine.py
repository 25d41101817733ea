"""Run the secure-org rules over recorded resources: the offline plan's side of CrossGuard.

    from blueprint.crossguard.engine import evaluate
    findings = evaluate(doc["resources"], cfg)          # build/plan-<stack>.json records

Findings have the offline plan's shape ``{"rule", "severity", "urn", "message"}``. A finding
waived by a ``policy_exemptions`` entry stays in the output, downgraded to
``"severity": "advisory"`` so it never fails the plan, with ``"waived": True``, the
exemption's ``"reason"`` and ``"expires"``, and the rule's own level in ``"waived_severity"``.

The policy pack (blueprint.crossguard.pack) calls check_resource / check_stack and the
exemption matcher below, so preview and the offline plan judge a resource identically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from blueprint.crossguard import exemptions as ex
from blueprint.crossguard.documents import provider_account
from blueprint.crossguard.rules import (
    ADVISORY,
    MANDATORY,
    RULES,
    Context,
    Resource,
    Rule,
    Settings,
    resource_rules,
    stack_rules,
)

if TYPE_CHECKING:  # pragma: no cover
    from blueprint.config import StackConfig

POLICY_TYPES = {
    "service_control_policy": "SERVICE_CONTROL_POLICY",
    "resource_control_policy": "RESOURCE_CONTROL_POLICY",
    "tag_policy": "TAG_POLICY",
    "declarative_policy_ec2": "DECLARATIVE_POLICY_EC2",
}


def settings_from_config(cfg: "StackConfig | None") -> Settings:
    """Break-glass role names, policy limits and exemptions from a parsed stack config."""
    if cfg is None:
        return Settings()
    break_glass = set(cfg.guardrails.break_glass_roles)
    for team in cfg.teams:
        break_glass.update(team.break_glass_roles)
    limits = {}
    for field, aws_type in POLICY_TYPES.items():
        lim = getattr(cfg.organization.policy_limits, field)
        limits[aws_type] = (lim.max_chars, lim.max_per_target)
    return Settings(
        break_glass_roles=frozenset(break_glass),
        policy_limits=limits,
        exemptions=tuple(cfg.policy_exemptions),
    )


def rule_names() -> set[str]:
    return {r.name for r in RULES}


# ---------------------------------------------------------------------------
# One rule on one resource / on the stack (shared with the pack adapters)
# ---------------------------------------------------------------------------

def check_resource(rule: Rule, props: Mapping[str, Any], ctx: Context) -> list[str]:
    """Violation messages of a resource rule; a rule that crashes fails closed with a message."""
    if not rule.applies_to(ctx.resource_type):
        return []
    try:
        return [str(m) for m in rule.check(props, ctx)]
    except Exception as exc:  # noqa: BLE001 - a broken rule must not pass silently
        return [f"rule could not evaluate this resource ({type(exc).__name__}: {exc})"]


def check_stack(rule: Rule, resources: Sequence[Resource], settings: Settings) -> list[tuple[Resource | None, str]]:
    try:
        return [(r, str(m)) for r, m in rule.check(resources, settings)]
    except Exception as exc:  # noqa: BLE001
        return [(None, f"rule could not evaluate the stack ({type(exc).__name__}: {exc})")]


# ---------------------------------------------------------------------------
# Plan records -> Resource
# ---------------------------------------------------------------------------

def _provider_urn(ref: str | None) -> str | None:
    """Plan/engine provider references are '<provider urn>::<provider id>'."""
    if not ref:
        return None
    return ref.rsplit("::", 1)[0] if ref.count("::") > 3 else ref


def to_resources(records: Sequence[Mapping[str, Any]]) -> list[Resource]:
    """The offline plan's recorded registrations (custom resources only) as rule Resources."""
    accounts = {
        r["urn"]: provider_account(r.get("inputs") or {})
        for r in records
        if str(r.get("type", "")).startswith("pulumi:providers:")
    }
    out = []
    for r in records:
        rtype = str(r.get("type", ""))
        if not r.get("custom", True) or rtype.startswith("pulumi:providers:"):
            continue
        out.append(
            Resource(
                type=rtype,
                name=r.get("name", ""),
                urn=r.get("urn", ""),
                props=r.get("inputs") or {},
                protect=bool(r.get("protect")),
                id=r.get("id") or None,
                parent=r.get("parent") or None,
                property_dependencies={k: list(v) for k, v in (r.get("property_dependencies") or {}).items()},
                account_id=accounts.get(_provider_urn(r.get("provider"))),
            )
        )
    return out


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------

def _finding(rule: str, severity: str, urn: str, message: str) -> dict[str, Any]:
    return {"rule": rule, "severity": severity, "urn": urn, "message": message}


def raw_findings(resources: Sequence[Resource], settings: Settings) -> list[tuple[Rule, Resource | None, str]]:
    """Every violation of every rule, before exemptions."""
    out: list[tuple[Rule, Resource | None, str]] = []
    by_type: dict[str, list[Rule]] = {}
    for rule in resource_rules():
        for t in rule.types:
            by_type.setdefault(t, []).append(rule)
    for res in resources:
        rules = by_type.get(res.type)
        if not rules:
            continue
        ctx = Context(res.type, res.name, res.urn, res.protect, res.account_id, settings)
        for rule in rules:
            out.extend((rule, res, msg) for msg in check_resource(rule, res.props, ctx))
    for rule in stack_rules():
        out.extend((rule, res, msg) for res, msg in check_stack(rule, resources, settings))
    return out


def evaluate_resources(resources: Sequence[Resource], settings: Settings, today: date | None = None) -> list[dict[str, Any]]:
    """Findings (exemptions applied, exemption hygiene included) over Resources."""
    today = today or date.today()
    out: list[dict[str, Any]] = []
    used: set[int] = set()
    for rule, res, msg in raw_findings(resources, settings):
        name, urn = (res.name, res.urn) if res is not None else ("", "")
        waiver = ex.waiver_for(settings.exemptions, rule.name, name, urn, today)
        if waiver is None:
            out.append(_finding(rule.name, rule.level, urn, msg))
            continue
        index, exemption = waiver
        used.add(index)
        f = _finding(rule.name, ADVISORY, urn, f"{msg} (waived until {exemption.expires.isoformat()}: {exemption.reason})")
        f.update(waived=True, reason=exemption.reason, expires=exemption.expires.isoformat(), waived_severity=rule.level)
        out.append(f)
    out.extend(ex.exemption_findings(settings.exemptions, rule_names(), today, used))
    return out


def evaluate(resources: Sequence[Mapping[str, Any]], cfg: "StackConfig | None", today: date | None = None) -> list[dict[str, Any]]:
    """CrossGuard rules over the offline plan's recorded resources (``doc["resources"]``)."""
    return evaluate_resources(to_resources(resources), settings_from_config(cfg), today)


def blocking(findings: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [f for f in findings if f["severity"] == MANDATORY]


__all__ = [
    "blocking",
    "check_resource",
    "check_stack",
    "evaluate",
    "evaluate_resources",
    "raw_findings",
    "settings_from_config",
    "to_resources",
]
