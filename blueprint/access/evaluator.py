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
tests/access/test_evaluator.py quotes the AWS sentence behind each rule. Compiled documents
are cached by ``id``: do not mutate a policy document once evaluated. The policy language
(wildcards, variables, condition operators) is ``blueprint.access.conditions``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

from .conditions import (  # noqa: F401  (re-exported for tests and callers)
    Context, arn_like, as_list, block_holds, compile_block, condition_holds, conditions_hold,
    glob_match, glob_regex, parse_variables, pattern_matches,
)
from .statements import Statement, applies, candidates, compile_document, excluded, grant
from .types import (
    ACCOUNT_ROOT, ALLOW, ANONYMOUS, BOUNDARY, DENY, IDENTITY, LAYERS, RCP, RESOURCE, ROLE, SCP, SERVICE,
    SESSION, Decision, LayerResult, Match, Policy, Request,
)

TRUST_ACTIONS = frozenset({"sts:assumerole", "sts:tagsession", "sts:setsourceidentity",
                           "sts:assumerolewithsaml", "sts:assumerolewithwebidentity"})


_MATCHES: dict[tuple, Match] = {}


def _match(layer: str, policy: str, st: Statement) -> Match:
    key = (layer, policy, st.sid, st.allow)
    m = _MATCHES.get(key)
    if m is None:
        if len(_MATCHES) > 100_000:
            _MATCHES.clear()
        m = _MATCHES[key] = Match(layer, policy, st.sid, "Allow" if st.allow else "Deny")
    return m


def _scan(layer: str, policies: Iterable[Policy], mode: str, action: str, arn: str, ctx: Context,
          p: Any) -> tuple[list[Match], list[Match], set[str]]:
    denies, allows, grants = [], [], set()
    for pol in policies:
        for st in candidates(pol.document, mode, action):
            how = None
            if st.principals is not None:
                if st.not_principal:
                    if excluded(st.principals, p, ctx):
                        continue
                elif (how := grant(st.principals, p, ctx)) is None:
                    continue
            if st.unconditional or applies(st, arn, ctx):
                (allows if st.allow else denies).append(_match(layer, pol.name, st))
                if how:
                    grants.add(how)
    return denies, allows, grants


_RESULTS: dict[tuple, LayerResult] = {}


def _result(layer: str, outcome: str, matches: list[Match], note: str) -> LayerResult:
    """One LayerResult per distinct content, shared by the decisions that reach it."""
    key = (layer, outcome, note, *map(id, matches))  # Match objects are shared too; the entry holds them
    hit = _RESULTS.get(key)
    if hit is None:
        if len(_RESULTS) > 100_000:
            _RESULTS.clear()
        hit = _RESULTS[key] = LayerResult(layer, outcome, matches, note)
    return hit


def _layer(layer: str, policies: list[Policy], mode: str, *args: Any) -> tuple[LayerResult, set[str]]:
    denies, allows, grants = _scan(layer, policies, mode, *args)
    outcome = "deny" if denies else "allow" if allows else "implicit-deny"
    return _result(layer, outcome, denies + allows, "" if allows or denies else "no statement matches"), grants


class _Levels:
    """SCP or RCP levels, prepared once per action: each level's policy names and the candidate
    statements with the Match each makes."""

    __slots__ = ("levels", "by_action")

    def __init__(self, levels: tuple[tuple[Policy, ...], ...]):
        self.levels, self.by_action = levels, {}  # levels: holds the policies, so their ids stay theirs

    def prepare(self, layer: str, action: str) -> tuple:
        steps = []
        for level in self.levels:
            cands = tuple((st, _match(layer, pol.name, st)) for pol in level for st in candidates(pol.document, layer, action))
            # SCPs name no principal and RCPs only "*": the caller never matters here.
            assert all(st.principals is None or (st.principals.any and not st.not_principal) for st, _ in cands)
            steps.append((", ".join(pol.name for pol in level) or "(none attached)", cands))
        return tuple(steps)


