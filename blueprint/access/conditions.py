"""The policy language below the statement: wildcards, policy variables, condition operators.

Public so that tests can check a single condition block. It follows "IAM JSON policy elements:
Condition operators", "Conditions with multiple context keys or values" and "IAM policy
elements: Variables and tags": every operator family (String*, Numeric*, Date* in ISO 8601 or
epoch seconds, Bool, BinaryEquals, IpAddress, Arn* alike: ``*``/``?`` never cross a colon in the
first five parts; Null), ``IfExists``, ``ForAnyValue:``/``ForAllValues:``. A missing key makes a
condition false, but for negated operators, ``...IfExists`` and ``ForAllValues`` (true, also
for an empty set) and ``Null``. Several values of a key: OR (NOR when negated); several keys or
operators: AND. Key names are case-insensitive, values case-sensitive but ``...IgnoreCase``.
Variables ``${key}``, ``${key, 'default'}`` (also in ``Resource``), escapes ``${*}`` ``${?}``
``${$}``; one that cannot be resolved matches nothing. Unknown operators and malformed values
raise ValueError (a guardrail must never pass because part of it was ignored); a multi-valued
key given to a single-valued operator raises TypeError.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable, Iterable


class Context(dict):
    """A request context whose keys are lower-cased (condition key names are case-insensitive)."""

    __slots__ = ()

    @classmethod
    def of(cls, ctx: dict[str, Any]) -> "Context":
        return ctx if isinstance(ctx, Context) else cls((k.lower(), v) for k, v in ctx.items())


def as_list(x: Any) -> list[Any]:
    return list(x) if isinstance(x, (list, tuple)) else [x]


# ---------------------------------------------------------------------------
# Wildcards. A pattern is a tuple of pieces (text, literal): literal text (a variable's
# value, an escape) never acts as a wildcard.
# ---------------------------------------------------------------------------

def _source(pieces: tuple[tuple[str, bool], ...], arn: bool) -> str:
    out, colons = [], 0
    for text, literal in pieces:
        for ch in text:
            if not literal and ch in "*?":
                narrow = arn and colons < 5  # ArnLike: wildcards stay within one of the first five parts
                out.append(("[^:]" if narrow else ".") + ("*" if ch == "*" else ""))
            else:
                out.append(re.escape(ch))
            colons += ch == ":"
    return "".join(out)


@lru_cache(maxsize=16384)
def _regex(pieces: tuple[tuple[str, bool], ...], arn: bool, ignore_case: bool) -> re.Pattern[str]:
    return re.compile(_source(pieces, arn), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


@lru_cache(maxsize=4096)
def globs_regex(patterns: tuple[str, ...], arn: bool = False, ignore_case: bool = False) -> re.Pattern[str]:
    """One regex for any of ``patterns``."""
    either = "|".join(f"(?:{_source(((p, False),), arn)})" for p in patterns)
    return re.compile(either, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    return _regex(((pattern, False),), False, ignore_case)


def globs_test(patterns: Iterable[str], arn: bool = False) -> Callable[[str], bool]:
    """Whether a value matches any of ``patterns`` (globs without variables): a set of those
    without wildcards, the prefixes of those whose only wildcards end them, a regex of the
    others compiled when first needed (most never are). ``arn``: as ArnLike."""
    exact, prefixes, others = set(), [], []
    for v in patterns:
        head = v.rstrip("*")
        if arn and v.count(":") < 5:
            continue  # matches nothing
        if "*" in head or "?" in head:
            others.append(v)
        elif head == v:
            exact.add(v)
        else:
            prefixes.append(head)  # if arn: its stars come after the fifth colon
    exact, prefixes, others = frozenset(exact), tuple(prefixes), tuple(others)

    def test(s: str) -> bool:
        if arn and s.count(":") < 5:
            return False
        return s in exact or s.startswith(prefixes) or (bool(others) and globs_regex(others, arn).fullmatch(s) is not None)
    return test


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """``*`` matches any run of characters (colons included), ``?`` any one character."""
    return _regex(((pattern, False),), False, ignore_case).fullmatch(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike: each of the six colon-delimited parts is matched on its own."""
    if pattern.count(":") < 5 or value.count(":") < 5:
        return False
    return _regex(((pattern, False),), True, False).fullmatch(value) is not None


# ---------------------------------------------------------------------------
# Policy variables
# ---------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([^}]*)\}")
_NO_VARS: tuple = ()


