"""Would an EventBridge rule fire on an event? moto's matcher, plus what it lacks.

moto (``moto.events.models.EventPattern``) implements the matching operators: exact values,
prefix, suffix, equals-ignore-case, wildcard, numeric, anything-but (also with a nested
prefix/suffix/wildcard/equals-ignore-case), cidr, exists and $or. Where it departs from
EventBridge, this module closes the gap:

* Arrays of objects: EventBridge matches ``{"resources": {"type": [...]}}`` against an event
  whose ``resources`` is a list of objects (each field of one pattern from the same element);
  moto never looks inside such lists, so the rule would never match. ``fires`` tries each
  choice of element (the events here are small).
* Pattern grammar: moto treats an unknown operator (``{"wildcrd": ...}``) as a match and reads
  only the first key of an operator object. ``check_pattern`` rejects both, as PutRule does,
  and also consecutive wildcards, malformed numeric ranges and patterns over 4,096 characters.
* Rule state: a rule in state ENABLED never sees read-only CloudTrail management events
  (``detail.readOnly`` true, e.g. sts:AssumeRole); only ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS
  does. moto ignores the state.

Left as moto does it: Python equality for scalars (so a pattern value ``1`` would match JSON
``true``); the patterns here use strings only.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any, Iterator

from moto.events.models import EventPattern

ENABLED = "ENABLED"
ALL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
STATES = {ENABLED, ALL_MANAGEMENT_EVENTS, "DISABLED"}
API_CALL = "AWS API Call via CloudTrail"
MAX_PATTERN = 4096  # PutRule's EventPattern length limit
NUMERIC_OPS = {"<", "<=", "=", ">=", ">"}
_NESTED = {"prefix", "suffix", "wildcard", "equals-ignore-case"}  # allowed inside anything-but


class PatternError(ValueError):
    pass


# --------------------------------------------------------------------------- grammar
def check_pattern(pattern: Any, raw: str | None = None) -> None:
    """Raise PatternError where EventBridge would refuse the pattern."""
    text = raw if raw is not None else json.dumps(pattern, separators=(",", ":"))
    if len(text) > MAX_PATTERN:
        raise PatternError(f"pattern is {len(text)} characters; EventBridge takes at most {MAX_PATTERN}")
    if not isinstance(pattern, dict) or not pattern:
        raise PatternError("a pattern is a non-empty JSON object")
    _check_node(pattern, "")


def _check_node(node: dict, path: str) -> None:
    for key, value in node.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(value, list) or not value or not all(isinstance(v, dict) and v for v in value):
                raise PatternError(f"{where}: $or takes a list of pattern objects")
            for i, v in enumerate(value):
                _check_node(v, f"{where}[{i}]")
        elif isinstance(value, dict):
            if not value:
                raise PatternError(f"{where}: empty object")
            _check_node(value, where)
        elif isinstance(value, list):
            if not value:
                raise PatternError(f"{where}: empty arrays are not allowed")
            for v in value:
                _check_filter(v, where)
        else:
            raise PatternError(f"{where}: must be an object or an array")


def _check_filter(f: Any, where: str) -> None:
    if f is None or isinstance(f, (str, bool, int, float)):
        return
    if not isinstance(f, dict) or len(f) != 1:
        raise PatternError(f"{where}: {f!r} is neither a value nor a one-operator object")
    ((op, arg),) = f.items()
    if op in ("prefix", "suffix"):
        ok = isinstance(arg, str) or (isinstance(arg, dict) and list(arg) == ["equals-ignore-case"] and isinstance(arg["equals-ignore-case"], str))
    elif op in ("equals-ignore-case", "cidr"):
        ok = isinstance(arg, str)
    elif op == "wildcard":
        ok = isinstance(arg, str) and "**" not in arg
    elif op == "exists":
        ok = isinstance(arg, bool)
    elif op == "numeric":
        ok = (isinstance(arg, list) and len(arg) in (2, 4) and all(o in NUMERIC_OPS for o in arg[::2])
              and all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in arg[1::2]))
    elif op == "anything-but":
        if isinstance(arg, dict):
            ok = len(arg) == 1 and next(iter(arg)) in _NESTED
            if ok:
                _check_filter(arg, where)
        elif isinstance(arg, list):
            ok = bool(arg) and (all(isinstance(a, str) for a in arg) or all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in arg))
        else:
            ok = isinstance(arg, (str, int, float)) and not isinstance(arg, bool)
    else:
        raise PatternError(f"{where}: unknown operator {op!r}")
    if not ok:
        raise PatternError(f"{where}: malformed {op} operand {arg!r}")


# --------------------------------------------------------------------------- matching
def _choices(node: Any) -> Iterator[Any]:
    """The event with each array of objects narrowed to one element, every way."""
    if isinstance(node, dict):
        keys = list(node)
        for combo in itertools.product(*(list(_choices(node[k])) for k in keys)):
            yield dict(zip(keys, combo))
    elif isinstance(node, list) and any(isinstance(v, (dict, list)) for v in node):
        for element in node:
            yield from _choices(element)
    else:
        yield node


def matches(pattern: dict, event: dict) -> bool:
    """Pattern against event, as EventBridge matches (grammar checked first)."""
    check_pattern(pattern)
    compiled = EventPattern.load(json.dumps(pattern))
    return any(compiled.matches_event(choice) for choice in _choices(event))


def delivered(state: str, event: dict) -> bool:
    """Whether a rule in this state is shown the event at all."""
    if state not in STATES:
        raise PatternError(f"unknown rule state {state!r}")
    if state == "DISABLED":
        return False
    read_only_api_call = event.get("detail-type") == API_CALL and event.get("detail", {}).get("readOnly") is True
    return state == ALL_MANAGEMENT_EVENTS or not read_only_api_call


def fires(pattern: dict, state: str, event: dict) -> bool:
    return delivered(state, event) and matches(pattern, event)


# --------------------------------------------------------------------------- event edits
def with_field(event: dict, path: str, value: Any) -> dict:
    """A copy of the event with one existing field (dotted path, list indexes as numbers) changed."""
    out = copy.deepcopy(event)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if isinstance(node, dict) and key not in node:
        raise KeyError(f"{path}: not in the event (a near miss changes an existing field)")
    node[key] = value
    return out