_LEVELS: dict[tuple, _Levels] = {}


def _levels(layer: str, levels: list[list[Policy]], action: str, arn: str, ctx: Context, p: Any) -> tuple[LayerResult, str | None]:
    ids = (layer, *(tuple(map(id, level)) for level in levels))  # the same policies: the same levels
    prepared = _LEVELS.get(ids)
    if prepared is None:
        if len(_LEVELS) > 10_000:
            _LEVELS.clear()
        prepared = _LEVELS[ids] = _Levels(tuple(map(tuple, levels)))
    steps = prepared.by_action.get(action)
    if steps is None:
        steps = prepared.by_action[action] = prepared.prepare(layer, action)
    matches, denied, missing, note = [], False, None, ""
    for i, (names, cands) in enumerate(steps):
        denies, allows = [], []
        for st, m in cands:
            if st.unconditional or applies(st, arn, ctx):
                (allows if st.allow else denies).append(m)
        matches += denies + allows
        denied |= bool(denies)
        if not allows and missing is None:
            missing, note = names, f"no Allow at level {i + 1} of {len(steps)}: {names}"
    return _result(layer, "deny" if denied else "implicit-deny" if missing else "allow", matches, note), missing


_NA: dict[tuple[str, str], LayerResult] = {}


def _na(layer: str, note: str) -> LayerResult:
    hit = _NA.get((layer, note))
    if hit is None:
        hit = _NA[layer, note] = LayerResult(layer, "not-applicable", note=note)
    return hit


@lru_cache(maxsize=4096)
def _role_userid(arn: str) -> str:
    """aws:userid of a role session ("role-id:session-name"). The role's unique id is unknown
    offline: a stable stand-in; the session is named after the role."""
    return f"AROA{hashlib.sha1(arn.encode()).hexdigest()[:17].upper()}:{arn.rsplit('/', 1)[-1]}"


def request_context(request: Request) -> Context:
    """The condition keys AWS would see: derived from principal and resource, then Resource.keys,
    then Request.context (which overrides; a None value removes a key). Keys are lower-cased."""
    p, r = request.principal, request.resource
    c = Context({"aws:securetransport": "true"})
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
    for key, value in (("aws:principalaccount", p.account), ("aws:principalorgid", p.org_id),
                       ("aws:requestedregion", r.region), ("aws:resourceaccount", r.account), ("aws:resourceorgid", r.org_id)):
        if value:
            c[key] = value
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
    args = (request.action.lower(), r.arn, ctx, p)
    trust_action = args[0] in TRUST_ACTIONS
    res: dict[str, LayerResult] = {}
    scp_missing = rcp_missing = None
    if p.kind not in (ROLE, ACCOUNT_ROOT):
        res[SCP] = _na(SCP, "SCPs apply only to principals in member accounts")
    elif p.service_linked or not p.scps:
        res[SCP] = _na(SCP, "service-linked role: SCPs do not apply" if p.service_linked else "not subject to SCPs")
    else:
        res[SCP], scp_missing = _levels(SCP, p.scps, *args)
    if p.service_linked or not r.rcps:
        res[RCP] = _na(RCP, "calls made by service-linked roles: RCPs do not apply" if p.service_linked else "no RCPs apply")
    else:
        res[RCP], rcp_missing = _levels(RCP, r.rcps, *args)
    if p.kind == ROLE:
        res[IDENTITY] = _layer(IDENTITY, p.identity_policies, "identity", *args)[0]
    elif p.kind == ACCOUNT_ROOT:
        res[IDENTITY] = LayerResult(IDENTITY, "allow", note="the account root user has full access unless denied")
    else:
        res[IDENTITY] = _na(IDENTITY, f"a {p.kind} caller has no identity policies")
    for layer, pol in ((BOUNDARY, p.boundary), (SESSION, p.session_policy)):
        res[layer] = _layer(layer, [pol], "identity", *args)[0] if pol is not None and p.kind == ROLE else _na(layer, "none")
    grants: set[str] = set()
    if r.policy is not None and (r.kind != "iam-role" or trust_action):
        res[RESOURCE], grants = _layer(RESOURCE, [r.policy], "trust" if r.kind == "iam-role" else "resource", *args)
    else:
        res[RESOURCE] = _na(RESOURCE, "no resource-based policy governs this action")
    layers = [res[layer] for layer in LAYERS]

    def deny(layer: str, policy: str | None, reason: str) -> Decision:
        return Decision(DENY, layer, policy, None, reason, layers)

    for lr in layers:
        if lr.outcome == "deny":
            m = next(m for m in lr.matches if m.effect == "Deny")
            return Decision(DENY, lr.layer, m.policy, m.sid, f"explicit deny in {m.policy}", layers)
    if scp_missing:
        return deny(SCP, scp_missing, f"SCPs: {res[SCP].note}")
    if rcp_missing:
        return deny(RCP, rcp_missing, f"RCPs: {res[RCP].note}")
    verdict = _combine(p, r, res, grants, r.kind == "kms-key" or (r.kind == "iam-role" and trust_action))
    return Decision(ALLOW, reason=verdict[2], layers=layers) if verdict[0] is None else deny(*verdict)


