"""How AWS decides a request made inside an AWS Organization: ``evaluate(request) -> Decision``.

1. An explicit Deny in any applicable policy wins: SCP, RCP, identity, boundary, session, resource.
2. SCPs (caller's account) and RCPs (resource's account): every level needs a matching Allow.
   SCPs skip service principals, service-linked roles and the management account; RCPs skip
   management-account resources and calls made by service-linked roles, not AWS services.
3. Identity policies, and the permissions boundary and session policy when present.
4. Resource-based policies. Same account: identity OR resource policy; a grant to the account
   only delegates to IAM; a grant to the role ARN is limited by an implicit deny in boundary or
   session policy, one to ``*`` or to the session is not. Cross-account: both sides. KMS key
   policies and role trust policies must allow the caller (themselves or by delegating to the
   account). AWS service principals have only resource policies.
tests/access/test_evaluator.py quotes the AWS sentence behind each rule. Statements are
``blueprint.access.statements``, their language ``blueprint.access.conditions``. A layer's
result is computed once per policies, action and statement outcomes: decisions share their
LayerResult and Match objects, read them and do not modify them.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from itertools import chain
from typing import Any, Sequence

from .conditions import (  # noqa: F401  (re-exported for tests and callers)
    Context, arn_like, as_list, block_holds, compile_block, condition_holds, conditions_hold,
    glob_match, glob_regex, parse_variables, pattern_matches,
)
from .statements import (  # noqa: F401  (the guardrail API and compile_document are re-exported)
    GuardrailDecision, GuardrailRequest, GuardrailResource, Statement, applies, candidates, compile_document,
    excluded, grant, guardrail_decision,
)
from .types import (
    ACCOUNT_ROOT, ANONYMOUS, ALLOW, BOUNDARY, DENY, IDENTITY, RCP, RESOURCE, ROLE, SCP, SERVICE, SESSION,
    Decision, LayerResult, Match, Policy, Request,
)

TRUST_ACTIONS = frozenset({"sts:assumerole", "sts:tagsession", "sts:setsourceidentity",
                           "sts:assumerolewithsaml", "sts:assumerolewithwebidentity"})


class _Plan:
    """A layer's policies for one action: per level, the policies and their candidate statements
    as (index in the outcome vector, or -1 if the statement always applies; policy; statement);
    ``results``: the layer's result by outcome vector (see ``_outcomes``)."""

    __slots__ = ("steps", "variable", "results")

    def __init__(self, levels: tuple[tuple[Policy, ...], ...], mode: str, action: str):
        steps, variable = [], []
        for level in levels:
            cands = []
            for pol in level:
                for st in candidates(pol.document, mode, action):
                    always = st.principals is None and st.unconditional
                    cands.append((-1 if always else len(variable), pol, st))
                    variable += () if always else (st,)
            steps.append((level, tuple(cands)))
        self.steps, self.variable, self.results = tuple(steps), tuple(variable), {}


_BY_POLICIES: dict[tuple, tuple] = {}  # (layer, mode, ids of the policies) -> (policies, shared)
_BY_CONTENT: dict[tuple, tuple] = {}  # (layer, mode, names and ids of compiled statements) -> shared


def _plan(key: tuple, mode: str, levels: Sequence[Sequence[Policy]], action: str) -> _Plan:
    """The plan of ``levels`` of policies for ``action``; ``key`` names the layer, ``mode`` and
    the policies (by id). Shared by policies of the same names and statements."""
    hit = _BY_POLICIES.get(key)
    if hit is None:
        own = tuple(map(tuple, levels))
        docs = tuple(tuple((pol.name, compile_document(pol.document, mode)) for pol in level) for level in own)
        content = (key[0], mode, *(tuple((name, *map(id, sts)) for name, sts in level) for level in docs))
        shared = _BY_CONTENT.get(content)
        if shared is None:
            if len(_BY_CONTENT) > 10_000:
                _BY_CONTENT.clear()
            shared = _BY_CONTENT[content] = (own, docs, {})  # docs: keeps the ids in the key theirs
        if len(_BY_POLICIES) > 10_000:
            _BY_POLICIES.clear()
        hit = _BY_POLICIES[key] = (own, shared)  # own: keeps the ids in the key theirs
    levels, _, by_action = hit[1]
    found = by_action.get(action)
    if found is None:
        if len(by_action) > 4096:
            by_action.clear()
        found = by_action[action] = _Plan(levels, mode, action)
    return found


