"""Guardrail documents as data: load from ``policies/``, fill placeholders, minify.

A document's strings may hold ``${name}`` placeholders. A string that is exactly one
placeholder is replaced by the value itself (so a list becomes a JSON list); a
placeholder inside a longer string is interpolated and must be a string. Unknown
placeholders are errors, so a typo in a policy file can never ship literally.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"

# config key -> (folder under policies/, AWS policy type, unit container, default policy AWS keeps attached)
FOLDERS = {
    "service_control_policies": "scp",
    "resource_control_policies": "rcp",
    "tag_policies": "tag",
    "declarative_policies": "declarative-ec2",
}
AWS_TYPES = {
    "service_control_policies": "SERVICE_CONTROL_POLICY",
    "resource_control_policies": "RESOURCE_CONTROL_POLICY",
    "tag_policies": "TAG_POLICY",
    "declarative_policies": "DECLARATIVE_POLICY_EC2",
}
LIMIT_FIELDS = {
    "service_control_policies": "service_control_policy",
    "resource_control_policies": "resource_control_policy",
    "tag_policies": "tag_policy",
    "declarative_policies": "declarative_policy_ec2",
}
# AWS attaches FullAWSAccess / RCPFullAWSAccess to every target when the policy type is
# enabled; we keep it (deny-list strategy), so it takes one of the target's slots.
DEFAULT_ATTACHED = {
    "service_control_policies": "FullAWSAccess",
    "resource_control_policies": "RCPFullAWSAccess",
}
SHORT = {
    "service_control_policies": "scp",
    "resource_control_policies": "rcp",
    "tag_policies": "tag",
    "declarative_policies": "ec2",
}

PLACEHOLDER = re.compile(r"\$\{([a-z_]+)\}")


class PolicyError(Exception):
    pass


@dataclass(frozen=True)
class Deferred:
    """A value known only at deploy time (an Output's value), formatted into ``fmt``.

    ``standin`` is the longest text the value can take (an account id is always twelve
    digits; an org id at most 34 characters). Sizing and packing use the stand-in, so
    the real value can only make a policy smaller, never push it over a limit.
    """

    key: str
    standin: str
    fmt: str = "{}"

    def text(self, value: str | None = None) -> str:
        return self.fmt.format(self.standin if value is None else value)


def minify(doc: Any) -> str:
    return json.dumps(doc, separators=(",", ":"), sort_keys=False, ensure_ascii=False)


def available(kind: str) -> set[str]:
    folder = POLICY_DIR / FOLDERS[kind]
    return {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()


@lru_cache(maxsize=None)
def _load_text(kind: str, gid: str) -> str:
    return (POLICY_DIR / FOLDERS[kind] / f"{gid}.json").read_text()


def load(kind: str, gid: str) -> dict[str, Any]:
    try:
        return json.loads(_load_text(kind, gid))
    except json.JSONDecodeError as exc:
        raise PolicyError(f"policies/{FOLDERS[kind]}/{gid}.json: invalid JSON: {exc}") from exc


def placeholders(doc: Any) -> set[str]:
    """Every placeholder name a document uses."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, str):
            found.update(PLACEHOLDER.findall(node))
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(k)
                walk(v)

    walk(doc)
    return found


def render(doc: Any, values: dict[str, Any], where: str = "policy") -> Any:
    """Fill placeholders. ``Deferred`` values render as their stand-in text."""

    def value_of(name: str) -> Any:
        if name not in values:
            raise PolicyError(f"{where}: unknown placeholder ${{{name}}} (known: {', '.join(sorted(values))})")
        val = values[name]
        if isinstance(val, Deferred):
            return val.text()
        if isinstance(val, (list, tuple)):
            return [v.text() if isinstance(v, Deferred) else v for v in val]
        return val

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            whole = PLACEHOLDER.fullmatch(node)
            if whole:
                return value_of(whole.group(1))

            def sub(m: re.Match[str]) -> str:
                val = value_of(m.group(1))
                if not isinstance(val, str):
                    raise PolicyError(f"{where}: ${{{m.group(1)}}} is a list and must stand alone in its string")
                return val

            return PLACEHOLDER.sub(sub, node)
        if isinstance(node, list):
            out: list[Any] = []
            for item in node:
                got = walk(item)
                # A whole-list placeholder inside a list splices in, so ["a", "${more}"] stays flat.
                if isinstance(item, str) and PLACEHOLDER.fullmatch(item) and isinstance(got, list):
                    out.extend(got)
                else:
                    out.append(got)
            return out
        if isinstance(node, dict):
            return {walk(k): walk(v) for k, v in node.items()}
        return node

    return walk(doc)


def substitute_deferred(values: dict[str, Any], resolved: dict[str, str]) -> dict[str, Any]:
    """Replace ``Deferred`` markers with their deploy-time values."""

    def one(v: Any) -> Any:
        return v.text(resolved[v.key]) if isinstance(v, Deferred) else v

    return {k: ([one(x) for x in v] if isinstance(v, (list, tuple)) else one(v)) for k, v in values.items()}


def deferred_keys(values: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for v in values.values():
        for x in v if isinstance(v, (list, tuple)) else [v]:
            if isinstance(x, Deferred):
                keys.add(x.key)
    return keys