def _combine(p: Any, r: Any, res: dict[str, LayerResult], grants: set[str], authoritative: bool) -> tuple:
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
    fails = [layer for layer in (IDENTITY, BOUNDARY, SESSION) if res[layer].outcome == "implicit-deny"]
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


# ---------------------------------------------------------------------------
# Deny-list guardrails on their own (tests/test_policy_documents.py): SCPs or RCPs evaluated
# with FullAWSAccess / RCPFullAWSAccess attached, so DENY when any statement matches. Allow
# statements are rejected, not evaluated. A request may touch several resources (each
# authorized with the request context plus its own keys); it is denied if any resource is:
# ec2:RunInstances authorizes the instance, the image, ... (the AMI-owner guardrail).
# (npkt 1.0.1 is not used for this: it resolves aws:PrincipalArn to the session ARN, cannot see
# service keys absent from CloudTrail such as ec2:Owner, evaluates one resource per event, and
# makes negated operators false on a missing key.)
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class GuardrailResource:
    arn: str
    keys: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GuardrailRequest:
    action: str
    resources: tuple[GuardrailResource, ...] = (GuardrailResource("*"),)
    context: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def make(cls, action: str, resource: str | Iterable[GuardrailResource] = "*", **context: Any) -> "GuardrailRequest":
        """``GuardrailRequest.make("s3:GetObject", "arn:aws:s3:::b/k", **{"aws:PrincipalArn": ...})``."""
        resources = (GuardrailResource(resource),) if isinstance(resource, str) else tuple(resource)
        return cls(action, resources, dict(context))


@dataclass(frozen=True)
class GuardrailDecision:
    decision: str
    sid: str | None = None  # the statement that denied

    @property
    def denied(self) -> bool:
        return self.decision == DENY


def guardrail_decision(documents: dict[str, Any] | Iterable[dict[str, Any]], request: GuardrailRequest) -> GuardrailDecision:
    """DENY (with the Sid) if any statement of any document denies ``request``, else ALLOW."""
    documents = [documents] if isinstance(documents, dict) else list(documents)
    for d in documents:
        compile_document(d, "guardrail")  # every document is checked, even after a deny
    action = request.action.lower()
    targets = [(res.arn, Context.of({**request.context, **res.keys})) for res in request.resources]
    for d in documents:
        for st in candidates(d, "guardrail", action):
            if any(applies(st, arn, ctx) for arn, ctx in targets):
                return GuardrailDecision(DENY, st.sid)
    return GuardrailDecision(ALLOW)
