"""Policy statements, compiled once and matched against a request.

``compile_document`` validates a policy document and compiles its statements (the language
inside them is ``blueprint.access.conditions``); ``candidates`` are the statements whose
Action matches an action; ``applies`` checks Resource and Condition, each Condition block
memoized on the context values it reads; ``grant``/``excluded`` read the Principal.
``guardrail_decision`` evaluates deny-list SCPs and RCPs on their own. Documents are cached
by ``id``: do not mutate a policy document once evaluated.
"""

from __future__ import annotations

import marshal
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .conditions import (
    Context, as_list, block_holds, block_keys, compile_block, globs_regex, globs_test, parse_variables, pattern_matches,
)
from .types import ACCOUNT_ROOT, ALLOW, DENY, ROLE, SERVICE

_STATEMENT_KEYS = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
                             "Principal", "NotPrincipal", "Condition"})
_DOC_KEYS = frozenset({"Version", "Id", "Statement"})
_ROOT = re.compile(r"arn:[^:]+:iam::(\d{12}):root")
_ACCOUNT = re.compile(r"\d{12}")
_MISSING = object()  # a context key that is absent (not the same as None, for Null)


@dataclass(frozen=True)
class Principals:
    any: bool = False
    accounts: frozenset = frozenset()
    arns: frozenset = frozenset()  # roles (and users, never our callers)
    sessions: frozenset = frozenset()
    services: frozenset = frozenset()


@dataclass(eq=False, slots=True)
class Statement:
    sid: str | None
    allow: bool
    all_actions: bool
    action_names: frozenset  # lower-cased
    action_globs: tuple[str, ...]  # the wildcarded ones
    not_action: bool
    resources: Callable[[str], bool] | None  # None: every resource; else whether an ARN is one
    resource_vars: tuple[str, ...]  # patterns with policy variables, resolved per request
    not_resource: bool
    principals: Principals | None
    not_principal: bool
    conditions: tuple
    condition_keys: tuple[str, ...] | None  # what the block reads; None: it is not memoized
    unconditional: bool  # every resource, no condition: applies once the Action matches
    memo: dict | None = field(default=None, repr=False)  # condition_keys values -> block holds

    def acts_on(self, action: str) -> bool:
        """Action/NotAction against a lower-cased action."""
        hit = self.all_actions or action in self.action_names or \
            (bool(self.action_globs) and globs_regex(self.action_globs, ignore_case=True).fullmatch(action) is not None)
        return hit != self.not_action


def _principals(spec: Any) -> Principals:
    if spec == "*":
        return Principals(any=True)
    if not isinstance(spec, dict) or not spec:
        raise ValueError(f"malformed Principal {spec!r}")
    found: dict[str, set] = {"accounts": set(), "arns": set(), "sessions": set(), "services": set()}
    everyone = False
    for kind, values in spec.items():
        values = as_list(values)
        if not all(isinstance(v, str) for v in values):
            raise ValueError(f"malformed Principal {spec!r}")
        if kind == "AWS":
            for v in values:
                root = _ROOT.fullmatch(v)
                if v == "*":
                    everyone = True
                elif _ACCOUNT.fullmatch(v) or root:
                    found["accounts"].add(root.group(1) if root else v)
                elif "*" in v or "?" in v:
                    raise ValueError(f"a principal cannot be partly wildcarded: {v!r}")
                else:
                    found["sessions" if ":assumed-role/" in v else "arns"].add(v)
        elif kind == "Service":
            if "*" in values:
                raise ValueError('the service principal can\'t be "Service": "*"')
            found["services"].update(values)
        elif kind not in ("Federated", "CanonicalUser"):  # these never name one of our callers
            raise ValueError(f"unsupported principal type {kind!r}")
    return Principals(everyone, *(frozenset(found[k]) for k in ("accounts", "arns", "sessions", "services")))


