"""A small, offline evaluator for deny-list guardrails (SCPs and RCPs).

Why not npkt? npkt 1.0.1 simulates SCPs against CloudTrail events, and for the
questions these tests ask it gives wrong answers:

* it resolves ``aws:PrincipalArn`` to the *session* ARN
  (``arn:aws:sts::...:assumed-role/Role/session``) instead of the role ARN, so
  ``ArnNotLike`` role exemptions never match and break-glass roles look denied;
* it cannot see service keys such as ``ec2:Owner`` or
  ``kms:ScheduleKeyDeletionPendingWindowInDays`` (not in CloudTrail), and it
  evaluates a single resource per event, so the AMI-owner guardrail is never
  applied to the ``image`` resource of ``ec2:RunInstances``;
* a negated operator on a missing key (``StringNotEquals`` etc.) evaluates to
  false, while IAM evaluates it to true.

This module models exactly what the guardrails rely on, and nothing more:

* the policies are deny-lists evaluated with ``FullAWSAccess`` /
  ``RCPFullAWSAccess`` still attached, so a request is DENY when any statement
  matches and ALLOW otherwise; an ``Allow`` statement is rejected (we never
  write one, and pretending to evaluate it would be dishonest);
* ``Action``/``NotAction`` (case-insensitive ``*``/``?`` globs),
  ``Resource``/``NotResource`` (case-sensitive globs), ``Principal: "*"``;
* condition operators: String*, Arn* (matched per colon-separated ARN part),
  Numeric*, Bool, Null, the ``IfExists`` suffix and the ``ForAnyValue:`` /
  ``ForAllValues:`` prefixes, with IAM's rules for missing keys: a missing key
  makes a condition false, except for negated operators (true), ``...IfExists``
  (true), ``ForAllValues`` (true) and ``Null``;
* condition key names are case-insensitive, values are case-sensitive except
  ``...IgnoreCase``;
* a request may touch several resources (``ec2:RunInstances`` authorizes the
  instance, the image, the subnet, ...). Each resource is authorized on its
  own with the request context plus that resource's keys; the request is
  denied if any resource is.

Unknown operators or element names raise, so a guardrail can never pass a test
because the evaluator silently ignored part of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable

DENY = "DENY"
ALLOW = "ALLOW"

_STATEMENT_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Principal", "Condition"}


@dataclass(frozen=True)
class Resource:
    arn: str
    keys: dict[str, Any] = field(default_factory=dict)  # resource-specific condition keys


@dataclass(frozen=True)
class Request:
    action: str
    resources: tuple[Resource, ...] = (Resource("*"),)
    context: dict[str, Any] = field(default_factory=dict)  # request-wide condition keys

    @classmethod
    def make(cls, action: str, resource: str | Iterable[Resource] = "*", **context: Any) -> "Request":
        """``Request.make("s3:GetObject", "arn:aws:s3:::b/k", **{"aws:PrincipalArn": ...})``."""
        if isinstance(resource, str):
            resources: tuple[Resource, ...] = (Resource(resource),)
        else:
            resources = tuple(resource)
        return cls(action, resources, dict(context))


@dataclass(frozen=True)
class Decision:
    decision: str
    sid: str | None = None  # the statement that denied

    @property
    def denied(self) -> bool:
        return self.decision == DENY


# ---------------------------------------------------------------------------
# Wildcards
# ---------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    out = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-delimited parts is matched on its own."""
    p_parts = pattern.split(":", 5)
    v_parts = value.split(":", 5)
    if len(p_parts) != 6 or len(v_parts) != 6:
        return False
    return all(glob_match(p, v) for p, v in zip(p_parts, v_parts))


def _as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


# ---------------------------------------------------------------------------
# Condition operators: each takes one context value and the policy's values
# and says whether the *non-negated* base comparison holds for any of them.
# ---------------------------------------------------------------------------

def _num(x: Any) -> float:
    if isinstance(x, bool):
        raise TypeError("boolean given to a Numeric operator")
    return float(x)


def _bool_str(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    return str(x).lower()


_BASE = {
    "StringEquals": lambda v, ps: any(str(v) == str(p) for p in ps),
    "StringEqualsIgnoreCase": lambda v, ps: any(str(v).lower() == str(p).lower() for p in ps),
    "StringLike": lambda v, ps: any(glob_match(str(p), str(v)) for p in ps),
    "ArnEquals": lambda v, ps: any(str(v) == str(p) for p in ps),
    "ArnLike": lambda v, ps: any(arn_like(str(p), str(v)) for p in ps),
    "NumericEquals": lambda v, ps: any(_num(v) == _num(p) for p in ps),
    "NumericLessThan": lambda v, ps: any(_num(v) < _num(p) for p in ps),
    "NumericLessThanEquals": lambda v, ps: any(_num(v) <= _num(p) for p in ps),
    "NumericGreaterThan": lambda v, ps: any(_num(v) > _num(p) for p in ps),
    "NumericGreaterThanEquals": lambda v, ps: any(_num(v) >= _num(p) for p in ps),
    "Bool": lambda v, ps: any(_bool_str(v) == _bool_str(p) for p in ps),
}
# Negated operators: true when the value matches none of the policy values.
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}


