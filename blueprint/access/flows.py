"""The flow catalogue: who must be able to do what, and what must never happen.

Flows are data in ``policies/flows/*.yaml``. Each template names a principal, an action
and a resource with placeholders, is expanded over a domain (every pipeline team, every
team account, ...) and each instance is evaluated by :func:`blueprint.access.evaluator.evaluate`
across every policy layer of the assembled organization. A required flow that is denied, or
a forbidden flow that is allowed, is a violation: a mandatory finding of the offline plan.
"""

from __future__ import annotations

import functools
import gc
import itertools
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from blueprint.access import actors
from blueprint.access.facts import Facts
from blueprint.access.model import OrgModel
from blueprint.access.types import Decision, Principal, Request

FLOW_DIR = Path(__file__).resolve().parents[2] / "policies" / "flows"
DOMAINS = ("org", "pipeline", "pipeline_stage", "pipeline_pair", "team_account", "team_pair", "member_account",
           "bucket", "key", "topic")
KEYS = {"id", "expect", "for_each", "principal", "action", "resource", "context", "where", "why", "resource_account", "creates"}
EXPECT = {"allow", "deny"}


class CatalogueError(ValueError):
    pass


@dataclass(frozen=True)
class Flow:
    id: str
    expect: str  # "allow" (required) or "deny" (forbidden)
    for_each: str
    principals: tuple[str, ...]
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    context: tuple[tuple[str, str], ...] = ()
    where: tuple[tuple[str, Any], ...] = ()
    why: str = ""
    resource_account: str = ""
    creates: bool = False  # the request creates its resource, so the plan need not have it
    source: str = ""


@dataclass
class Instance:
    flow: Flow
    principal: str  # label
    action: str
    resource: str  # label
    decision: Decision
    request: Request | None = field(default=None, repr=False)  # for the independent cross-check

    @property
    def ok(self) -> bool:
        return self.decision.allowed == (self.flow.expect == "allow")

    def as_dict(self) -> dict[str, Any]:
        d = self.decision
        return {"flow": self.flow.id, "expect": self.flow.expect.upper(), "principal": self.principal, "action": self.action,
                "resource": self.resource, "decision": d.decision, "layer": d.layer, "policy": d.policy, "sid": d.sid,
                "ok": self.ok}

    def message(self) -> str:
        want = "required" if self.flow.expect == "allow" else "forbidden"
        got = "denied" if not self.decision.allowed else "allowed"
        if self.decision.allowed:
            # What let it through: the Allow statements of the layers that granted it.
            grants = [f"{m.layer} {m.policy}" + (f" {m.sid}" if m.sid else "") for layer in self.decision.layers
                      for m in layer.matches if m.effect == "Allow" and m.layer not in ("scp", "rcp")]
            decided = "ALLOW by " + ("; ".join(grants) if grants else "no deny in any layer")
        else:
            decided = self.decision.why()
        return (f"{want} flow {self.flow.id} is {got}: {self.principal} {self.action} {self.resource} — "
                f"decided by {decided}" + (f" ({self.decision.reason})" if self.decision.reason else "") + f" [{self.flow.source}]")


def _tuple(value: Any, where: str, key: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(i, str) and i for i in items):
        raise CatalogueError(f"{where}: {key} must be a non-empty string or list of strings")
    return tuple(items)


def load(directory: Path = FLOW_DIR) -> list[Flow]:
    """Every flow template, validated; errors name the file and the flow."""
    flows: list[Flow] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text()) or {}
        for i, raw in enumerate(doc.get("flows") or []):
            where = f"{path.name}: flows[{i}] ({raw.get('id', '?') if isinstance(raw, dict) else '?'})"
            try:
                flows.append(_flow(raw, where, path.name))
            except CatalogueError as exc:
                problems.append(str(exc))
                continue
            if flows[-1].id in seen:
                problems.append(f"{where}: id {flows[-1].id!r} is also used in {seen[flows[-1].id]}")
            seen[flows[-1].id] = path.name
    if problems:
        raise CatalogueError("\n".join(problems))
    return flows


