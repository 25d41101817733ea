"""CrossGuard adapters: every rule of blueprint.crossguard.rules as a pulumi_policy policy.

``policies/pack/__main__.py`` only does ``PolicyPack(name="secure-org", policies=build_policies())``.
Building the list starts nothing (constructing ``PolicyPack`` is what starts the gRPC
server), so tests import this module freely.

Each adapter turns the engine's arguments into the same inputs the offline plan uses - plain
camelCase props with :data:`UNKNOWN` for values preview cannot know, a Context/Resource - and
calls the same functions (engine.check_resource / engine.check_stack) and the same exemption
matcher. Under ``pulumi preview`` the stack config (break-glass roles, policy limits,
``policy_exemptions``) comes from the engine; see :func:`load_settings`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from blueprint.crossguard import engine
from blueprint.crossguard import exemptions as ex
from blueprint.crossguard.documents import UNKNOWN, provider_account
from blueprint.crossguard.rules import META_RULES, RULES, Context, Resource, Rule, Settings

PACK_NAME = "secure-org"
REPO = Path(__file__).resolve().parent.parent.parent
LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}


# ---------------------------------------------------------------------------
# Engine values -> plain values
# ---------------------------------------------------------------------------

_SENTINELS: frozenset[str] = frozenset()
try:  # the engine's unknown-value sentinels (pulumi_policy.proxy)
    from pulumi_policy import proxy as _proxy

    _SENTINELS = frozenset(
        getattr(_proxy, n) for n in dir(_proxy) if n.startswith("UNKNOWN_") and n.endswith("_VALUE")
    )
except ImportError:  # pragma: no cover
    pass


def plain(value: Any) -> Any:
    """pulumi_policy's unknown-checking proxies -> dicts/lists, unknowns -> UNKNOWN."""
    if isinstance(value, str):
        return UNKNOWN if value in _SENTINELS else value
    if isinstance(value, Mapping):
        out = {}
        for k in list(value):
            try:
                out[k] = plain(value[k])
            except UnknownValueError:
                out[k] = UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        items = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


# ---------------------------------------------------------------------------
# Stack config under `pulumi preview`
# ---------------------------------------------------------------------------

def load_settings(environ: Mapping[str, str] | None = None, repo: Path = REPO) -> tuple[Settings, str | None, str]:
    """(settings, problem or None, source) for the stack being previewed.

    1. ``SECURE_ORG_STACK_FILE`` (explicit path to a stack file), if set;
    2. the stack config the Pulumi CLI hands every policy pack in ``PULUMI_CONFIG`` - the
       same ``secure-org:*`` keys the program reads, so ``policy_exemptions`` is shared;
    3. ``Pulumi.<PULUMI_STACK>.yaml`` at the repository root.
    Without any, defaults apply (no waivers, default limits) and a mandatory finding says so.
    """
    from blueprint.config import PROJECT, ConfigError, load_file, namespace_values, parse

    env = os.environ if environ is None else environ
    stack = (env.get("PULUMI_STACK") or "").rsplit("/", 1)[-1]
    source = ""
    try:
        explicit = env.get("SECURE_ORG_STACK_FILE")
        if explicit:
            source = explicit
            return engine.settings_from_config(load_file(explicit)), None, source
        flat = json.loads(env["PULUMI_CONFIG"]) if env.get("PULUMI_CONFIG") else {}
        if any(str(k).startswith(f"{PROJECT}:") for k in flat):
            source = f"Pulumi.{stack or '<stack>'}.yaml (stack config from the Pulumi engine)"
            flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in flat.items()}
            return engine.settings_from_config(parse(namespace_values(flat, source), source)), None, source
        if stack and (repo / f"Pulumi.{stack}.yaml").is_file():
            source = str(repo / f"Pulumi.{stack}.yaml")
            return engine.settings_from_config(load_file(source)), None, source
    except ConfigError as exc:
        return Settings(), f"the stack config is invalid, so no exemption applies: {exc}", source
    except (OSError, ValueError) as exc:
        return Settings(), f"the stack config could not be read ({exc}), so no exemption applies", source
    return Settings(), (
        "no secure-org stack config: PULUMI_CONFIG has no secure-org keys, PULUMI_STACK names no stack file and "
        "SECURE_ORG_STACK_FILE is unset; default limits apply and no exemption is honoured"
    ), source


class SettingsSource:
    """Loads the settings once per pack process (the engine calls policies from several threads)."""

    def __init__(self, loader: Callable[[], tuple[Settings, str | None, str]] = load_settings):
        self._loader = loader
        self._lock = threading.Lock()
        self._value: tuple[Settings, str | None, str] | None = None

    @classmethod
    def fixed(cls, settings: Settings) -> "SettingsSource":
        return cls(lambda: (settings, None, "fixed"))

    def get(self) -> tuple[Settings, str | None, str]:
        with self._lock:
            if self._value is None:
                self._value = self._loader()
            return self._value

    @property
    def settings(self) -> Settings:
        return self.get()[0]


