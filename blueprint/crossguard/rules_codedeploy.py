"""CrossGuard rules over the deployment groups and configs as each account gets them.

A StackSet template alone says little: its group names its alarms and config through
parameters and conditions. So these rules resolve the template once per stack instance (and
per plain stack) with that instance's parameters, as CloudFormation will, and check the
groups that result, next to Pulumi's own ``aws:codedeploy`` resources:

* ``codedeploy-group-rollback-and-alarms``: auto-rollback on DEPLOYMENT_FAILURE and
  DEPLOYMENT_STOP_ON_ALARM, 1 to 10 alarms, and every alarm the template creates for the
  group has dimensions that name a real target (no 'none', no empty dimensions);
* ``codedeploy-config-in-catalogue``: the group's config is AWS's predefined one for the
  platform, or created in the same account (template or plan);
* ``codedeploy-prod-gradual``: a production group (tag environment=prod) shifts by canary or
  linear, unless tagged with an unexpired all-at-once exemption (``<expires> <reason>``);
* ``codedeploy-config-named-by-parameters``: a ``secure-org.`` config's name is the one its
  parameters give (configs are create-only: a changed canary must get a new name), within
  AWS's bounds.

Unknown values (preview) never produce a violation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from blueprint.crossguard import documents as d
from blueprint.crossguard.documents import is_unknown
from blueprint.crossguard.rules import (CFN_STACK, CFN_STACKSET, CODEDEPLOY_GROUP, MANDATORY, ROLLBACK_EVENTS, Resource,
                                        Settings, resource_rule, stack_rule, template_resources)
from blueprint.pipeline import deployments as dep

STACKSET_INSTANCE = "aws:cloudformation/stackSetInstance:StackSetInstance"
CODEDEPLOY_CONFIG = "aws:codedeploy/deploymentConfig:DeploymentConfig"
EXEMPTION_TAG = "secure-org:all-at-once-exemption"
# AWS's predefined configs per compute platform; canary/linear ones are gradual.
PREDEFINED = {
    "Server": {"CodeDeployDefault.AllAtOnce", "CodeDeployDefault.HalfAtATime", "CodeDeployDefault.OneAtATime"},
    "Lambda": {"CodeDeployDefault.LambdaAllAtOnce", *(f"CodeDeployDefault.Lambda{k}" for k in (
        "Canary10Percent5Minutes", "Canary10Percent10Minutes", "Canary10Percent15Minutes", "Canary10Percent30Minutes",
        "Linear10PercentEvery1Minute", "Linear10PercentEvery2Minutes", "Linear10PercentEvery3Minutes", "Linear10PercentEvery10Minutes"))},
    "ECS": {"CodeDeployDefault.ECSAllAtOnce", *(f"CodeDeployDefault.ECS{k}" for k in (
        "Canary10Percent5Minutes", "Canary10Percent15Minutes", "Linear10PercentEvery1Minutes", "Linear10PercentEvery3Minutes"))},
}
TYPES = (CFN_STACKSET, STACKSET_INSTANCE, CFN_STACK, CODEDEPLOY_GROUP, CODEDEPLOY_CONFIG)


class _Unresolvable(Exception):
    pass


def _resolver(template: dict[str, Any], params: Mapping[str, Any]):
    from blueprint.access.cfn import TemplateError, Resolver

    if any(is_unknown(v) or not isinstance(v, (str, int, float, list)) for v in params.values()):
        raise _Unresolvable
    try:
        return Resolver(template, dict(params), "000000000000", "us-east-1", "stack")
    except TemplateError as exc:
        raise _Unresolvable from exc


def _config_facts(platform: str, props: Mapping[str, Any]) -> tuple[str | None, int | None, int | None]:
    """(canary|linear|all-at-once|zonal, percentage, interval) of a config, CloudFormation-shaped."""
    trc = props.get("TrafficRoutingConfig") or {}
    kind = trc.get("Type")
    if kind == "TimeBasedCanary":
        c = trc.get("TimeBasedCanary") or {}
        return "canary", c.get("CanaryPercentage"), c.get("CanaryInterval")
    if kind == "TimeBasedLinear":
        c = trc.get("TimeBasedLinear") or {}
        return "linear", c.get("LinearPercentage"), c.get("LinearInterval")
    if platform == "Server" and props.get("ZonalConfig"):
        z = props["ZonalConfig"]
        healthy = (props.get("MinimumHealthyHosts") or {}).get("Value")
        first, every = z.get("FirstZoneMonitorDurationInSeconds"), z.get("MonitorDurationInSeconds")
        kind = "linear" if first == every else "canary"
        return kind, (100 - healthy) if isinstance(healthy, int) else None, (first // 60) if isinstance(first, int) else None
    return "all-at-once", None, None


def _gradual(name: str, configs: Mapping[str, tuple[str | None, Any, Any]]) -> bool:
    if name in configs:
        return configs[name][0] in ("canary", "linear")
    return "Canary" in name or "Linear" in name


class _Group:
    def __init__(self, where: str, platform: str | None, props: Mapping[str, Any], alarms: dict[str, Any]):
        self.where, self.platform, self.props, self.alarms = where, platform, props, alarms


def _from_templates(resources: Sequence[Resource]) -> list[tuple[Resource, _Group, dict[str, tuple[str | None, Any, Any]]]]:
    """Each deployment group a stack instance or stack creates, resolved with its parameters."""
    stack_sets = {d.text_of(r.props.get("name")): r for r in resources if r.type == CFN_STACKSET}
    units: list[tuple[Resource, Any, Mapping[str, Any]]] = []
    def known_map(value: Any) -> Mapping[str, Any] | None:
        # At preview a whole parameter map, or the template, may be unknown: nothing to judge.
        if is_unknown(value):
            return None
        return value if isinstance(value, Mapping) else {}

    for r in resources:
        if r.type == STACKSET_INSTANCE:
            ss = stack_sets.get(d.text_of(r.props.get("stackSetName")))
            if ss is None:
                continue
            base, over = known_map(ss.props.get("parameters")), known_map(r.props.get("parameterOverrides"))
            if base is None or over is None:
                continue
            units.append((r, ss.props.get("templateBody"), {**base, **over}))
        elif r.type == CFN_STACK:
            params = known_map(r.props.get("parameters"))
            if params is not None:
                units.append((r, r.props.get("templateBody"), params))
    out = []
    for r, body, params in units:
        if is_unknown(body) or not isinstance(body, (str, Mapping)):
            continue
        res = template_resources(body)
        if not any(s.get("Type") == "AWS::CodeDeploy::DeploymentGroup" for s in res.values()):
            continue
        try:
            import json

            template = json.loads(body) if isinstance(body, str) else dict(body)
            rv = _resolver(template, params)
            live = {k: s for k, s in res.items() if "Condition" not in s or rv.condition(s["Condition"])}
            platform = None
            configs: dict[str, tuple[str | None, Any, Any]] = {}
            alarms: dict[str, Any] = {}
            for k, s in live.items():
                t = s.get("Type")
                if t == "AWS::CodeDeploy::Application":
                    platform = rv.value((s.get("Properties") or {}).get("ComputePlatform", "Server"))
            for k, s in live.items():
                t, p = s.get("Type"), s.get("Properties") or {}
                if t == "AWS::CodeDeploy::DeploymentConfig":
                    props = rv.value(p)
                    configs[props.get("DeploymentConfigName") or k] = _config_facts(props.get("ComputePlatform", "Server"), props)
                elif t == "AWS::CloudWatch::Alarm":
                    props = rv.value(p)
                    alarms[props.get("AlarmName") or k] = props
            for k, s in live.items():
                if s.get("Type") == "AWS::CodeDeploy::DeploymentGroup":
                    out.append((r, _Group(f"{r.name}: group {k}: ", platform, rv.value(s.get("Properties") or {}), alarms), configs))
        except _Unresolvable:
            continue
        except Exception:  # noqa: BLE001 - a template the resolver cannot read: another rule's business
            continue
    return out


def _tags(props: Mapping[str, Any]) -> dict[Any, Any]:
    tags = props.get("Tags") or props.get("tags") or {}
    if isinstance(tags, list):
        return {t.get("Key"): t.get("Value") for t in tags if isinstance(t, Mapping)}
    return dict(tags) if isinstance(tags, Mapping) else {}


@stack_rule(
    "codedeploy-group-rollback-and-alarms", MANDATORY, TYPES,
    "Every deployment group as an account gets it (StackSet templates resolved per instance) rolls back on "
    "DEPLOYMENT_FAILURE and DEPLOYMENT_STOP_ON_ALARM and monitors 1 to 10 alarms whose dimensions name a real target",
    config_rule=("CODEDEPLOY_AUTO_ROLLBACK_MONITOR_ENABLED",),
)
def group_rollback_and_alarms(resources, settings: Settings):
    out = []
    for r, g, _ in _from_templates(resources):
        arc = g.props.get("AutoRollbackConfiguration") or {}
        missing = [e for e in ROLLBACK_EVENTS if e not in (arc.get("Events") or [])]
        if arc.get("Enabled") is not True or missing:
            out.append((r, f"{g.where}auto-rollback is off or misses {', '.join(missing) or 'nothing but is disabled'}"))
        alc = g.props.get("AlarmConfiguration") or {}
        names = [a.get("Name") for a in alc.get("Alarms") or [] if isinstance(a, Mapping)]
        if alc.get("Enabled") is not True or not 1 <= len(names) <= dep.MAX_ALARMS:
            out.append((r, f"{g.where}{len(names)} alarm(s) monitored (enabled: {alc.get('Enabled')}); 1 to {dep.MAX_ALARMS} required"))
        for name in names:
            alarm = g.alarms.get(name) if isinstance(name, str) else None
            if alarm is None:
                continue  # the team's own alarm, created by its IaC
            dims = alarm.get("Dimensions") or []
            if not dims or any(str(x.get("Value")) in ("", dep.NONE) for x in dims):
                out.append((r, f"{g.where}alarm {name} has no dimension naming a real target, so it never receives data"))
    return out


@stack_rule(
    "codedeploy-config-in-catalogue", MANDATORY, TYPES,
    "A deployment group's config exists where the group is: AWS's predefined config for its compute platform, "
    "or a config created in the same template or plan (the platform's catalogue)",
    no_equivalent="AWS Config cannot see which deployment config a group names",
)
def config_in_catalogue(resources, settings: Settings):
    out = []
    planned = {d.text_of(r.props.get("deploymentConfigName")) for r in resources if r.type == CODEDEPLOY_CONFIG}
    for r, g, configs in _from_templates(resources):
        name = g.props.get("DeploymentConfigName") or "CodeDeployDefault.OneAtATime"
        if name in configs or name in PREDEFINED.get(g.platform or "Server", ()):
            continue
        out.append((r, f"{g.where}deployment config {name!r} is neither AWS's for {g.platform} nor in the catalogue"))
    for r in resources:
        if r.type != CODEDEPLOY_GROUP:
            continue
        name = r.props.get("deploymentConfigName")
        if is_unknown(name) or name is None:
            continue
        if name not in planned and not any(name in names for names in PREDEFINED.values()):
            out.append((r, f"deployment config {name!r} is not created by this plan and is not AWS's"))
    return out


def _exempt(tags: Mapping[str, Any], today: date) -> tuple[bool, str]:
    raw = tags.get(EXEMPTION_TAG)
    if not isinstance(raw, str):
        return False, ""
    try:
        until = date.fromisoformat(raw.split(" ", 1)[0])
    except ValueError:
        return False, f" (exemption tag {raw!r} has no date)"
    return (until >= today), f" (exemption expired {until.isoformat()})"


@stack_rule(
    "codedeploy-prod-gradual", MANDATORY, TYPES,
    "Production deployment groups (tag environment=prod) deploy by canary or linear traffic shifting; all at once "
    "only with an unexpired exemption tagged on the group",
    no_equivalent="no managed control checks the deployment strategy",
)
def prod_gradual(resources, settings: Settings):
    out = []
    today = date.today()
    for r, g, configs in _from_templates(resources):
        tags = _tags(g.props)
        if tags.get("environment") != "prod":
            continue
        name = g.props.get("DeploymentConfigName") or "CodeDeployDefault.OneAtATime"
        ok, why = _exempt(tags, today)
        if not _gradual(name, configs) and not ok:
            out.append((r, f"{g.where}production deploys with {name}, not canary or linear{why}"))
    for r in resources:
        if r.type != CODEDEPLOY_GROUP:
            continue
        tags, name = r.props.get("tags"), r.props.get("deploymentConfigName")
        if is_unknown(tags) or is_unknown(name) or not isinstance(tags, Mapping) or tags.get("environment") != "prod":
            continue
        ok, why = _exempt(tags, today)
        if not _gradual(name or "CodeDeployDefault.OneAtATime", {}) and not ok:
            out.append((r, f"production deploys with {name}, not canary or linear{why}"))
    return out


def _check_config(label: str, platform: str, name: Any, kind: str | None, pct: Any, interval: Any) -> list[str]:
    if not isinstance(name, str) or not name.startswith(dep.PREFIX) or kind not in ("canary", "linear"):
        return []
    if not (isinstance(pct, int) and isinstance(interval, int)):
        return []
    out = []
    g = dep.Gradual(platform, kind, pct, interval)
    if g.name != name:
        out.append(f"{label}config {name!r} has the parameters of {g.name!r}: configs are create-only, so a change needs a new name")
    if not 1 <= pct <= 99 or interval < 1:
        out.append(f"{label}config {name!r}: percentage must be 1-99 and the interval at least 1 minute")
    elif g.shift_minutes() > dep.MAX_SHIFT_MINUTES.get(platform, 2880):
        out.append(f"{label}config {name!r} shifts for {g.shift_minutes()} minutes; {platform} allows {dep.MAX_SHIFT_MINUTES.get(platform)}")
    return out


@resource_rule(
    "codedeploy-config-named-by-parameters", MANDATORY, (CODEDEPLOY_CONFIG, CFN_STACK, CFN_STACKSET),
    "Platform deployment configs (secure-org.*) are named by their parameters and within AWS's bounds (percentage "
    "1-99; Lambda at most 48 h of shifting, ECS 120 h): a create-only config is never changed in place",
    no_equivalent="no managed control checks deployment configs",
)
def config_named_by_parameters(props, ctx):
    if ctx.resource_type == CODEDEPLOY_CONFIG:
        trc = props.get("trafficRoutingConfig")
        if any(is_unknown(props.get(k)) for k in ("trafficRoutingConfig", "deploymentConfigName", "computePlatform")):
            return []
        rtype = d.get(trc, "type")
        if is_unknown(rtype):
            return []
        kind = {"TimeBasedCanary": "canary", "TimeBasedLinear": "linear"}.get(rtype if isinstance(rtype, str) else "")
        key = "timeBasedCanary" if kind == "canary" else "timeBasedLinear"
        pct, interval = d.get(trc, key, "percentage"), d.get(trc, key, "interval")
        if is_unknown(pct) or is_unknown(interval):
            return []
        platform = props.get("computePlatform")
        return _check_config("", platform if isinstance(platform, str) and platform else "Server", props.get("deploymentConfigName"), kind,
                             pct, interval)
    out = []
    for logical, spec in template_resources(props.get("templateBody")).items():
        if spec.get("Type") != "AWS::CodeDeploy::DeploymentConfig":
            continue
        p = spec.get("Properties") or {}
        if any(d.is_intrinsic(v) for v in p.values()):
            continue
        platform = p.get("ComputePlatform", "Server")
        kind, pct, interval = _config_facts(platform, p)
        out += _check_config(f"template {logical}: ", platform, p.get("DeploymentConfigName"), kind, pct, interval)
    return out