def _outcomes(plan: _Plan, arn: str, ctx: Context, p: Any) -> tuple:
    """Per variable statement of ``plan``, in order: False, or True if it applies to the request,
    or how its Principal names the caller (it applies)."""
    out = []
    for st in plan.variable:
        pr = st.principals
        how = True if pr is None else (not excluded(pr, p, ctx)) if st.not_principal else (grant(pr, p, ctx) or False)
        out.append(how if how and (st.unconditional or applies(st, arn, ctx)) else False)
    return tuple(out)


_MATCHES: dict[tuple, Match] = {}


def _match(layer: str, policy: str, st: Statement) -> Match:
    key = (layer, policy, st.sid, st.allow)
    m = _MATCHES.get(key)
    if m is None:
        if len(_MATCHES) > 100_000:
            _MATCHES.clear()
        m = _MATCHES[key] = Match(layer, policy, st.sid, "Allow" if st.allow else "Deny")
    return m


def _matched(layer: str, cands: tuple, vec: tuple) -> tuple[list[Match], list[Match]]:
    denies, allows = [], []
    for i, pol, st in cands:
        if i < 0 or vec[i]:
            (allows if st.allow else denies).append(_match(layer, pol.name, st))
    return denies, allows


_GRANTS: dict[frozenset, frozenset] = {}


def _layer(layer: str, policies: Sequence[Policy], mode: str, action: str, arn: str, ctx: Context,
           p: Any) -> tuple[LayerResult, frozenset[str]]:
    """Identity, boundary, session or resource policies; and how resource policies name the caller."""
    pl = _plan((layer, mode, *map(id, policies)), mode, (policies,), action)
    vec = _outcomes(pl, arn, ctx, p)
    hit = pl.results.get(vec)
    if hit is None:
        denies, allows = _matched(layer, pl.steps[0][1], vec)
        outcome = "deny" if denies else "allow" if allows else "implicit-deny"
        result = LayerResult(layer, outcome, denies + allows, "" if allows or denies else "no statement matches")
        if len(pl.results) > 4096:
            pl.results.clear()
        grants = frozenset(v for v in vec if v.__class__ is str)
        hit = pl.results[vec] = result, _GRANTS.setdefault(grants, grants)
    return hit


def _levels(layer: str, levels: list[list[Policy]], action: str, arn: str, ctx: Context, p: Any) -> tuple[LayerResult, str | None]:
    """SCPs or RCPs: every level needs an Allow. Also the policies of the first level without one."""
    pl = _plan((layer, layer, *map(len, levels), *map(id, chain.from_iterable(levels))), layer, levels, action)
    vec = _outcomes(pl, arn, ctx, p)
    hit = pl.results.get(vec)
    if hit is None:
        matches, denied, missing, note = [], False, None, ""
        for i, (level, cands) in enumerate(pl.steps):
            denies, allows = _matched(layer, cands, vec)
            matches += denies + allows
            denied |= bool(denies)
            if not allows and missing is None:
                missing = ", ".join(pol.name for pol in level) or "(none attached)"
                note = f"no Allow at level {i + 1} of {len(pl.steps)}: {missing}"
        if len(pl.results) > 4096:
            pl.results.clear()
        hit = pl.results[vec] = LayerResult(layer, "deny" if denied else "implicit-deny" if missing else "allow", matches, note), missing
    return hit