Today = Callable[[], date]


# ---------------------------------------------------------------------------
# Adapters
# ---------------------------------------------------------------------------

def _context(args: ResourceValidationArgs, settings: Settings) -> Context:
    provider = getattr(args, "provider", None)
    account = provider_account(plain(provider.props)) if provider is not None and provider.props is not None else None
    protect = bool(getattr(args.opts, "protect", False)) if getattr(args, "opts", None) is not None else False
    return Context(args.resource_type, args.name, args.urn, protect, account, settings)


def resource_policy(rule: Rule, source: SettingsSource, today: Today = date.today) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if not rule.applies_to(args.resource_type):
            return
        settings = source.settings
        for msg in engine.check_resource(rule, plain(args.props), _context(args, settings)):
            if ex.waiver_for(settings.exemptions, rule.name, args.name, args.urn, today()) is None:
                report_violation(msg, None)

    return ResourceValidationPolicy(name=rule.name, description=rule.description, validate=validate,
                                    enforcement_level=LEVELS[rule.level])


def stack_resources(args: StackValidationArgs) -> list[Resource]:
    """The engine's PolicyResources as rule Resources (outputs, unknowns as UNKNOWN)."""
    out = []
    for r in args.resources:
        props = plain(r.props) if r.props is not None else {}
        provider = getattr(r, "provider", None)
        out.append(
            Resource(
                type=r.resource_type,
                name=r.name,
                urn=r.urn,
                props=props,
                protect=bool(getattr(r.opts, "protect", False)) if r.opts is not None else False,
                id=props.get("id") if isinstance(props.get("id"), str) else None,
                parent=getattr(getattr(r, "parent", None), "urn", None),
                property_dependencies={k: [dep.urn for dep in v] for k, v in (r.property_dependencies or {}).items()},
                account_id=provider_account(plain(provider.props)) if provider is not None and provider.props is not None else None,
            )
        )
    return out


def stack_policy(rule: Rule, source: SettingsSource, today: Today = date.today) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        settings = source.settings
        for res, msg in engine.check_stack(rule, stack_resources(args), settings):
            name, urn = (res.name, res.urn) if res is not None else ("", "")
            if ex.waiver_for(settings.exemptions, rule.name, name, urn, today()) is None:
                report_violation(msg, urn or None)

    return StackValidationPolicy(name=rule.name, description=rule.description, validate=validate,
                                 enforcement_level=LEVELS[rule.level])


def meta_policies(source: SettingsSource, today: Today = date.today) -> list[Policy]:
    """Exemption hygiene, visible waivers and the config check, as stack policies."""

    def exemption_check(name: str):
        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            settings = source.settings
            used = None
            if name == "policy-exemption-unused":
                used = _used(args, settings, today())
            for f in ex.exemption_findings(settings.exemptions, engine.rule_names(), today(), used):
                if f["rule"] == name:
                    report_violation(f["message"], None)
        return validate

    def waived(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        settings = source.settings
        if not settings.exemptions:
            return
        for f in engine.evaluate_resources(stack_resources(args), settings, today()):
            if f.get("waived"):
                report_violation(f"{f['rule']}: {f['message']}", f["urn"] or None)

    def config_check(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        _, problem, _ = source.get()
        if problem:
            report_violation(problem, None)

    validators = {
        "policy-exemption-expired": exemption_check("policy-exemption-expired"),
        "policy-exemption-unknown-rule": exemption_check("policy-exemption-unknown-rule"),
        "policy-exemption-unused": exemption_check("policy-exemption-unused"),
        "policy-exemption-waived": waived,
        "crossguard-stack-config": config_check,
    }
    return [
        StackValidationPolicy(name=name, description=description, validate=validators[name], enforcement_level=LEVELS[level])
        for name, (level, description) in META_RULES.items()
    ]


def _used(args: StackValidationArgs, settings: Settings, today: date) -> set[int]:
    """Indexes of the exemptions that waive at least one finding on this stack."""
    resources = stack_resources(args)
    used: set[int] = set()
    for rule, res, _ in engine.raw_findings(resources, settings):
        name, urn = (res.name, res.urn) if res is not None else ("", "")
        hit = ex.waiver_for(settings.exemptions, rule.name, name, urn, today)
        if hit is not None:
            used.add(hit[0])
    return used


def build_policies(source: SettingsSource | Settings | None = None, today: Today = date.today) -> list[Policy]:
    """Every rule as a policy, plus the exemption/config policies. Starts no server."""
    if source is None:
        source = SettingsSource()
    elif isinstance(source, Settings):
        source = SettingsSource.fixed(source)
    policies: list[Policy] = []
    for rule in RULES:
        policies.append(resource_policy(rule, source, today) if rule.kind == "resource" else stack_policy(rule, source, today))
    policies.extend(meta_policies(source, today))
    return policies


__all__ = [
    "PACK_NAME",
    "SettingsSource",
    "build_policies",
    "load_settings",
    "plain",
    "resource_policy",
    "stack_policy",
    "stack_resources",
]