@lru_cache(maxsize=16384)
def parse_variables(value: str) -> tuple:
    """``()`` when ``value`` has no variable, else ("lit"|"esc", text) / ("var", key, default)."""
    if "${" not in value:
        return _NO_VARS
    out: list[tuple] = []
    pos = 0
    for m in _VAR.finditer(value):
        if m.start() > pos:
            out.append(("lit", value[pos:m.start()]))
        body = m.group(1).strip()
        if body in ("*", "?", "$"):
            out.append(("esc", body))
        elif "," in body:
            key, default = (s.strip() for s in body.split(",", 1))
            if len(default) < 2 or default[0] != "'" or default[-1] != "'":
                raise ValueError(f"policy variable default must be quoted: {m.group(0)!r}")
            out.append(("var", key.lower(), default[1:-1].replace("''", "'")))
        elif body:
            out.append(("var", body.lower(), None))
        else:
            raise ValueError(f"empty policy variable in {value!r}")
        pos = m.end()
    if pos < len(value):
        out.append(("lit", value[pos:]))
    return tuple(out)


def resolve(value: str, ctx: dict[str, Any]) -> tuple[tuple[str, bool], ...] | None:
    """``value`` as pattern pieces with its variables substituted; None if one cannot be."""
    tokens = parse_variables(value)
    if not tokens:
        return ((value, False),)
    pieces = []
    for tok in tokens:
        if tok[0] == "lit":
            pieces.append((tok[1], False))
        elif tok[0] == "esc":
            pieces.append((tok[1], True))
        else:
            v = ctx.get(tok[1])
            if v is None or isinstance(v, (list, tuple)):
                if tok[2] is None:
                    return None
                v = tok[2]
            pieces.append((_s(v), True))
    return tuple(pieces)


def pattern_matches(pattern: str, value: str, ctx: dict[str, Any], *, arn: bool = False, ignore_case: bool = False) -> bool:
    pieces = resolve(pattern, ctx)
    if pieces is None or (arn and (value.count(":") < 5 or "".join(t for t, _ in pieces).count(":") < 5)):
        return False
    return _regex(pieces, arn, ignore_case).fullmatch(value) is not None


def _text(value: str, ctx: dict[str, Any]) -> str | None:
    pieces = resolve(value, ctx)
    return None if pieces is None else "".join(t for t, _ in pieces)


# ---------------------------------------------------------------------------
# Value conversions
# ---------------------------------------------------------------------------

def _s(x: Any) -> str:
    return ("true" if x else "false") if isinstance(x, bool) else str(x)


def _number(x: Any) -> float:
    if isinstance(x, bool):
        raise TypeError("boolean given to a Numeric operator")
    return float(x)


def _epoch(x: Any) -> float:
    if isinstance(x, datetime):
        d = x
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    else:
        s = str(x).strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", s):
            return float(s)
        d = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    return (d if d.tzinfo else d.replace(tzinfo=timezone.utc)).timestamp()


def _binary(x: Any) -> bytes:
    return bytes(x) if isinstance(x, (bytes, bytearray)) else base64.b64decode(str(x), validate=True)


def _maybe(conv: Callable[[Any], Any], x: Any) -> Any:
    """Convert a request value; one that cannot be converted matches nothing."""
    try:
        return conv(x)
    except (ValueError, TypeError):
        if isinstance(x, bool):
            raise
        return None


# ---------------------------------------------------------------------------
# Operators: prepare(policy value) once, then test(request value, prepared, ctx) -> bool.
# ---------------------------------------------------------------------------

def _cmp(conv: Callable[[Any], Any], op: Callable[[Any, Any], bool]) -> tuple:
    def test(v: Any, p: Any, ctx: Any) -> bool:
        x = _maybe(conv, v)
        return x is not None and op(x, p)
    return conv, test


_ORDER = {"Equals": lambda a, b: a == b, "LessThan": lambda a, b: a < b, "LessThanEquals": lambda a, b: a <= b,
          "GreaterThan": lambda a, b: a > b, "GreaterThanEquals": lambda a, b: a >= b}
_BASE: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any, Any], bool]]] = {
    "StringEquals": (_s, lambda v, p, c: (t := _text(p, c)) is not None and _s(v) == t),
    "StringEqualsIgnoreCase": (_s, lambda v, p, c: (t := _text(p, c)) is not None and _s(v).lower() == t.lower()),
    "StringLike": (_s, lambda v, p, c: pattern_matches(p, _s(v), c)),
    "ArnEquals": (_s, lambda v, p, c: pattern_matches(p, _s(v), c, arn=True)),
    "ArnLike": (_s, lambda v, p, c: pattern_matches(p, _s(v), c, arn=True)),
    "Bool": (lambda p: _s(p).lower(), lambda v, p, c: _s(v).lower() == p),
    "BinaryEquals": (_binary, lambda v, p, c: _maybe(_binary, v) == p),
    "IpAddress": (lambda p: ipaddress.ip_network(str(p), strict=False),
                  lambda v, p, c: (a := _maybe(lambda x: ipaddress.ip_address(str(x)), v)) is not None
                  and a.version == p.version and a in p),
}
for _name, _op in _ORDER.items():
    _BASE["Numeric" + _name] = _cmp(_number, _op)
    _BASE["Date" + _name] = _cmp(_epoch, _op)
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
            "NumericNotEquals": "NumericEquals", "DateNotEquals": "DateEquals", "NotIpAddress": "IpAddress"}