def _statement(st: Any, mode: str) -> Statement:
    """mode: scp, rcp, identity, resource, trust (a role's trust policy) or guardrail (deny-list)."""
    if not isinstance(st, dict):
        raise ValueError(f"a statement must be an object, got {st!r}")
    sid = st.get("Sid")
    if set(st) - _STATEMENT_KEYS:
        raise ValueError(f"statement {sid!r}: unsupported element(s) {sorted(set(st) - _STATEMENT_KEYS)}")
    if st.get("Effect") not in ("Allow", "Deny") or (mode == "guardrail" and st["Effect"] != "Deny"):
        raise ValueError(f"statement {sid!r}: Effect {st.get('Effect')!r} is not supported in a {mode} policy")
    if ("Action" in st) == ("NotAction" in st):
        raise ValueError(f"statement {sid!r}: needs exactly one of Action/NotAction")
    n_res = ("Resource" in st) + ("NotResource" in st)
    if n_res == 2 or (n_res == 0 and mode not in ("resource", "trust")):
        raise ValueError(f"statement {sid!r}: needs exactly one of Resource/NotResource")
    n_pr = ("Principal" in st) + ("NotPrincipal" in st)
    if mode in ("resource", "trust"):
        if n_pr != 1 or ("NotPrincipal" in st and (st["Effect"] == "Allow" or mode == "trust")):
            raise ValueError(f"statement {sid!r}: needs a Principal (NotPrincipal only with Deny, never in a trust policy)")
    elif mode in ("rcp", "guardrail"):
        if "NotPrincipal" in st or st.get("Principal", "*") not in ("*", {"AWS": "*"}):
            raise ValueError(f"statement {sid!r}: only Principal '*' is supported in a {mode} policy")
    elif n_pr:
        raise ValueError(f"statement {sid!r}: a {mode} policy takes no Principal")
    actions = as_list(st.get("Action", st.get("NotAction")))
    resources = as_list(st.get("Resource", st.get("NotResource", "*")))
    if not all(isinstance(a, str) for a in actions + resources):
        raise ValueError(f"statement {sid!r}: actions and resources must be strings")
    every = resources == ["*"] and "NotResource" not in st
    with_vars = tuple(r for r in resources if parse_variables(r))  # resolved per request
    conditions = compile_block(st.get("Condition", {}))
    pr = st.get("Principal", st.get("NotPrincipal"))
    return Statement(
        sid, st["Effect"] == "Allow", "*" in actions, frozenset(a.lower() for a in actions),
        tuple(a for a in actions if "*" in a or "?" in a),
        "NotAction" in st, None if every else globs_test(r for r in resources if r not in with_vars),
        () if every else with_vars, "NotResource" in st,
        _principals(pr) if pr is not None else None, "NotPrincipal" in st,
        conditions, block_keys(conditions), every and not conditions)


class _Compiled:
    __slots__ = ("statements", "by_action")

    def __init__(self, statements: tuple[Statement, ...]):
        self.statements, self.by_action = statements, {}  # by_action: lower-cased action -> candidates


_CACHE: dict[tuple[int, str], tuple[Any, _Compiled]] = {}
_BY_TEXT: dict[tuple[bytes, str], Statement] = {}  # statements of plain values, by their content


def _compiled(document: Any, mode: str) -> _Compiled:
    hit = _CACHE.get((id(document), mode))
    if hit is not None and hit[0] is document:
        return hit[1]
    if not isinstance(document, dict) or "Statement" not in document or set(document) - _DOC_KEYS:
        raise ValueError(f"not a policy document (Version/Id/Statement): {str(document)[:80]}")
    statements = []
    for st in [document["Statement"]] if isinstance(document["Statement"], dict) else document["Statement"]:
        try:
            key = (marshal.dumps(st, 2), mode)  # the content, types included; version 2 has no references
        except ValueError:  # not only plain values
            key = None
        compiled = _BY_TEXT.get(key) if key else None
        if compiled is None:
            compiled = _statement(st, mode)
            if key:
                if len(_BY_TEXT) > 50_000:
                    _BY_TEXT.clear()
                _BY_TEXT[key] = compiled
        statements.append(compiled)
    if len(_CACHE) > 100_000:
        _CACHE.clear()
    out = _Compiled(tuple(statements))
    _CACHE[(id(document), mode)] = (document, out)
    return out


def compile_document(document: Any, mode: str) -> tuple[Statement, ...]:
    return _compiled(document, mode).statements


