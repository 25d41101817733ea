"""Configuration errors, and pydantic's validation errors said in words a stack-file editor can act on.

Every problem is a (key path, message) pair; ``ConfigError`` holds all of one file's problems,
so they are reported together. Messages say what is allowed, with an example, and never show
a regular expression or a Python type name.
"""

from __future__ import annotations

import difflib
from typing import Any, get_args

from pydantic import BaseModel

# What each ``Field(pattern=...)`` of the config models allows, in words with an example.
# tests/test_config_strict.py checks that every pattern the models use is listed here.
PATTERN_WORDS = {
    r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,127}$": "1 to 128 letters, digits, spaces, '_' or '-', starting with a letter or digit, e.g. 'Workloads'",
    r"^[A-Za-z0-9-]{2,32}$": "2 to 32 letters, digits or '-', e.g. 'CC-1001'",
    r"^[A-Za-z0-9_.-]{1,128}$": "1 to 128 letters, digits, '_', '.' or '-', e.g. 'db-password'",
    r"^[A-Za-z0-9_.-]{1,100}$": "1 to 100 letters, digits, '_', '.' or '-', e.g. 'payments-service'",
    r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$": "owner/name, each of letters, digits, '_', '.' or '-', e.g. 'acme/payments-service'",
    r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$": "an email address such as 'lead@example.com'",
    r"^https://[^\s]+$": "an https:// URL without spaces, e.g. 'https://staging.example.com'",
    r"^[a-z0-9./_-]+(:[0-9]+)?/?[a-z0-9./_-]*@sha256:[0-9a-f]{64}$": "a lower-case image name pinned by digest, e.g. 'zaproxy/zap-stable@sha256:' and 64 hex digits",
    r"^[\w+=,.@-]{1,32}$": "1 to 32 letters, digits or any of + = , . @ _ -, e.g. 'payments-prod-deployer'",
    r"^[A-Z][A-Z0-9_]{0,63}$": "an environment variable name: an upper-case letter, then up to 63 upper-case letters, digits or '_', e.g. 'DB_PASSWORD'",
}


class ConfigError(Exception):
    """All problems found in one stack file; ``str()`` lists one per line."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{self.source}: {path}: {msg}" if path else f"{self.source}: {msg}" for path, msg in self.problems]


def close_match(word: str, choices: Any) -> str:
    """' (did you mean 'x'?)' for the closest choice, or ''."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def fmt_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def shown(value: Any) -> str:
    """A value as it looks in YAML, saying what kind it is when that is the problem."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def _type_message(kind: str, value: Any) -> str | None:
    """Strict-type errors: no value is converted, so say what was given and what is expected."""
    if kind == "int_type":
        hint = " (a number has no quotes and no leading zero)" if isinstance(value, str) and value.strip().lstrip("-").isdigit() else ""
        return f"expects a whole number such as 30, got {shown(value)}{hint}"
    if kind in ("float_type", "decimal_type"):
        return f"expects a number such as 2.5, got {shown(value)}"
    if kind == "string_type":
        hint = f" (put it in quotes, e.g. '{value}')" if isinstance(value, (bool, int, float)) else ""
        return f"expects text, got {shown(value)}{hint}"
    if kind == "bool_type":
        return f"expects true or false, got {shown(value)} (stack files are YAML 1.2: yes, no, on and off are text)"
    if kind == "list_type":
        return f"expects a list such as [a, b], got {shown(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type", "dataclass_type"):
        return f"expects a mapping of keys to values, got {shown(value)}"
    if kind == "date_type":
        return f"expects a date written YYYY-MM-DD, e.g. 2026-12-31, got {shown(value)}"
    return None


def describe(err: dict[str, Any], model: type[BaseModel] | None) -> tuple[tuple[Any, ...], str]:
    """(location, message) of one pydantic error."""
    loc = tuple(err["loc"])
    kind = err["type"]
    msg = err["msg"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        key = loc[-1]
        allowed = allowed_keys(model, loc[:-1]) if model else []
        return loc, f"unknown key {key!r}{close_match(key, allowed)}"
    if kind == "missing":
        return loc, "is required"
    typed = _type_message(kind, value)
    if typed is not None:
        msg = typed
    elif kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif kind == "string_pattern_mismatch":
        words = PATTERN_WORDS.get(ctx.get("pattern", ""), "a value in the documented format (see the schema)")
        msg = f"{value!r} is not allowed here: expected {words}"
    elif kind == "literal_error":
        msg = f"{value!r} is not allowed here: expected {ctx.get('expected')}"
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        msg = f"{msg}, got {value!r}"
    # dict keys are validated under a synthetic "[key]" segment; keep the path readable.
    loc = tuple(p for p in loc if p != "[key]")
    return loc, msg


def allowed_keys(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """Walk the model along ``loc`` to list the keys valid at that position."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = inner_model(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = inner_model(arg)
        if found is not None:
            return found
    return None