def compile_condition(operator: str, key: str, policy_values: Any) -> tuple:
    """One ``operator: {key: values}`` pair, parsed and validated."""
    op, set_op = operator, None
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if op.startswith(prefix):
            set_op, op = prefix[:-1], op[len(prefix):]
    if_exists = op.endswith("IfExists")
    if if_exists:
        op = op[: -len("IfExists")]
    values = as_list(policy_values)
    if not values or any(isinstance(v, (dict, list, tuple)) or v is None for v in values):
        raise ValueError(f"{operator} {key}: condition values must be a scalar or a list of scalars")
    if op == "Null":
        if set_op or if_exists:
            raise ValueError(f"unsupported condition operator {operator!r}")
        want = {_s(v).lower() for v in values}
        if not want <= {"true", "false"}:
            raise ValueError(f"Null takes true/false, got {values!r}")
        return ("Null", key.lower(), frozenset(want))
    negated = op in _NEGATED
    base = _NEGATED.get(op, op)
    if base not in _BASE:
        raise ValueError(f"unsupported condition operator {operator!r}")
    prepare, test = _BASE[base]
    try:
        prepared = tuple(prepare(v) for v in values)
        if prepare is _s:
            for v in prepared:
                parse_variables(v)  # a malformed variable fails now, not only when the key is present
    except (TypeError, ValueError) as e:
        raise ValueError(f"{operator} {key}: bad policy value {values!r}: {e}") from None
    if base in _AT_ONCE and not any(parse_variables(v) for v in prepared):
        test, prepared = _AT_ONCE[base](prepared)
    return (set_op, key.lower(), test, prepared, negated, if_exists)


# Operators whose values, when free of variables, are tested at once: values -> (test, prepared).
_AT_ONCE: dict[str, Callable[[tuple], tuple]] = {
    "StringEquals": lambda vs: ((lambda v, p, c: _s(v) in p), (frozenset(vs),)),
    "StringEqualsIgnoreCase": lambda vs: ((lambda v, p, c: _s(v).lower() in p), (frozenset(x.lower() for x in vs),)),
    "StringLike": lambda vs: ((lambda v, p, c: p(_s(v))), (globs_test(vs),)),
    "ArnEquals": lambda vs: ((lambda v, p, c: p(_s(v))), (globs_test(vs, arn=True),)),
    "ArnLike": lambda vs: ((lambda v, p, c: p(_s(v))), (globs_test(vs, arn=True),)),
}


def compile_block(block: Any) -> tuple:
    if not isinstance(block, dict):
        raise ValueError(f"Condition must be an object, got {block!r}")
    out = []
    for operator, pairs in block.items():
        if not isinstance(pairs, dict):
            raise ValueError(f"condition {operator!r} must map keys to values")
        out.extend(compile_condition(operator, key, values) for key, values in pairs.items())
    return tuple(out)


def _holds(c: tuple, ctx: dict[str, Any]) -> bool:
    if c[0] == "Null":
        return ("true" if c[1] not in ctx else "false") in c[2]
    set_op, key, test, prepared, negated, if_exists = c
    present = key in ctx
    value = ctx.get(key)
    if set_op:
        members = as_list(value) if value is not None else []
        if not members:
            return if_exists or set_op == "ForAllValues"
        hits = [any(test(m, p, ctx) for p in prepared) != negated for m in members]  # negated: matches none
        return any(hits) if set_op == "ForAnyValue" else all(hits)
    if not present or value is None:
        return if_exists or negated
    if isinstance(value, (list, tuple, set, frozenset)):
        raise TypeError(f"{key} is multi-valued; the policy must use ForAnyValue/ForAllValues")
    hit = any(test(value, p, ctx) for p in prepared)
    return not hit if negated else hit


def block_keys(compiled: Iterable[tuple]) -> tuple[str, ...] | None:
    """The context keys a compiled block reads (its keys, the variables in its values): it holds
    or not for the same values of these. None if that cannot be told."""
    keys = []
    try:
        for c in compiled:
            keys.append(c[1])
            if c[0] != "Null":
                keys += [t[1] for v in c[3] if isinstance(v, str) for t in parse_variables(v) if t[0] == "var"]
    except ValueError:
        return None
    return tuple(dict.fromkeys(keys))


def block_holds(compiled: Iterable[tuple], ctx: dict[str, Any]) -> bool:
    """All conditions of a compiled block hold (AND). ``ctx`` must have lower-cased keys."""
    return all(_holds(c, ctx) for c in compiled)


def condition_holds(operator: str, key: str, policy_values: Any, ctx: dict[str, Any]) -> bool:
    """Evaluate one ``operator: {key: values}`` pair against a request context."""
    return _holds(compile_condition(operator, key, policy_values), Context.of(ctx))


def conditions_hold(block: dict[str, Any], ctx: dict[str, Any]) -> bool:
    """All operators and all keys must hold (AND); any value of a key may match (OR)."""
    return block_holds(compile_block(block), Context.of(ctx))