def _flow(raw: Any, where: str, source: str) -> Flow:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: a flow is a mapping")
    unknown = set(raw) - KEYS
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {sorted(unknown)} (known: {', '.join(sorted(KEYS))})")
    missing = {"id", "expect", "for_each", "principal", "action", "resource", "why"} - set(raw)
    if missing:
        raise CatalogueError(f"{where}: missing {sorted(missing)}")
    if raw["expect"] not in EXPECT:
        raise CatalogueError(f"{where}: expect must be allow or deny, not {raw['expect']!r}")
    if raw["for_each"] not in DOMAINS:
        raise CatalogueError(f"{where}: for_each must be one of {', '.join(DOMAINS)}, not {raw['for_each']!r}")
    context = raw.get("context") or {}
    if not isinstance(context, dict):
        raise CatalogueError(f"{where}: context must be a mapping of condition keys to values")
    return Flow(raw["id"], raw["expect"], raw["for_each"], _tuple(raw["principal"], where, "principal"),
                _tuple(raw["action"], where, "action"), _tuple(raw["resource"], where, "resource"),
                tuple((k, str(v)) for k, v in context.items()), tuple((raw.get("where") or {}).items()),
                " ".join(str(raw["why"]).split()), str(raw.get("resource_account", "")),
                raw.get("creates", False) is True, source)


def bindings(domain: str, facts: Facts, model: OrgModel) -> Iterator[dict[str, Any]]:
    """The variable sets one template is expanded with."""
    if domain == "org":
        yield {}
    elif domain == "pipeline":
        yield from facts.pipelines
    elif domain == "pipeline_stage":
        for p in facts.pipelines:
            for s in p["stages"]:
                yield {**p, **s}
    elif domain == "pipeline_pair":
        # Each team against its neighbour: every policy is templated per team, so one other
        # team shows what any other would (and the work stays linear in the team count).
        ps = facts.pipelines
        for a, b in zip(ps, ps[1:] + ps[:1]) if len(ps) > 1 else ():
            if a["stages"] and b["stages"]:
                yield {**a, **{f"other_{k}": v for k, v in b.items() if not isinstance(v, list)},
                       "account": a["stages"][-1]["account"], "other_account": b["stages"][-1]["account"]}
    elif domain == "team_account":
        yield from facts.team_accounts
    elif domain == "team_pair":
        teams = sorted({t["team"] for t in facts.team_accounts})
        nxt = dict(zip(teams, teams[1:] + teams[:1])) if len(teams) > 1 else {}
        by_team: dict[str, dict[str, Any]] = {}
        for t in facts.team_accounts:
            by_team.setdefault(t["team"], t)
        for t in facts.team_accounts:
            if t["team"] in nxt:
                other = by_team[nxt[t["team"]]]
                yield {**t, "other_team": other["team"], "other_account": other["account"], "other_env": other["env"]}
    elif domain == "member_account":
        yield from facts.member_accounts
    else:
        kind = {"bucket": "s3-bucket", "key": "kms-key", "topic": "sns-topic"}[domain]
        for thing in sorted(model.things.values(), key=lambda t: t.arn):
            if thing.kind == kind:
                yield {"resource_arn": thing.arn, "resource_account": thing.account}


class _Formatter(string.Formatter):
    def get_value(self, key, args, kwargs):  # noqa: ANN001
        if key not in kwargs:
            raise CatalogueError(f"unknown placeholder {{{key}}}")
        return kwargs[str(key)]


_FMT = _Formatter()


@functools.lru_cache(maxsize=None)
def _fields(template: str) -> frozenset[str]:
    return frozenset(f for _, f, _, _ in _FMT.parse(template) if f)


