"""Reading IAM-style policy documents and resource properties, tolerant of what the engine sends.

Values reach the rules in three shapes:

* plain JSON-able values (the offline plan; ``pulumi up``);
* :data:`UNKNOWN` where ``pulumi preview`` cannot know a value yet (the CrossGuard adapter
  turns the engine's unknown sentinels into it). A rule never reports on an unknown value:
  ``pulumi up`` runs the policies again with the real value;
* CloudFormation intrinsics (``{"Ref": ...}``, ``{"Fn::Sub": ...}``, ``{"Fn::If": ...}``) inside
  a StackSet template. They are *opaque*: known to exist, value decided at deploy time.

Nothing here imports Pulumi or pulumi_policy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any


class _Unknown:
    """A value ``pulumi preview`` cannot know yet. Neither true nor false: test with is_unknown()."""

    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"

    def __bool__(self) -> bool:  # pragma: no cover - guards against accidental truthiness
        raise TypeError("an unknown value has no truth value; use is_unknown()")


UNKNOWN = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def is_intrinsic(value: Any) -> bool:
    """A CloudFormation intrinsic function ({"Ref": ..}, {"Fn::Sub": ..}, ...)."""
    return isinstance(value, Mapping) and len(value) == 1 and (next(iter(value)) == "Ref" or str(next(iter(value))).startswith("Fn::"))


def get(obj: Any, *path: Any, default: Any = None) -> Any:
    """Walk dicts/lists; missing keys give ``default``, an unknown anywhere gives UNKNOWN."""
    cur = obj
    for key in path:
        if is_unknown(cur):
            return UNKNOWN
        if isinstance(cur, Mapping):
            if key not in cur:
                return default
            cur = cur[key]
        elif isinstance(cur, Sequence) and not isinstance(cur, (str, bytes)) and isinstance(key, int):
            if key >= len(cur):
                return default
            cur = cur[key]
        else:
            return default
    return default if cur is None else cur


def as_list(value: Any) -> list[Any]:
    """None -> [], scalar -> [scalar], list -> list (UNKNOWN stays a single UNKNOWN item)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or isinstance(value, Mapping) or is_unknown(value):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    return [value]


def text_of(value: Any) -> str | None:
    """Readable text of a value; intrinsics become their template text, unknowns None."""
    if is_unknown(value) or value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Mapping) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return "${" + str(arg) + "}"
        if fn == "Fn::Sub":
            return text_of(arg[0] if isinstance(arg, Sequence) and not isinstance(arg, str) else arg)
        if fn == "Fn::Join" and isinstance(arg, Sequence) and len(arg) == 2:
            return str(arg[0]).join(text_of(p) or "${?}" for p in as_list(arg[1]))
        if fn == "Fn::GetAtt":
            return "${" + ".".join(map(str, as_list(arg))) + "}"
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def is_truthy(value: Any) -> bool | None:
    """True/False for booleans and their string forms; None when unknown or absent."""
    if is_unknown(value) or value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no", ""):
            return False
        return None
    if isinstance(value, (int, float)):
        return bool(value)
    return None


def is_set(value: Any) -> bool:
    """A value that is present: non-empty, or unknown (it will be set, just not known yet)."""
    if is_unknown(value):
        return True
    if value is None:
        return False
    if isinstance(value, (str, Sequence, Mapping)):
        return len(value) > 0
    return True


# ---------------------------------------------------------------------------
# Policy documents
# ---------------------------------------------------------------------------

def parse_document(value: Any) -> Any:
    """A policy document as a dict; UNKNOWN if unknown; None if absent or not a document."""
    if is_unknown(value):
        return UNKNOWN
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, Mapping):
        return value
    return None


def statements(doc: Any) -> Iterator[Mapping[str, Any]]:
    """Every statement of a document, both branches of a CloudFormation Fn::If included."""
    if not isinstance(doc, Mapping):
        return
    for stmt in as_list(doc.get("Statement")):
        yield from _expand(stmt)