_ROOT_IDENTITY = LayerResult(IDENTITY, "allow", note="the account root user has full access unless denied")


@lru_cache(maxsize=256)
def _na(layer: str, note: str) -> LayerResult:
    return LayerResult(layer, "not-applicable", note=note)


@lru_cache(maxsize=4096)
def _role_userid(arn: str) -> str:
    """aws:userid of a role session ("role-id:session-name"). The role's unique id is unknown
    offline: a stable stand-in; the session is named after the role."""
    return f"AROA{hashlib.sha1(arn.encode()).hexdigest()[:17].upper()}:{arn.rsplit('/', 1)[-1]}"


_PRINCIPAL_KEYS: dict[tuple, dict[str, Any]] = {}


def _principal_keys(p: Any) -> dict[str, Any]:
    """The keys derived from the principal (but its tags), in request_context's order."""
    key = (p.arn, p.kind, p.account, p.org_id)
    hit = _PRINCIPAL_KEYS.get(key)
    if hit is None:
        c = {"aws:securetransport": "true"}
        if p.kind == ROLE:
            c.update({"aws:principalarn": p.arn, "aws:principaltype": "AssumedRole", "aws:userid": _role_userid(p.arn)})
        elif p.kind == ACCOUNT_ROOT:
            c.update({"aws:principalarn": p.arn, "aws:principaltype": "Account", "aws:userid": p.account})
        elif p.kind == SERVICE:
            c["aws:principalservicename"] = p.arn
        elif p.kind == ANONYMOUS:
            c.update({"aws:principaltype": "Anonymous", "aws:userid": "anonymous"})
        if p.kind != ANONYMOUS:
            c["aws:principalisawsservice"] = "true" if p.kind == SERVICE else "false"
        for name, value in (("aws:principalaccount", p.account), ("aws:principalorgid", p.org_id)):
            if value:
                c[name] = value
        if len(_PRINCIPAL_KEYS) > 10_000:
            _PRINCIPAL_KEYS.clear()
        hit = _PRINCIPAL_KEYS[key] = c
    return hit


def request_context(request: Request) -> Context:
    """The condition keys AWS would see: derived from principal and resource, then Resource.keys,
    then Request.context (which overrides; a None value removes a key). Keys are lower-cased."""
    p, r = request.principal, request.resource
    c = Context(_principal_keys(p))
    if r.region:
        c["aws:requestedregion"] = r.region
    if r.account:
        c["aws:resourceaccount"] = r.account
    if r.org_id:
        c["aws:resourceorgid"] = r.org_id
    for k, v in p.tags.items():
        c[f"aws:principaltag/{k.lower()}"] = v
    for extra in (r.keys, request.context):
        for key, value in extra.items():
            if value is None:
                c.pop(key.lower(), None)
            else:
                c[key.lower()] = value
    return c