def _fill(template: str, values: dict[str, Any]) -> list[str]:
    """Fill placeholders; one that holds a list gives one value per item (several: every combination)."""
    fields = _fields(template)
    for f in fields:
        if f not in values:
            raise CatalogueError(f"unknown placeholder {{{f}}} in {template!r}")
    lists = sorted(f for f in fields if isinstance(values[f], list))
    if not lists:
        return [_FMT.format(template, **values)]
    out = []
    for combo in itertools.product(*(values[f] for f in lists)):
        out.append(_FMT.format(template, **{**values, **dict(zip(lists, combo))}))
    return out


def _matches(where: tuple[tuple[str, Any], ...], values: dict[str, Any]) -> bool:
    for key, want in where:
        have = values.get(key)
        if isinstance(want, list) and have not in want:
            return False
        if not isinstance(want, list) and have != want:
            return False
    return True


def instances(flow: Flow, facts: Facts, model: OrgModel) -> Iterator[tuple[str, str, str, dict[str, str], str]]:
    """(principal spec, action, resource ARN, context, resource account) for every instance."""
    for b in bindings(flow.for_each, facts, model):
        values = {**facts.org, **b}
        if not _matches(flow.where, values):
            continue
        principals = [p for spec in flow.principals for p in _fill(spec, values)]
        resources = [r for spec in flow.resources for r in _fill(spec, values)]
        context = {k: _fill(v, values)[0] for k, v in flow.context}
        owner = _fill(flow.resource_account, values)[0] if flow.resource_account else ""
        for p, a, r in itertools.product(principals, flow.actions, resources):
            if p and r:
                yield p, a, r, context, owner


@dataclass
class Result:
    templates: int
    instances: list[Instance] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # flows that could not be instantiated

    @property
    def violations(self) -> list[Instance]:
        return [i for i in self.instances if not i.ok]

    def summary(self) -> dict[str, int]:
        return {"templates": self.templates, "evaluated": len(self.instances), "violations": len(self.violations) + len(self.errors)}


def evaluate(model: OrgModel, facts: Facts, catalogue: list[Flow]) -> Result:
    from blueprint.access.evaluator import evaluate as decide

    out = Result(templates=len(catalogue))
    principals: dict[str, Principal] = {}
    resources: dict[tuple[str, str, str], Any] = {}  # (ARN, owner, action's service) -> Resource
    # Tens of thousands of small objects and no cycles: the collector would only rescan the plan.
    gc_was = gc.isenabled()
    gc.disable()
    try:
        _evaluate(model, facts, catalogue, out, principals, resources, decide)
    finally:
        if gc_was:
            gc.enable()
    return out


def _evaluate(model: OrgModel, facts: Facts, catalogue: list[Flow], out: "Result", principals: dict[str, Principal],
              resources: dict[tuple[str, str, str], Any], decide: Any) -> None:
    for flow in catalogue:
        for spec, action, arn, context, owner in instances(flow, facts, model):
            try:
                parn = actors.resolve(model, spec)
                if parn not in principals:
                    principals[parn] = model.principal(parn)
                principal = principals[parn]
            except KeyError as exc:
                out.errors.append(f"flow {flow.id}: {exc.args[0] if exc.args else exc}")
                continue
            if not flow.creates and model.exists(arn) is False:
                # A flow about a resource the plan does not create proves nothing: a renamed
                # rule or bucket must fail loudly, not pass vacuously.
                out.errors.append(f"flow {flow.id}: {model.symbolic(arn)} is not created by this plan")
                continue
            key = (arn, owner, action.split(":")[0].lower())
            resource = resources.get(key)
            if resource is None:
                resource = resources[key] = model.resource(arn, account=owner or None, action=action)
                if resource.region is None:
                    # Global resources (IAM, S3 without a known bucket, "*"): the call still goes
                    # to a regional endpoint, the home region's.
                    resource.region = facts.org.get("home_region")
            request = Request(principal, action, resource, dict(context))
            decision = decide(request)
            out.instances.append(Instance(flow, principal.name, action, resource.name, decision, request))