def _expand(stmt: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(stmt, Mapping) and "Fn::If" in stmt and len(stmt) == 1:
        branches = stmt["Fn::If"]
        if isinstance(branches, Sequence) and len(branches) == 3:
            for branch in branches[1:]:
                yield from _expand(branch)
        return
    if isinstance(stmt, Mapping) and not (len(stmt) == 1 and stmt.get("Ref") == "AWS::NoValue"):
        yield stmt


def effect(stmt: Mapping[str, Any]) -> str:
    return str(stmt.get("Effect", "")).strip().lower()


def is_allow(stmt: Mapping[str, Any]) -> bool:
    return effect(stmt) == "allow"


def is_deny(stmt: Mapping[str, Any]) -> bool:
    return effect(stmt) == "deny"


def actions(stmt: Mapping[str, Any], key: str = "Action") -> list[str]:
    return [a.strip().lower() for a in as_list(stmt.get(key)) if isinstance(a, str)]


def resources(stmt: Mapping[str, Any]) -> list[Any]:
    return as_list(stmt.get("Resource"))


def principals(stmt: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{"AWS": [...], "Service": [...], "Federated": [...], "*": ["*"]} for a statement."""
    p = stmt.get("Principal")
    if p is None:
        return {}
    if isinstance(p, str):
        return {"*": [p]} if p.strip() == "*" else {"AWS": [p]}
    if is_unknown(p) or is_intrinsic(p):
        return {"AWS": [p]}
    if isinstance(p, Mapping):
        return {str(k): as_list(v) for k, v in p.items()}
    return {}


def is_public_principal(stmt: Mapping[str, Any]) -> bool:
    """Principal "*" or {"AWS": "*"} (also inside a list): anyone, in any account."""
    if "NotPrincipal" in stmt and is_allow(stmt):
        return True  # Allow + NotPrincipal grants everyone else
    ps = principals(stmt)
    if "*" in ps:
        return True
    return any(isinstance(v, str) and v.strip() == "*" for v in ps.get("AWS", []))


# Condition keys that tie a request to our organization, an account or an exact caller/source.
SCOPING_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:PrincipalAccount",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOwner",
        "aws:PrincipalArn",
        "aws:SourceVpce",
        "aws:SourceVpc",
        "kms:CallerAccount",
    )
)


def positive_conditions(stmt: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Condition keys (lower-case) a request must positively match, with their values.

    Negated operators (StringNotEquals, ArnNotLike...), ``Null``, ``...IfExists`` and
    ``ForAllValues:`` pass when the key is absent (e.g. for anonymous callers), so they never
    count as scoping.
    """
    out: dict[str, list[Any]] = {}
    cond = stmt.get("Condition")
    if not isinstance(cond, Mapping):
        return out
    for op, block in cond.items():
        op_l = str(op).lower()
        if "not" in op_l or op_l.startswith("null") or op_l.endswith("ifexists") or op_l.startswith("forallvalues:"):
            continue
        if not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            out.setdefault(str(key).lower(), []).extend(as_list(values))
    return out


_WILD = re.compile(r"[*?]")


def scoping_value(key: str, value: Any) -> bool:
    """Does this condition value name one org / account / ARN / network (no wildcard where it counts)?

    ``aws:PrincipalArn = arn:aws:iam::*:role/x`` or ``aws:PrincipalOrgID like o-*`` match any
    account, so they scope nothing. Deploy-time values (intrinsics, unknowns) are trusted.
    """
    if is_unknown(value) or is_intrinsic(value):
        return True
    if not isinstance(value, str) or not value.strip():
        return False
    v = value.strip()
    if key in ("aws:principalorgpaths", "aws:sourceorgpaths"):
        org = v.split("/", 1)[0]
        return org.startswith("o-") and not _WILD.search(org)
    if key in ("aws:principalarn", "aws:sourcearn"):
        parts = v.split(":", 5)
        if len(parts) < 6 or parts[0] != "arn" or _WILD.search(":".join(parts[:3])):
            return False
        account, resource = parts[4], parts[5]
        if account:
            return not _WILD.search(account)
        return bool(resource) and not resource.startswith(("*", "?"))  # S3: bucket names are global
    return not _WILD.search(v)


def is_scoped(stmt: Mapping[str, Any], keys: frozenset[str] = SCOPING_KEYS) -> bool:
    """Does a positive condition pin the caller/source to an org, account, ARN or network?

    Every value of the key must scope: a condition matches when any one value does.
    """
    for key, values in positive_conditions(stmt).items():
        if key in keys and values and all(scoping_value(key, v) for v in values):
            return True
    return False


ACCOUNT_ID = re.compile(r"^\d{12}$")
ROOT_ARN = re.compile(r"^arn:[^:]*:iam::(?P<acct>\d{12}|\$\{[^}]+\}):root$")
EXACT_PRINCIPAL_ARN = re.compile(r"^arn:[^:]*:(iam::[^:]+:(role|user)/|sts::[^:]+:assumed-role/)[^*?]+$")


def principal_account(value: Any) -> tuple[str, str | None]:
    """Classify an AWS principal: ("account", id|None), ("exact", None), ("public", None) or ("opaque", None)."""
    text = text_of(value)
    if text is None:
        return "opaque", None
    text = text.strip().replace("${AWS::Partition}", "aws")
    if text == "*":
        return "public", None
    if ACCOUNT_ID.match(text):
        return "account", text
    m = ROOT_ARN.match(text)
    if m:
        acct = m.group("acct")
        if acct == "${AWS::AccountId}":
            return "account", "${AWS::AccountId}"
        return "account", acct if ACCOUNT_ID.match(acct) else None
    if EXACT_PRINCIPAL_ARN.match(text):
        return "exact", None
    if text.startswith("${") and text.endswith("}"):
        return "opaque", None
    return "opaque", None


def tags_of(value: Any) -> dict[str, str]:
    """Pulumi tag maps and CloudFormation [{Key, Value}] lists as one dict."""
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items() if isinstance(v, (str, int, float, bool))}
    out: dict[str, str] = {}
    for item in as_list(value):
        if isinstance(item, Mapping) and isinstance(item.get("Key"), str) and isinstance(item.get("Value"), (str, int, float, bool)):
            out[item["Key"]] = str(item["Value"])
    return out


_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")


def tokens(*texts: Any) -> set[str]:
    """Lower-case word tokens of some names: 'SastScan-prod_deploy' -> {sast, scan, prod, deploy}."""
    out: set[str] = set()
    for t in texts:
        s = text_of(t)
        if not s:
            continue
        s = _CAMEL.sub(r"\1 \2", s).lower()
        out.update(w for w in _SPLIT.split(s) if w)
    return out


def first_set(*values: Any, default: Any = None) -> Any:
    """The first value that is not None/'' (an unknown counts as set), else ``default``."""
    for v in values:
        if is_unknown(v):
            return v
        if v is not None and v != "":
            return v
    return default


_ROLE_ACCOUNT = re.compile(r"^arn:[^:]*:iam::(\d{12}):")


def provider_account(props: Any) -> str | None:
    """The account an aws provider deploys into: its single allowedAccountIds entry, else the
    account of its (first) assumed role. Provider inputs arrive JSON-encoded as strings."""
    if not isinstance(props, Mapping):
        return None

    def decode(v: Any) -> Any:
        if isinstance(v, str) and v[:1] in "[{":
            try:
                return json.loads(v)
            except ValueError:
                return None
        return v

    ids = decode(props.get("allowedAccountIds"))
    if isinstance(ids, Sequence) and not isinstance(ids, str) and len(ids) == 1 and isinstance(ids[0], str) and ACCOUNT_ID.match(ids[0]):
        return ids[0]
    for key in ("assumeRoles", "assumeRole"):
        roles = decode(props.get(key))
        for role in as_list(roles):
            arn = role.get("roleArn") if isinstance(role, Mapping) else None
            m = _ROLE_ACCOUNT.match(arn) if isinstance(arn, str) else None
            if m:
                return m.group(1)
    return None