def evaluate(request: Request) -> Decision:
    """ALLOW or DENY, with the deciding layer/policy/Sid and a LayerResult for every layer."""
    p, r = request.principal, request.resource
    ctx = request_context(request)
    action, arn, kind, linked = request.action.lower(), r.arn, p.kind, p.service_linked
    trust_action = action in TRUST_ACTIONS
    scp_missing = rcp_missing = None
    if kind != ROLE and kind != ACCOUNT_ROOT:
        scp = _na(SCP, "SCPs apply only to principals in member accounts")
    elif linked or not p.scps:
        scp = _na(SCP, "service-linked role: SCPs do not apply" if linked else "not subject to SCPs")
    else:
        scp, scp_missing = _levels(SCP, p.scps, action, arn, ctx, p)
    if linked or not r.rcps:
        rcp = _na(RCP, "calls made by service-linked roles: RCPs do not apply" if linked else "no RCPs apply")
    else:
        rcp, rcp_missing = _levels(RCP, r.rcps, action, arn, ctx, p)
    if kind == ROLE:
        identity = _layer(IDENTITY, p.identity_policies, "identity", action, arn, ctx, p)[0]
    elif kind == ACCOUNT_ROOT:
        identity = _ROOT_IDENTITY
    else:
        identity = _na(IDENTITY, f"a {kind} caller has no identity policies")
    pol = p.boundary
    boundary = _layer(BOUNDARY, (pol,), "identity", action, arn, ctx, p)[0] if pol is not None and kind == ROLE else _na(BOUNDARY, "none")
    pol = p.session_policy
    session = _layer(SESSION, (pol,), "identity", action, arn, ctx, p)[0] if pol is not None and kind == ROLE else _na(SESSION, "none")
    grants: frozenset[str] = frozenset()
    if r.policy is not None and (r.kind != "iam-role" or trust_action):
        resource, grants = _layer(RESOURCE, (r.policy,), "trust" if r.kind == "iam-role" else "resource", action, arn, ctx, p)
    else:
        resource = _na(RESOURCE, "no resource-based policy governs this action")
    layers = [scp, rcp, identity, boundary, session, resource]
    for lr in layers:
        if lr.outcome == "deny":
            m = next(m for m in lr.matches if m.effect == "Deny")
            return Decision(DENY, lr.layer, m.policy, m.sid, f"explicit deny in {m.policy}", layers)
    if scp_missing:
        return Decision(DENY, SCP, scp_missing, None, f"SCPs: {scp.note}", layers)
    if rcp_missing:
        return Decision(DENY, RCP, rcp_missing, None, f"RCPs: {rcp.note}", layers)
    seen = {IDENTITY: identity.outcome, BOUNDARY: boundary.outcome, SESSION: session.outcome}
    layer, policy, why = _combine(p, r, seen, grants, r.kind == "kms-key" or (r.kind == "iam-role" and trust_action))
    return Decision(ALLOW if layer is None else DENY, layer, policy, None, why, layers)


def _combine(p: Any, r: Any, seen: dict[str, str], grants: frozenset[str], authoritative: bool) -> tuple:
    """(None, None, why) to allow, or (layer, policy, why) of the implicit deny."""
    what = {"kms-key": "key policy", "iam-role": "trust policy"}.get(r.kind, "resource policy")
    rname = r.policy.name if r.policy is not None else None
    if p.kind in (SERVICE, ANONYMOUS):  # no identity policies: only the resource policy can allow
        return (None, None, f"the {what} allows the {p.kind} caller") if grants else \
            (RESOURCE, rname, f"implicit deny: a {p.kind} caller needs the {what} to allow it")
    cross = bool(p.account and r.account and p.account != r.account)
    if (authoritative or cross) and not grants:
        why = "cross-account access needs the resource policy to allow it" if cross else f"the {what} must allow the caller"
        return RESOURCE, rname, f"implicit deny: {why}" + ("" if rname else f" (there is no {what})")
    fails = [layer for layer in (IDENTITY, BOUNDARY, SESSION) if seen[layer] == "implicit-deny"]
    limits = [layer for layer in fails if layer != IDENTITY]
    # A grant to "*" or to the session is not limited by boundary or session policy; one to the role ARN is.
    direct = bool(grants & {"any", "session", "service"}) or ("role" in grants and not limits)
    if not fails:
        return None, None, "both sides allow (cross-account)" if cross else "identity policies allow"
    if direct and not cross:
        return None, None, f"the {what} allows the caller itself"
    layer = limits[0] if "role" in grants and limits else fails[0]
    policy = {IDENTITY: ", ".join(x.name for x in p.identity_policies) or None,
              BOUNDARY: p.boundary.name if p.boundary else None,
              SESSION: p.session_policy.name if p.session_policy else None}[layer]
    return layer, policy, f"implicit deny: no {layer} policy allows the action" + (" (cross-account)" if cross else "")