def _lookup(ctx: dict[str, Any], key: str) -> tuple[bool, Any]:
    lowered = key.lower()
    for k, v in ctx.items():
        if k.lower() == lowered:
            return True, v
    return False, None


def _single(op: str, value: Any, policy_values: list[Any]) -> bool:
    if op in _NEGATED:
        return not _BASE[_NEGATED[op]](value, policy_values)
    if op in _BASE:
        return _BASE[op](value, policy_values)
    raise ValueError(f"unsupported condition operator {op!r}")


def condition_holds(operator: str, key: str, policy_values: Any, ctx: dict[str, Any]) -> bool:
    """Evaluate one ``operator: {key: values}`` pair against a request context."""
    values = _as_list(policy_values)
    present, ctx_value = _lookup(ctx, key)

    set_op = None
    op = operator
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if op.startswith(prefix):
            set_op, op = prefix[:-1], op[len(prefix):]
    if_exists = op.endswith("IfExists")
    if if_exists:
        op = op[: -len("IfExists")]

    if op == "Null":
        if set_op or if_exists:
            raise ValueError(f"unsupported condition operator {operator!r}")
        want_absent = {_bool_str(v) for v in values}
        if not want_absent <= {"true", "false"}:
            raise ValueError(f"Null takes true/false, got {values!r}")
        return ("true" if not present else "false") in want_absent

    if op not in _BASE and op not in _NEGATED:
        raise ValueError(f"unsupported condition operator {operator!r}")

    if set_op:
        members = _as_list(ctx_value) if present and ctx_value is not None else []
        if set_op == "ForAnyValue":
            return any(_single(op, m, values) for m in members)
        return all(_single(op, m, values) for m in members)  # ForAllValues: vacuously true

    if not present:
        if if_exists:
            return True
        return op in _NEGATED
    if isinstance(ctx_value, (list, tuple)):
        raise TypeError(f"{key} is multi-valued; the policy must use ForAnyValue/ForAllValues")
    return _single(op, ctx_value, values)


def conditions_hold(block: dict[str, Any], ctx: dict[str, Any]) -> bool:
    """All operators and all keys must hold (AND); any value of a key may match (OR)."""
    for operator, pairs in block.items():
        if not isinstance(pairs, dict):
            raise ValueError(f"condition {operator!r} must map keys to values")
        for key, values in pairs.items():
            if not condition_holds(operator, key, values, ctx):
                return False
    return True


# ---------------------------------------------------------------------------
# Statements and documents
# ---------------------------------------------------------------------------

def _action_matches(stmt: dict[str, Any], action: str) -> bool:
    if "Action" in stmt:
        return any(glob_match(p, action, ignore_case=True) for p in _as_list(stmt["Action"]))
    return not any(glob_match(p, action, ignore_case=True) for p in _as_list(stmt["NotAction"]))


def _resource_matches(stmt: dict[str, Any], arn: str) -> bool:
    if "Resource" in stmt:
        return any(glob_match(p, arn) for p in _as_list(stmt["Resource"]))
    return not any(glob_match(p, arn) for p in _as_list(stmt["NotResource"]))


def _check_statement(stmt: dict[str, Any]) -> None:
    unknown = set(stmt) - _STATEMENT_KEYS
    if unknown:
        raise ValueError(f"unsupported statement element(s) {sorted(unknown)}")
    if stmt.get("Effect") != "Deny":
        raise ValueError(f"statement {stmt.get('Sid')!r}: only Deny statements are modelled")
    if ("Action" in stmt) == ("NotAction" in stmt):
        raise ValueError(f"statement {stmt.get('Sid')!r}: needs exactly one of Action/NotAction")
    if ("Resource" in stmt) == ("NotResource" in stmt):
        raise ValueError(f"statement {stmt.get('Sid')!r}: needs exactly one of Resource/NotResource")
    if "Principal" in stmt and stmt["Principal"] not in ("*", {"AWS": "*"}):
        raise ValueError(f"statement {stmt.get('Sid')!r}: only Principal '*' is modelled")


def statement_denies(stmt: dict[str, Any], request: Request) -> bool:
    _check_statement(stmt)
    if not _action_matches(stmt, request.action):
        return False
    for res in request.resources:
        if not _resource_matches(stmt, res.arn):
            continue
        ctx = {**request.context, **res.keys}
        if conditions_hold(stmt.get("Condition", {}), ctx):
            return True
    return False


def evaluate(documents: dict[str, Any] | Iterable[dict[str, Any]], request: Request) -> Decision:
    """DENY if any statement of any document denies ``request``, else ALLOW."""
    docs = [documents] if isinstance(documents, dict) else list(documents)
    for doc in docs:
        stmts = doc["Statement"]
        for stmt in [stmts] if isinstance(stmts, dict) else stmts:
            if statement_denies(stmt, request):
                return Decision(DENY, stmt.get("Sid"))
    return Decision(ALLOW)