def candidates(document: Any, mode: str, action: str) -> tuple[Statement, ...]:
    """The statements of ``document`` whose Action/NotAction matches ``action`` (lower-cased)."""
    c = _compiled(document, mode)
    hit = c.by_action.get(action)
    if hit is None:
        if len(c.by_action) > 4096:
            c.by_action.clear()
        hit = c.by_action[action] = tuple(st for st in c.statements if st.acts_on(action))
    return hit


def _conditions_hold(st: Statement, ctx: dict[str, Any]) -> bool:
    """The Condition block, memoized on the values of the keys it reads when each is a string or
    absent (``True == 1 == 1.0`` would share an entry)."""
    keys = st.condition_keys
    if keys is None:
        return block_holds(st.conditions, ctx)
    if len(keys) == 1:
        values = ctx.get(keys[0], _MISSING)
        if values.__class__ is not str and values is not _MISSING and values is not None:
            return block_holds(st.conditions, ctx)
    else:
        values = tuple([ctx.get(k, _MISSING) for k in keys])
        for v in values:
            if v.__class__ is not str and v is not _MISSING and v is not None:
                return block_holds(st.conditions, ctx)
    memo = st.memo
    if memo is None or len(memo) > 4096:
        memo = st.memo = {}
    hit = memo.get(values)
    if hit is None:
        hit = memo[values] = block_holds(st.conditions, ctx)
    return hit


def applies(st: Statement, arn: str, ctx: dict[str, Any]) -> bool:
    """Resource and Condition of a statement whose Action matches; the Principal is checked apart."""
    if st.resources is not None:
        hit = st.resources(arn) or (bool(st.resource_vars) and any(pattern_matches(r, arn, ctx) for r in st.resource_vars))
        if hit == st.not_resource:
            return False
    return not st.conditions or _conditions_hold(st, ctx)


def _session_arn(p: Any, ctx: dict[str, Any]) -> str | None:
    """The role session's ARN, its session name taken from aws:userid ("role-id:session-name")."""
    userid = str(ctx.get("aws:userid", ""))
    if p.kind != ROLE or not p.account or ":" not in userid:
        return None
    return f"arn:aws:sts::{p.account}:assumed-role/{p.arn.rsplit('/', 1)[-1]}/{userid.split(':', 1)[1]}"


def grant(pr: Principals, p: Any, ctx: dict[str, Any]) -> str | None:
    """How a Principal element names the caller: any, role, session, service, account, or not."""
    if pr.any:
        return "any"
    if p.kind == SERVICE:
        return "service" if p.arn in pr.services else None
    if p.kind == ROLE and p.arn in pr.arns:
        return "role"
    if p.kind == ROLE and pr.sessions and _session_arn(p, ctx) in pr.sessions:
        return "session"
    return "account" if p.kind in (ROLE, ACCOUNT_ROOT) and p.account in pr.accounts else None


def excluded(pr: Principals, p: Any, ctx: dict[str, Any]) -> bool:
    """NotPrincipal: whether the caller is among the exceptions."""
    if p.boundary is not None:  # "...will always deny any IAM principal that has a permissions boundary"
        return False
    if pr.any:
        return True
    if p.kind == SERVICE:
        return p.arn in pr.services
    named = p.kind == ACCOUNT_ROOT or p.arn in pr.arns or (pr.sessions and _session_arn(p, ctx) in pr.sessions)
    return p.kind in (ROLE, ACCOUNT_ROOT) and p.account in pr.accounts and bool(named)


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
    documents = [documents] if isinstance(documents, dict) else list(documents)  # pyright: ignore[reportAssignmentType] (narrowing sees dict keys of any type)
    for d in documents:
        compile_document(d, "guardrail")  # every document is validated, even after a deny
    action = request.action.lower()
    targets = [(res.arn, Context.of({**request.context, **res.keys})) for res in request.resources]
    for d in documents:
        for st in candidates(d, "guardrail", action):
            if any(applies(st, arn, ctx) for arn, ctx in targets):
                return GuardrailDecision(DENY, st.sid)
    return GuardrailDecision(ALLOW)
