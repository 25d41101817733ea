"""Plan diff: what a change does to the organization, security-relevant changes first.

    python -m blueprint.offline.diff --stack prod --base origin/main   (what `make diff STACK=prod BASE=origin/main` runs)

Plans the working tree (head) in-process and the git ref ``--base`` in a temporary,
detached ``git worktree`` with that commit's own planner (same Python), compares the
two plans by URN and writes ``build/diff-<stack>.md`` (a PR comment) and
``build/diff-<stack>.json``. The core, :func:`diff_plans`, is a pure function of two
plan documents; ``--base-plan``/``--head-plan`` diff saved plans without git.

A base without the stack file, or whose planner is missing or fails, is reported as
"no base plan" and everything in head counts as added.

Besides the security-relevant changes it says what `pulumi up` would delete, replace or
leave behind (diff_lifecycle), which data protections weaken (diff_weakening) and whether
a team or environment disappears without being decommissioned (diff_teams).

Exit codes: 0 the diff was written, whatever it shows (a diff is information, not a
gate: the plan's own exit code and the checks gate); 2 operational or configuration error
(not a git repository, unknown ref, head configuration rejected, unreadable plan file, git
failure; or, after writing the diff, a team or environment removed without decommission).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from blueprint.access import report as access_report
from blueprint.offline import diff_lifecycle, diff_lifecycle_text, diff_teams, diff_weakening
from blueprint.review import symbolic

REPO = Path(__file__).resolve().parent.parent.parent
EXIT_OK, EXIT_ERROR = 0, 2

SEVERITIES = ("critical", "high", "normal")
RANK = {s: i for i, s in enumerate(SEVERITIES)}

POLICY = "aws:organizations/policy:Policy"
ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
ACCOUNT = "aws:organizations/account:Account"
ORGANIZATION = "aws:organizations/organization:Organization"
OU = "aws:organizations/organizationalUnit:OrganizationalUnit"
ROLE = "aws:iam/role:Role"

IAM_DOC_POLICIES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")
UNIT_CONTAINERS = {"TAG_POLICY": "tags", "DECLARATIVE_POLICY_EC2": "ec2_attributes"}

# Inputs holding JSON documents as strings (content, policy, assumeRolePolicy, eventPattern,
# templateBody...) are parsed and diffed structurally: any string input that parses as a
# JSON object or array is.

# type -> the input holding its resource policy
RESOURCE_POLICIES = {
    "aws:kms/key:Key": "policy",
    "aws:kms/keyPolicy:KeyPolicy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:lambda/permission:Permission": "",
}
IDENTITY_POLICIES = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
# Detection and response: removing any of these is critical, weakening one high.
SECURITY_SERVICE_PREFIXES = (
    "aws:cloudtrail/", "aws:guardduty/", "aws:cfg/", "aws:securityhub/", "aws:inspector2/",
    "aws:accessanalyzer/", "aws:macie2/", "aws:detective/", "aws:organizations/delegatedAdministrator:",
)
# Storage and key protections: removing one is critical (PAB, object lock, keys) or high.
PROTECTION_TYPES = {
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "critical",
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": "critical",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": "critical",
    "aws:kms/key:Key": "critical",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "high",
    "aws:s3/bucketVersioning:BucketVersioning": "high",
    "aws:s3/bucketLogging:BucketLogging": "high",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "high",
    "aws:s3/bucket:Bucket": "high",
}
# Alerting, and the per-account baseline's delivery: removal or change is high.
ALERTING_TYPES = {
    "aws:cloudwatch/eventRule:EventRule": "alerting", "aws:cloudwatch/eventTarget:EventTarget": "alerting",
    "aws:sns/topicSubscription:TopicSubscription": "alerting", "aws:sns/topic:Topic": "alerting",
    "aws:cloudwatch/logGroup:LogGroup": "alerting",
    "aws:cloudformation/stackSet:StackSet": "baseline", "aws:cloudformation/stackSetInstance:StackSetInstance": "baseline",
    "aws:cloudformation/stack:Stack": "baseline",
}
ACCOUNT_FIELDS = ("email", "name", "parentId", "roleName", "iamUserAccessToBilling")

# Order of categories within one severity in the security section.
CATEGORIES = ("guardrail", "attachment", "protection", "data", "trust", "resource-policy", "account", "organization",
              "security-service", "identity-policy", "baseline", "alerting", "provider", "other")

MAX_LINES_PER_ITEM = 60
MAX_VALUE = 160


class DiffError(Exception):
    """An operational error: the diff could not be produced."""


# ---------------------------------------------------------------------------------------
# JSON helpers


def parse_json(value: Any) -> tuple[bool, Any]:
    """(True, document) when ``value`` is a string holding a JSON object or array."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return True, json.loads(value)
        except ValueError:
            return False, value
    return False, value


def canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


_LIST_KEYS = ("Sid", "sid", "Name", "name", "Key", "key", "Id", "id")


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """Key a list of objects by a unique identifying field (Sid, name, ...), if they have one."""
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for field in _LIST_KEYS:
        keys = [i.get(field) for i in items]
        if all(isinstance(k, (str, int)) and k != "" for k in keys) and len(set(keys)) == len(keys):
            return {str(k): i for k, i in zip(keys, items)}
    return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def json_diff(a: Any, b: Any, path: str = "") -> list[dict[str, Any]]:
    """Structural differences between two JSON values.

    Objects are compared by key; lists of objects with a unique ``Sid``/``name``/... by that
    key (so statements are matched by Sid, not position); lists of scalars as sets (a
    reorder is one 'reordered' change); a scalar against a list as a one-element list
    (IAM's ``"Action": "x"`` == ``["x"]``).
    """
    if a == b:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[dict[str, Any]] = []
        for k in list(a) + [k for k in b if k not in a]:
            p = _join(path, k)
            if k not in b:
                out.append({"path": p, "op": "removed", "before": a[k]})
            elif k not in a:
                out.append({"path": p, "op": "added", "after": b[k]})
            else:
                out += json_diff(a[k], b[k], p)
        return out
    if isinstance(a, list) or isinstance(b, list):
        if not (isinstance(a, list) and isinstance(b, list)):
            if isinstance(a, dict) or isinstance(b, dict):
                return [{"path": path, "op": "changed", "before": a, "after": b}]
            a, b = as_list(a), as_list(b)  # IAM: "Action": "x" is ["x"]
            if a == b:
                return []
        ka, kb = _keyed(a), _keyed(b)
        if ka is not None and kb is not None:
            out = []
            for k in list(ka) + [k for k in kb if k not in ka]:
                p = f"{path}[{k}]"
                if k not in kb:
                    out.append({"path": p, "op": "removed", "before": ka[k]})
                elif k not in ka:
                    out.append({"path": p, "op": "added", "after": kb[k]})
                else:
                    out += json_diff(ka[k], kb[k], p)
            return out
        if all(not isinstance(x, (dict, list)) for x in a + b):
            removed = [x for x in a if x not in b]
            added = [x for x in b if x not in a]
            if not removed and not added:
                return [{"path": path, "op": "reordered", "before": a, "after": b}]
            return [{"path": f"{path}[]", "op": "removed", "before": x} for x in removed] + [
                {"path": f"{path}[]", "op": "added", "after": x} for x in added
            ]
        out = []
        for i in range(max(len(a), len(b))):
            p = f"{path}[{i}]"
            if i >= len(b):
                out.append({"path": p, "op": "removed", "before": a[i]})
            elif i >= len(a):
                out.append({"path": p, "op": "added", "after": b[i]})
            else:
                out += json_diff(a[i], b[i], p)
        return out
    return [{"path": path, "op": "changed", "before": a, "after": b}]


def additive_only(changes: list[dict[str, Any]]) -> bool:
    """True when every change only adds (keys or list elements), removing and altering nothing."""
    return bool(changes) and all(c["op"] == "added" for c in changes)


# ---------------------------------------------------------------------------------------
# IAM-style policy documents (SCP, RCP, trust, key, bucket, topic policies)


def statements(doc: Any) -> dict[str, dict[str, Any]]:
    """Statements keyed by Sid (``#n`` by position for a statement without one)."""
    if not isinstance(doc, dict):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for i, s in enumerate(as_list(doc.get("Statement"))):
        if isinstance(s, dict):
            key = s["Sid"] if isinstance(s.get("Sid"), str) and s["Sid"] else f"#{i + 1}"
            out[key if key not in out else f"{key}#{i + 1}"] = s
    return out


def principals(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {"*"} if value == "*" else {value}
    if isinstance(value, dict):
        return {f"{k}:{p}" if p != "*" else "*" for k, v in value.items() for p in as_list(v)}
    return {str(p) for p in as_list(value)}


def conditions(stmt: dict[str, Any]) -> dict[tuple[str, str], list[Any]]:
    out: dict[tuple[str, str], list[Any]] = {}
    for op, block in (stmt.get("Condition") or {}).items():
        if isinstance(block, dict):
            for key, vals in block.items():
                out[(op, key)] = as_list(vals)
    return out


def _negated(op: str) -> bool:
    return "Not" in op


def _scalar_op(op: str) -> bool:
    return op.startswith(("Numeric", "Date", "Bool", "Null"))


def _fmt_vals(vals: list[Any], limit: int = 4) -> str:
    shown = ", ".join(f"`{v}`" for v in vals[:limit])
    return shown + (f" (+{len(vals) - limit} more)" if len(vals) > limit else "")


def analyze_statement(key: str, s0: dict | None, s1: dict | None, kind: str) -> list[tuple[str, str]]:
    """(severity, text) notes for one statement's change.

    ``kind``: ``guardrail`` (SCP/RCP: deny-lists), ``trust`` (role trust), ``resource``
    (key, bucket, topic... policies) or ``identity`` (a role's own permissions). A Deny that
    applies in fewer cases is "weakened"; an Allow that grants to more principals, actions
    or resources, or under fewer conditions, is "widened".
    """
    notes: list[tuple[str, str]] = []
    deny_weak = "critical" if kind in ("guardrail", "resource", "trust") else "high"
    principal_wide = "critical" if kind in ("trust", "resource") else "high"
    cond_wide = "critical" if kind == "trust" else "high"
    weakened = "guardrail weakened" if kind == "guardrail" else "deny weakened"
    widened = {"trust": "trust widened", "resource": "access widened", "identity": "permissions widened"}.get(kind, "allow widened")

    if s1 is None and s0 is not None:
        if s0.get("Effect", "Allow") == "Deny":
            notes.append((deny_weak, f"{weakened}: statement `{key}` removed (denied {_fmt_vals(as_list(s0.get('Action') or s0.get('NotAction')))})"))
        else:
            notes.append(("normal", f"Allow statement `{key}` removed"))
        return notes
    if s0 is None and s1 is not None:
        if s1.get("Effect", "Allow") == "Deny":
            notes.append(("normal", f"{'guardrail tightened' if kind == 'guardrail' else 'deny added'}: statement `{key}` added"))
            return notes
        prin = principals(s1.get("Principal"))
        acts = as_list(s1.get("Action"))
        if "*" in prin or any(p.endswith(":*") for p in prin):
            notes.append(("critical", f"{widened}: statement `{key}` allows principal `*`"))
        elif prin:
            notes.append((principal_wide, f"{widened}: new principal(s) {_fmt_vals(sorted(prin))} in `{key}`"))
        service_wide = [a for a in acts if isinstance(a, str) and a.endswith(":*")]
        if "*" in acts:
            notes.append(("critical", f"{widened}: statement `{key}` allows every action (`*`)"))
        elif service_wide and "*" in as_list(s1.get("Resource")):
            notes.append(("critical", f"{widened}: statement `{key}` allows {_fmt_vals(service_wide)} on every resource (`*`)"))
        elif not prin:
            notes.append(("high", f"{widened}: Allow statement `{key}` added ({_fmt_vals(acts)})"))
        return notes
    assert s0 is not None and s1 is not None
    e0, e1 = s0.get("Effect", "Allow"), s1.get("Effect", "Allow")
    if e0 != e1:
        if e0 == "Deny":
            notes.append(("critical", f"{weakened}: `{key}` changed from Deny to Allow"))
        else:
            notes.append(("normal", f"`{key}` changed from Allow to Deny"))
        return notes
    deny = e1 == "Deny"

    def loosen(sev_if_allow: str, text: str) -> None:
        notes.append((deny_weak, f"{weakened}: `{key}` {text}") if deny else (sev_if_allow, f"{widened}: `{key}` {text}"))

    def tighten(text: str) -> None:
        notes.append(("normal", f"`{key}` {text}"))

    for field, grows_scope in (("Action", True), ("NotAction", False), ("Resource", True), ("NotResource", False)):
        before, after = as_list(s0.get(field)), as_list(s1.get(field))
        gone = [x for x in before if x not in after]
        new = [x for x in after if x not in before]
        wild = "critical" if "*" in new else "high"
        # A Deny covering fewer actions/resources is weaker; an Allow covering more is wider.
        if gone:
            if grows_scope and deny:
                loosen("", f"no longer denies {field} {_fmt_vals(gone)}")
            elif grows_scope:
                tighten(f"{field} narrowed: -{_fmt_vals(gone)}")
            elif deny:
                tighten(f"{field} exclusions removed: {_fmt_vals(gone)}")
            else:
                loosen("high", f"{field} exclusions removed: {_fmt_vals(gone)}")
        if new:
            if grows_scope and not deny:
                loosen(wild, f"{field} added: {_fmt_vals(new)}")
            elif grows_scope:
                tighten(f"{field} added: {_fmt_vals(new)}")
            elif deny:
                loosen("", f"{field} exclusions added: {_fmt_vals(new)}")
            else:
                tighten(f"{field} exclusions added: {_fmt_vals(new)}")

    for field in ("Principal", "NotPrincipal"):
        before, after = principals(s0.get(field)), principals(s1.get(field))
        new, gone = sorted(after - before), sorted(before - after)
        positive = field == "Principal"
        if new:
            if deny and not positive:
                loosen("", f"exempts new principal(s) {_fmt_vals(new)}")
            elif not deny and positive:
                sev = "critical" if "*" in new else principal_wide
                loosen(sev, f"new principal(s) {_fmt_vals(new)}")
            else:
                tighten(f"{field} added: {_fmt_vals(new)}")
        if gone:
            if deny and positive:
                loosen("", f"no longer applies to {_fmt_vals(gone)}")
            elif not deny and not positive:
                loosen(principal_wide, f"no longer excludes {_fmt_vals(gone)}")
            else:
                tighten(f"{field} removed: {_fmt_vals(gone)}")

    c0, c1 = conditions(s0), conditions(s1)
    for ck in list(c0) + [k for k in c1 if k not in c0]:
        op, ckey = ck
        label = f"condition `{op}` `{ckey}`"
        if ck not in c1:
            # Conditions are ANDed: dropping one makes a Deny apply more, an Allow apply more.
            if deny:
                tighten(f"{label} removed")
            else:
                loosen(cond_wide, f"{label} removed")
            continue
        if ck not in c0:
            if deny:
                loosen("", f"{label} added (the deny applies in fewer cases): {_fmt_vals(c1[ck])}")
            else:
                tighten(f"{label} added")
            continue
        before, after = c0[ck], c1[ck]
        if before == after or sorted(map(str, before)) == sorted(map(str, after)):
            continue
        if _scalar_op(op):
            notes.append(("high", f"`{key}` {label} changed: {_fmt_vals(before)} -> {_fmt_vals(after)}"))
            continue
        new = [v for v in after if v not in before]
        gone = [v for v in before if v not in after]
        # Negated operators list what is excluded: more values = fewer matches.
        for vals, more in ((new, True), (gone, False)):
            if not vals:
                continue
            matches_fewer = more if _negated(op) else not more
            verb = "gains" if more else "loses"
            text = f"{label} {verb} {_fmt_vals(vals)}"
            if deny and matches_fewer:
                loosen("", text + (" (exemption widened)" if "Principal" in ckey or "principal" in ckey.lower() else ""))
            elif not deny and not matches_fewer:
                loosen(cond_wide, text)
            else:
                tighten(text)

    if not notes and canon(s0) != canon(s1):
        notes.append(("high", f"`{key}` changed"))
    return notes


def _covered(stmt: dict[str, Any], actions: list[str], others: list[dict[str, Any]]) -> bool:
    """Whether other Deny statements with the same resources and conditions deny ``actions`` (merged statements)."""
    if not actions:
        return False
    rest = {k: v for k, v in stmt.items() if k not in ("Sid", "Action")}
    pool: set[str] = set()
    for o in others:
        if o is stmt or o.get("Effect") != "Deny":
            continue
        if canon({k: v for k, v in o.items() if k not in ("Sid", "Action")}) == canon(rest):
            pool.update(as_list(o.get("Action")))
    return all(a in pool for a in actions)


def analyze_unit(ptype: str, key: str, u0: Any, u1: Any, head_peers: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Notes for one packed unit (an SCP/RCP statement, a tag or declarative entry)."""
    if ptype in IAM_DOC_POLICIES:
        notes = analyze_statement(key, u0, u1, "guardrail")
        if u0 is not None and u0.get("Effect") == "Deny":
            # A removed statement (or action) still denied by a merged statement is not a weakening.
            gone = as_list(u0.get("Action")) if u1 is None else [a for a in as_list(u0.get("Action")) if a not in as_list((u1 or {}).get("Action"))]
            if gone and _covered(u0, gone, head_peers):
                notes = [("normal", f"`{key}`: {_fmt_vals(gone)} still denied by a merged statement")] + [
                    n for n in notes if "no longer denies" not in n[1] and "removed (denied" not in n[1]
                ]
        return notes
    what = "tag rule" if ptype == "TAG_POLICY" else "setting"
    if u1 is None:
        return [("high" if ptype == "TAG_POLICY" else "critical", f"{'tag policy' if ptype == 'TAG_POLICY' else 'guardrail weakened'}: {what} `{key}` removed")]
    if u0 is None:
        return [("normal", f"{what} `{key}` added")]
    changes = json_diff(u0, u1)
    if ptype == "TAG_POLICY":
        if any(c["op"] in ("removed", "changed") and "enforced_for" in c["path"] for c in changes):
            return [("high", f"tag policy: `{key}` enforced for fewer resource types")]
        added = [c["after"] for c in changes if c["op"] == "added" and not isinstance(c.get("after"), (dict, list))]
        gone = [c["before"] for c in changes if c["op"] == "removed" and not isinstance(c.get("before"), (dict, list))]
        parts = ([f"+{_fmt_vals(added)}"] if added else []) + ([f"-{_fmt_vals(gone)}"] if gone else [])
        return [("normal", f"tag rule `{key}` allowed values {' '.join(parts) or 'changed'}")]
    return [("high", f"setting `{key}` changed")]


def policy_units(r: dict[str, Any]) -> dict[str, Any] | None:
    """The packing units of an Organizations policy: statements by Sid, or tag/declarative entries by key."""
    ok, doc = parse_json(r["inputs"].get("content"))
    if not ok or not isinstance(doc, dict):
        return None
    ptype = r["inputs"].get("type", "")
    if ptype in IAM_DOC_POLICIES:
        return statements(doc)
    container = UNIT_CONTAINERS.get(ptype)
    body = doc.get(container) if container else doc
    return dict(body) if isinstance(body, dict) else None


# ---------------------------------------------------------------------------------------
# The plan documents


class Side:
    """One plan, indexed."""

    def __init__(self, doc: dict[str, Any] | None):
        self.doc = doc or {"resources": []}
        self.resources: list[dict[str, Any]] = self.doc.get("resources", [])
        self.by_urn = {r["urn"]: r for r in self.resources}
        self.by_id = {r["id"]: r for r in self.resources if r.get("id")}

    def label(self, r: dict[str, Any]) -> str:
        if r["type"] == OU:
            return f"OU {self.ou_path(r)}"
        if r["type"].startswith("aws:organizations/") and isinstance(r["inputs"].get("name"), str) and r["inputs"]["name"]:
            return r["inputs"]["name"]  # the AWS name reviewers know (account, policy)
        return r["name"]

    def ou_path(self, r: dict[str, Any] | None) -> str:
        parts, seen = [], set()
        while r is not None and r["type"] == OU and r["urn"] not in seen:
            seen.add(r["urn"])
            parts.append(str(r["inputs"].get("name", r["name"])))
            r = self.by_id.get(r["inputs"].get("parentId", ""))
        return "/".join(reversed(parts))

    def id_label(self, value: str) -> str | None:
        r = self.by_id.get(value)
        if r is not None:
            return self.label(r)
        if isinstance(value, str) and value.startswith("r-"):
            return "Root"
        return None

    def target_of(self, target_id: str) -> str:
        r = self.by_id.get(target_id)
        if r is None:
            return "Root" if str(target_id).startswith("r-") else str(target_id)
        return "Root" if r["type"] == ORGANIZATION else self.label(r)

    def policy_targets(self) -> dict[str, tuple[str, ...]]:
        """Policy URN -> the ids of the targets it is attached to (ids, not names: a renamed
        account is the same target)."""
        out: dict[str, set[str]] = defaultdict(set)
        for r in self.resources:
            if r["type"] == ATTACHMENT:
                p = self.by_id.get(r["inputs"].get("policyId", ""))
                if p is not None:
                    out[p["urn"]].add(str(r["inputs"].get("targetId", "")))
        return {k: tuple(sorted(v)) for k, v in out.items()}


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=False)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def _input_changes(name: str, before: Any, after: Any) -> list[dict[str, Any]]:
    """JSON-aware changes of one input (JSON strings are parsed and diffed structurally)."""
    j0, d0 = parse_json(before) if before is not None else (False, None)
    j1, d1 = parse_json(after) if after is not None else (False, None)
    if before is None:
        return [{"path": name, "op": "added", "after": d1 if j1 else after}]
    if after is None:
        return [{"path": name, "op": "removed", "before": d0 if j0 else before}]
    if j0 and j1:
        return json_diff(d0, d1, name)
    if isinstance(before, str) and isinstance(after, str) and ("\n" in before or "\n" in after):
        lines = list(difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0))[2:]
        return [{"path": name, "op": "text", "lines": lines}]
    return json_diff(before, after, name)


def field_changes(r0: dict[str, Any], r1: dict[str, Any]) -> list[dict[str, Any]]:
    """Every change between two registrations of the same resource, inputs JSON-aware."""
    out: list[dict[str, Any]] = []
    i0, i1 = r0.get("inputs") or {}, r1.get("inputs") or {}
    for k in list(i0) + [k for k in i1 if k not in i0]:
        if i0.get(k) != i1.get(k):
            out += _input_changes(k, i0.get(k), i1.get(k))
    for f in ("protect", "retain_on_delete"):
        if bool(r0.get(f)) != bool(r1.get(f)):
            out.append({"path": f"<{f}>", "op": "changed", "before": bool(r0.get(f)), "after": bool(r1.get(f))})
    ig0, ig1 = list(r0.get("ignore_changes") or []), list(r1.get("ignore_changes") or [])
    out += [{"path": "<ignore_changes>[]", "op": "removed", "before": x} for x in ig0 if x not in ig1]
    out += [{"path": "<ignore_changes>[]", "op": "added", "after": x} for x in ig1 if x not in ig0]
    if (r0.get("provider") or "") != (r1.get("provider") or ""):
        out.append({"path": "<provider>", "op": "changed", "before": r0.get("provider") or "default", "after": r1.get("provider") or "default"})
    return out


def _render_changes(changes: list[dict[str, Any]], labels: tuple[Side, Side] | None = None) -> list[str]:
    def val(v: Any, side: Side | None) -> str:
        text = _short(v)
        if side is not None and isinstance(v, str):
            lab = side.id_label(v)
            if lab and lab != v:
                text += f"  ({lab})"
        return text

    b, h = labels if labels else (None, None)
    lines: list[str] = []
    for c in changes:
        if c["op"] == "added":
            lines.append(f"+ {c['path']}: {val(c['after'], h)}")
        elif c["op"] == "removed":
            lines.append(f"- {c['path']}: {val(c['before'], b)}")
        elif c["op"] == "reordered":
            lines.append(f"~ {c['path']}: order changed")
        elif c["op"] == "text":
            lines += [f"{ln[:1]} {c['path']}: {ln[1:][:MAX_VALUE]}" for ln in c["lines"] if ln[:1] in "+-"]
        else:
            lines.append(f"- {c['path']}: {val(c['before'], b)}")
            lines.append(f"+ {c['path']}: {val(c['after'], h)}")
    return lines


# ---------------------------------------------------------------------------------------
# The diff


def _rename_pairs(base: Side, head: Side) -> dict[str, str]:
    """Head URN -> base URN for resources whose alias names a base URN missing from head."""
    pairs: dict[str, str] = {}
    for urn, r in head.by_urn.items():
        if urn in base.by_urn:
            continue
        for alias in r.get("aliases") or []:
            if not alias:
                continue
            cand = alias if alias.startswith("urn:pulumi:") else urn.rsplit("::", 1)[0] + "::" + alias
            if cand in base.by_urn and cand not in head.by_urn and cand not in pairs.values():
                pairs[urn] = cand
                break
    return pairs


def _translate_ids(doc: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """Rewrite ids in a plan (a renamed resource keeps its real id; the mocks derive ids from names)."""
    if not mapping:
        return doc
    text = json.dumps(doc)
    for old, new in sorted(mapping.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
    return json.loads(text)


def _root(path: str) -> str:
    return path.split(".")[0].split("[")[0]


def _item(r: dict[str, Any], side: Side, change: str) -> dict[str, Any]:
    item = {"urn": r["urn"], "type": r["type"], "name": r["name"], "label": side.label(r), "change": change,
            "custom": bool(r.get("custom", True)), "severity": None, "notes": [], "lines": [], "statements": []}
    if r["type"] == ACCOUNT:
        item["tags"] = {k: v for k, v in (r["inputs"].get("tags") or {}).items() if k in ("team", "environment")}
    return item


def _note(item: dict[str, Any], severity: str, category: str, text: str) -> None:
    item["notes"].append({"severity": severity, "category": category, "text": text})


def _security_service(t: str) -> bool:
    return t.startswith(SECURITY_SERVICE_PREFIXES)


def _doc_notes(kind: str, d0: Any, d1: Any, added_resource: bool = False) -> list[tuple[str, str]]:
    s0, s1 = statements(d0), statements(d1)
    notes: list[tuple[str, str]] = []
    for k in list(s0) + [k for k in s1 if k not in s0]:
        if canon(s0.get(k)) != canon(s1.get(k)):
            notes += analyze_statement(k, s0.get(k), s1.get(k), kind)
    if added_resource:
        # A new resource's policy is new access, not a change of existing access: one level lower unless '*'.
        notes = [("high" if sev == "critical" and "`*`" not in text else sev, text) for sev, text in notes]
    return notes


def _classify_changed(item: dict[str, Any], r0: dict[str, Any], r1: dict[str, Any], changes: list[dict[str, Any]]) -> None:
    t = r1["type"]
    i0, i1 = r0.get("inputs") or {}, r1.get("inputs") or {}
    # Protections (any type).
    if r0.get("protect") and not r1.get("protect"):
        _note(item, "critical", "protection", "protection removed (`protect` true -> false)")
    elif r1.get("protect") and not r0.get("protect"):
        _note(item, "normal", "protection", "protection added")
    if r0.get("retain_on_delete") and not r1.get("retain_on_delete"):
        _note(item, "critical", "protection", "`retain_on_delete` dropped: removing it would now delete it")
    gone_ignores = [x for x in r0.get("ignore_changes") or [] if x not in (r1.get("ignore_changes") or [])]
    if gone_ignores:
        sev = "critical" if t == ACCOUNT else "high"
        _note(item, sev, "protection", f"`ignore_changes` no longer covers {_fmt_vals(gone_ignores)}"
              + (" (a change of these can replace the account)" if t == ACCOUNT else ""))
    if (r0.get("provider") or "") != (r1.get("provider") or ""):
        _note(item, "high", "provider", "deploys through a different provider (another account or region): a replacement")

    if t == ACCOUNT:
        for f in ACCOUNT_FIELDS:
            if i0.get(f) != i1.get(f):
                ignored = f in (r1.get("ignore_changes") or [])
                _note(item, "high", "account", f"account `{f}` changed"
                      + (" (in `ignore_changes`: `pulumi up` will not apply it)" if ignored else ""))
        if not i0.get("closeOnDeletion") and i1.get("closeOnDeletion"):
            _note(item, "critical", "account", "`closeOnDeletion` set: removing this account will close it")
    elif t == ORGANIZATION:
        for f in ("featureSet",):
            if i0.get(f) != i1.get(f):
                _note(item, "critical", "organization", f"`{f}` changed")
        for f, sev in (("enabledPolicyTypes", "critical"), ("awsServiceAccessPrincipals", "high")):
            gone = [x for x in as_list(i0.get(f)) if x not in as_list(i1.get(f))]
            if gone:
                _note(item, sev, "organization", f"`{f}` no longer has {_fmt_vals(gone)}")
    elif t == ROLE and i0.get("assumeRolePolicy") != i1.get("assumeRolePolicy"):
        _, d0 = parse_json(i0.get("assumeRolePolicy"))
        _, d1 = parse_json(i1.get("assumeRolePolicy"))
        for sev, text in _doc_notes("trust", d0, d1) or [("high", "trust policy changed")]:
            _note(item, sev, "trust", text)
    elif t in RESOURCE_POLICIES or t in IDENTITY_POLICIES:
        field = RESOURCE_POLICIES.get(t) or IDENTITY_POLICIES.get(t) or ""
        kind, cat = ("resource", "resource-policy") if t in RESOURCE_POLICIES else ("identity", "identity-policy")
        if field and i0.get(field) != i1.get(field):
            _, d0 = parse_json(i0.get(field))
            _, d1 = parse_json(i1.get(field))
            for sev, text in _doc_notes(kind, d0, d1) or [("high", f"`{field}` changed")]:
                _note(item, sev, cat, text)
        elif not field and i0 != i1:
            _note(item, "high", cat, "permission changed")
    if t == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" and i0.get("policyArn") != i1.get("policyArn"):
        sev = "critical" if "AdministratorAccess" in str(i1.get("policyArn")) else "high"
        _note(item, sev, "identity-policy", f"managed policy changed to `{i1.get('policyArn')}`")

    policy_field = RESOURCE_POLICIES.get(t) or IDENTITY_POLICIES.get(t) or ""
    input_changes = [c for c in changes if not c["path"].startswith("<") and not (policy_field and _root(c["path"]) == policy_field)]
    if _security_service(t) or t in PROTECTION_TYPES:
        cat = "security-service" if _security_service(t) else "protection"
        disabled = [c["path"] for c in input_changes if c["op"] == "changed" and c.get("before") is True and c.get("after") is False]
        dropped = [c["path"] for c in input_changes if c["op"] == "removed"]
        if disabled:
            _note(item, "critical", cat, f"turned off: {_fmt_vals(disabled)}")
        elif dropped:
            _note(item, "high", cat, f"coverage reduced: {_fmt_vals(sorted(set(dropped)))}")
        elif additive_only(input_changes):
            _note(item, "normal", cat, f"coverage extended: {_fmt_vals(sorted({c['path'] for c in input_changes}))}")
        elif input_changes and not all(_root(c["path"]) in ("tags", "tagsAll", "description") for c in input_changes):
            _note(item, "high", cat, f"settings changed: {_fmt_vals(sorted({c['path'] for c in input_changes}))}")
    elif t in ALERTING_TYPES:
        significant = [c for c in input_changes if _root(c["path"]) not in ("tags", "tagsAll", "description")]
        cat = ALERTING_TYPES[t]
        if significant and not additive_only(significant):
            _note(item, "high", cat, f"changed: {_fmt_vals(sorted({_root(c['path']) for c in significant}))}")
        elif significant:
            _note(item, "normal", cat, f"extended: {_fmt_vals(sorted({_root(c['path']) for c in significant}))}")
    elif t.startswith("pulumi:providers:") and input_changes:
        _note(item, "high", "provider", f"provider settings changed: {_fmt_vals(sorted({_root(c['path']) for c in input_changes}))}")
    # Retention, lock, versioning, logging and encryption: what the change does to the data.
    for sev, cat, text in diff_weakening.weakenings(r0, r1):
        _note(item, sev, cat, text)


def _classify_removed(item: dict[str, Any], r: dict[str, Any]) -> None:
    t = r["type"]
    if r.get("retain_on_delete") and not r.get("protect") and t != ACCOUNT:
        return  # left behind in AWS as it is, settings and data included: listed under "Left behind"
    if t == ACCOUNT:
        _note(item, "critical", "account", f"account `{r['inputs'].get('name')}` removed from config"
              + (" (closeOnDeletion: it would be CLOSED)" if r["inputs"].get("closeOnDeletion") else ""))
    if r.get("protect"):
        kept = " and retained" if r.get("retain_on_delete") else ""
        _note(item, "critical", "protection",
              f"protected{kept} resource removed from the program: `pulumi up` stops with 'resource is protected' "
              "until it is restored or unprotected on purpose")
    if t == ACCOUNT:
        pass
    elif t == ORGANIZATION:
        _note(item, "critical", "organization", "the organization resource removed")
    elif t == OU:
        _note(item, "high", "organization", "OU removed (its guardrail attachments go with it)")
    elif _security_service(t):
        _note(item, "critical", "security-service", "security service resource removed")
    elif t in PROTECTION_TYPES:
        _note(item, PROTECTION_TYPES[t], "protection", "protection resource removed")
    elif t == ROLE:
        _note(item, "high", "trust", "role removed")
    elif t in RESOURCE_POLICIES:
        _, doc = parse_json(r["inputs"].get(RESOURCE_POLICIES[t] or "policy"))
        has_deny = any(s.get("Effect") == "Deny" for s in statements(doc).values())
        _note(item, "critical" if has_deny else "high", "resource-policy",
              "resource policy removed" + (" (with its Deny statements)" if has_deny else ""))
    elif t in ALERTING_TYPES:
        _note(item, "high", ALERTING_TYPES[t], f"{ALERTING_TYPES[t]} resource removed")


def _classify_added(item: dict[str, Any], r: dict[str, Any]) -> None:
    t = r["type"]
    i = r.get("inputs") or {}
    if t == ROLE:
        _, doc = parse_json(i.get("assumeRolePolicy"))
        for sev, text in _doc_notes("trust", None, doc, added_resource=True):
            _note(item, sev, "trust", f"new role: {text}")
    elif t in RESOURCE_POLICIES and RESOURCE_POLICIES[t]:
        _, doc = parse_json(i.get(RESOURCE_POLICIES[t]))
        for sev, text in _doc_notes("resource", None, doc, added_resource=True):
            if sev != "normal":
                _note(item, sev, "resource-policy", f"new policy: {text}")
    elif t in IDENTITY_POLICIES:
        _, doc = parse_json(i.get(IDENTITY_POLICIES[t]))
        for sev, text in _doc_notes("identity", None, doc, added_resource=True):
            if sev == "critical":
                _note(item, sev, "identity-policy", f"new policy: {text}")
    elif t == "aws:iam/rolePolicyAttachment:RolePolicyAttachment" and "AdministratorAccess" in str(i.get("policyArn")):
        _note(item, "critical", "identity-policy", "AdministratorAccess attached")
    if r.get("custom") and not r.get("protect") and t in (ACCOUNT, ORGANIZATION):
        _note(item, "critical", "protection", "new account or organization is not protected")


def _guardrails(base: Side, head: Side, items: dict[str, dict[str, Any]]) -> None:
    """Statement-level diff of guardrail policies, per target, so repacking is not a change."""
    def groups(side: Side) -> dict[tuple[str, tuple[str, ...]], dict[str, tuple[str, Any]]]:
        targets = side.policy_targets()
        out: dict[tuple[str, tuple[str, ...]], dict[str, tuple[str, Any]]] = defaultdict(dict)
        for r in side.resources:
            if r["type"] != POLICY:
                continue
            units = policy_units(r)
            if units is None:
                continue
            g = (r["inputs"].get("type", ""), targets.get(r["urn"], ("(unattached)",)))
            for k, u in units.items():
                out[g][k] = (r["urn"], u)
        return out

    bg, hg = groups(base), groups(head)
    for g in list(bg) + [g for g in hg if g not in bg]:
        ptype, targets = g
        b, h = bg.get(g, {}), hg.get(g, {})
        peers = [u for _, u in h.values() if isinstance(u, dict)]
        for key in list(b) + [k for k in h if k not in b]:
            bu, hu = b.get(key), h.get(key)
            if bu and hu and canon(bu[1]) == canon(hu[1]):
                if bu[0] != hu[0] and bu[0] in items and hu[0] in items:
                    src, dst = items[bu[0]]["label"], items[hu[0]]["label"]
                    items[hu[0]]["statements"].append({"key": key, "op": "moved", "severity": "normal", "lines": [], "from": src,
                                                       "notes": [{"severity": "normal", "text": f"`{key}` moved in from `{src}` unchanged (repacked)"}]})
                    items[bu[0]]["statements"].append({"key": key, "op": "moved-out", "severity": "normal", "lines": [], "to": dst,
                                                       "notes": [{"severity": "normal", "text": f"`{key}` moved out to `{dst}` unchanged (repacked)"}]})
                continue
            notes = analyze_unit(ptype, key, bu[1] if bu else None, hu[1] if hu else None, peers)
            owner = hu[0] if hu else bu[0]  # type: ignore[index]
            if owner not in items:
                continue
            op = "changed" if bu and hu else ("added" if hu else "removed")
            if op == "changed":
                lines = _render_changes(json_diff(bu[1], hu[1], key))  # type: ignore[index]
            else:
                sign = "+" if op == "added" else "-"
                lines = [f"{sign} {ln}" for ln in json.dumps((hu or bu)[1], indent=2).splitlines()]  # type: ignore[index]
            sev = min((n[0] for n in notes), key=RANK.__getitem__, default="high")
            items[owner]["statements"].append({"key": key, "op": op, "severity": sev, "lines": lines,
                                                "notes": [{"severity": a, "text": b} for a, b in notes],
                                                "targets": [(head if t in head.by_id else base).target_of(t) for t in targets]})
            if bu and hu and bu[0] != hu[0] and bu[0] in items:
                items[bu[0]]["statements"].append({"key": key, "op": "moved-out", "severity": "normal",
                                                    "notes": [{"severity": "normal", "text": f"`{key}` moved to `{items[hu[0]]['label']}` (see there)"}], "lines": []})


def _finish_guardrail_items(base: Side, head: Side, items: dict[str, dict[str, Any]]) -> None:
    """Turn statement records into notes; classify attachments knowing what was repacked."""
    weakened_policies: set[str] = set()
    for item in items.values():
        if item["type"] != POLICY:
            continue
        for s in item["statements"]:
            for n in s["notes"]:
                _note(item, n["severity"], "guardrail", n["text"])
            if s["op"] == "removed" and RANK[s["severity"]] <= RANK["high"]:
                weakened_policies.add(item["urn"])
        if item["change"] == "removed" and not item["statements"]:
            _note(item, "critical", "guardrail", "guardrail policy removed")
        elif item["change"] == "removed" and all(s["op"] == "moved-out" for s in item["statements"]):
            _note(item, "normal", "guardrail", "policy removed; all its statements moved to other policies of the same target (repacked)")
        elif item["change"] == "added" and item["statements"] and all(s["op"] == "moved" for s in item["statements"]):
            _note(item, "normal", "guardrail", "new policy holding statements repacked from another policy of the same target")
        elif item["change"] == "added" and not item["statements"]:
            _note(item, "normal", "guardrail", "guardrail policy added")
        if item["change"] == "changed":
            r0, r1 = base.by_urn[item["urn"]], head.by_urn[item["urn"]]
            if r0["inputs"].get("type") != r1["inputs"].get("type"):
                _note(item, "critical", "guardrail", "policy type changed")
            if policy_units(r0) is None or policy_units(r1) is None:
                if r0["inputs"].get("content") != r1["inputs"].get("content"):
                    _note(item, "high", "guardrail", "content changed (not parseable as JSON)")

    for item in items.values():
        if item["type"] != ATTACHMENT:
            continue
        side = base if item["change"] == "removed" else head
        r = side.by_urn[item["urn"]]
        policy = side.by_id.get(r["inputs"].get("policyId", ""))
        target = side.target_of(r["inputs"].get("targetId", ""))
        pname = side.label(policy) if policy else r["inputs"].get("policyId", "?")
        if item["change"] == "removed":
            repacked = policy is not None and policy["urn"] in items and items[policy["urn"]]["statements"] and all(
                s["op"] == "moved-out" for s in items[policy["urn"]]["statements"])
            if repacked:
                _note(item, "normal", "attachment", f"`{pname}` detached from {target}: its statements moved to another policy there (repacked)")
            else:
                _note(item, "critical", "attachment", f"guardrail detached: `{pname}` no longer attached to {target}")
        elif item["change"] == "added":
            _note(item, "normal", "attachment", f"guardrail attached: `{pname}` to {target}")
        elif item["change"] in ("changed", "renamed"):
            r0 = base.by_urn[item.get("renamed_from") or item["urn"]]
            if r0["inputs"].get("policyId") != r["inputs"].get("policyId") or r0["inputs"].get("targetId") != r["inputs"].get("targetId"):
                _note(item, "critical", "attachment", f"attachment re-pointed: `{pname}` now on {target}")


def _sum_severity(item: dict[str, Any]) -> None:
    item["severity"] = min((n["severity"] for n in item["notes"]), key=RANK.__getitem__, default=None)
    item["category"] = min((n["category"] for n in item["notes"] if n["severity"] == item["severity"]),
                           key=lambda c: CATEGORIES.index(c) if c in CATEGORIES else len(CATEGORIES), default=None)


def _findings(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((doc or {}).get("findings") or [])


def _guardrail_capacity(base: dict[str, Any] | None, head: dict[str, Any]) -> list[dict[str, Any]]:
    def index(doc: dict[str, Any] | None) -> dict[tuple[str, str], dict[str, Any]]:
        return {(g["type"], g["target"]): g for g in (doc or {}).get("guardrails") or []}

    b, h = index(base), index(head)
    rows = []
    for k in list(b) + [k for k in h if k not in b]:
        g0, g1 = b.get(k), h.get(k)
        sizes0 = [p["chars"] for p in g0["policies"]] if g0 else []
        sizes1 = [p["chars"] for p in g1["policies"]] if g1 else []
        if sizes0 != sizes1 or (g0 or {}).get("slots_used") != (g1 or {}).get("slots_used"):
            rows.append({"type": k[0], "target": k[1], "before": sizes0, "after": sizes1,
                         "slots_before": (g0 or {}).get("slots_used"), "slots_after": (g1 or {}).get("slots_used"),
                         "slots_max": (g1 or g0 or {}).get("slots_max"), "max_chars": (g1 or g0 or {}).get("max_chars")})
    return rows


def diff_plans(base_doc: dict[str, Any] | None, head_doc: dict[str, Any]) -> dict[str, Any]:
    """Compare two offline plan documents by URN. Pure: no git, no files.

    ``base_doc`` None means there is no base plan: every head resource counts as added.
    Returns the machine-readable diff (what ``build/diff-<stack>.json`` holds).
    """
    raw_base = Side(base_doc)
    head = Side(head_doc)
    renames = _rename_pairs(raw_base, head)
    # The mocks derive ids from names; a renamed resource keeps its real id, so map it.
    id_map = {}
    for h_urn, b_urn in renames.items():
        old, new = raw_base.by_urn[b_urn].get("id"), head.by_urn[h_urn].get("id")
        if old and new and old != new and len(old) >= 8:
            id_map[old] = new
    # An account keeps its id in AWS: one whose stand-in id differs on the two sides (a base
    # planned by older mocks) is the same account.
    for urn, r in head.by_urn.items():
        b = raw_base.by_urn.get(urn)
        if b is not None and r["type"] == ACCOUNT and b.get("id") and r.get("id") and b["id"] != r["id"]:
            id_map.setdefault(b["id"], r["id"])
    base = Side(_translate_ids(raw_base.doc, id_map)) if id_map else raw_base

    items: dict[str, dict[str, Any]] = {}
    renamed_base = set(renames.values())
    for urn, r in head.by_urn.items():
        if urn in renames:
            r0 = base.by_urn[renames[urn]]
            item = _item(r, head, "renamed")
            item["renamed_from"] = renames[urn]
            changes = field_changes(r0, r)
            item["changes"] = changes
            item["lines"] = _render_changes(changes, (base, head))
            _classify_changed(item, r0, r, changes)
            items[urn] = item
        elif urn not in base.by_urn:
            item = _item(r, head, "added")
            _classify_added(item, r)
            items[urn] = item
        else:
            r0 = base.by_urn[urn]
            changes = field_changes(r0, r)
            if changes:
                item = _item(r, head, "changed")
                item["changes"] = changes
                item["additive"] = additive_only(changes)
                item["lines"] = _render_changes(changes, (base, head))
                _classify_changed(item, r0, r, changes)
                items[urn] = item
    for urn, r in base.by_urn.items():
        if urn not in head.by_urn and urn not in renamed_base:
            item = _item(r, base, "removed")
            _classify_removed(item, r)
            items[urn] = item

    # Policies take part even when only repacked, so the statement diff can attribute moves.
    for side in (base, head):
        for r in side.resources:
            if r["type"] == POLICY and r["urn"] not in items:
                items[r["urn"]] = _item(r, side, "unchanged")
    _guardrails(base, head, items)
    _finish_guardrail_items(base, head, items)
    # What `pulumi up` would delete, replace or leave behind (protect, retain, ignore_changes).
    fate = diff_lifecycle.lifecycle(base, head, renames, items)
    for urn in [u for u, i in items.items() if i["change"] == "unchanged"]:
        if not items[urn]["statements"] or all(s["op"] in ("moved", "moved-out") for s in items[urn]["statements"]):
            del items[urn]  # only moves in/out of an otherwise unchanged policy would already show on the changed side
        else:
            items[urn]["change"] = "changed"
    for item in items.values():
        _sum_severity(item)
        # "Additive": the change only adds values (e.g. a new account id in a list) and weakens nothing.
        item["additive"] = bool(item.get("additive")) and item["severity"] in (None, "normal")

    security = sorted(
        (i for i in items.values() if i["severity"] is not None),
        key=lambda i: (RANK[i["severity"]], CATEGORIES.index(i["category"]) if i["category"] in CATEGORIES else 99, i["label"], i["urn"]),
    )
    groups = {c: sorted((i for i in items.values() if i["change"] == c), key=lambda i: (i["type"], i["label"]))
              for c in ("added", "removed", "changed", "renamed")}
    unchanged = sum(1 for u in head.by_urn if u not in items)
    f0, f1 = _findings(base_doc), _findings(head_doc)
    fkey = lambda f: (f.get("rule"), f.get("urn"), f.get("message"))  # noqa: E731
    k0, k1 = {fkey(f) for f in f0}, {fkey(f) for f in f1}
    changed_nodes = sorted({i["urn"] for i in items.values() if i["change"] in ("added", "changed", "renamed")})
    return {
        "stack": head_doc.get("stack"),
        "base": {"status": "ok" if base_doc is not None else "missing"},
        "summary": {
            "added": len(groups["added"]),
            "removed": len(groups["removed"]),
            "changed": len(groups["changed"]),
            "renamed": len(groups["renamed"]),
            "changed_additive": sum(1 for i in groups["changed"] if i.get("additive")),
            "unchanged": unchanged,
            "security": {s: sum(1 for i in security if i["severity"] == s) for s in SEVERITIES},
            **{k: len(v) for k, v in fate.items()},
        },
        # Config errors of the change itself (a team gone without being decommissioned): exit 2.
        "config_errors": diff_teams.team_errors(base_doc, head_doc),
        "lifecycle": fate,
        "security": [_public(i) for i in security],
        # Access flows whose decision changed (newly denied, newly allowed): a reviewer's
        # first question about any policy edit is "what does this now allow or break?"
        "flows": access_report.flow_changes(base_doc, head_doc),
        # Offline ids are stand-ins: people see <account:KEY> and <org-id> (both sides' accounts).
        "placeholders": symbolic.placeholders(base_doc, head_doc),
        **{c: [_public(i) for i in groups[c]] for c in groups},
        "highlight": changed_nodes,
        "removed_nodes": [{"urn": i["urn"], "type": i["type"], "label": i["label"]} for i in groups["removed"]
                          if i["type"] in (OU, ACCOUNT, POLICY, ORGANIZATION)],
        "findings": {
            "new": [f for f in f1 if fkey(f) not in k0],
            "resolved": [f for f in f0 if fkey(f) not in k1],
            "head": f1,
        },
        "guardrail_capacity": _guardrail_capacity(base_doc, head_doc),
    }


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return dict(item)  # a copy: the same item appears under "security" and under its change group


# ---------------------------------------------------------------------------------------
# Markdown

ICON = {"critical": "🔴", "high": "🟠", "normal": "🔵"}
MARKER = "<!-- secure-org-plan -->"


def _lines_block(lines: list[str], limit: int = MAX_LINES_PER_ITEM) -> list[str]:
    if not lines:
        return []
    shown = lines[:limit]
    extra = [f"# ... {len(lines) - limit} more line(s) in build/diff-<stack>.json"] if len(lines) > limit else []
    return ["```diff", *[ln.replace("```", "'''") for ln in shown], *extra, "```"]


def _security_block(item: dict[str, Any]) -> list[str]:
    head = f"#### {ICON[item['severity']]} {item['severity']}: {item['change']} `{item['label']}` ({item['type'].split(':')[-1]})"
    out = [head, ""]
    seen = set()
    for n in sorted(item["notes"], key=lambda n: RANK[n["severity"]]):
        if n["text"] in seen:
            continue
        seen.add(n["text"])
        out.append(f"- **{n['severity']}** ({n['category']}): {n['text']}")
    if item.get("renamed_from"):
        out.append(f"- renamed from `{item['renamed_from'].rsplit('::', 1)[-1]}` (alias)")
    out.append("")
    if item["statements"]:
        for s in sorted(item["statements"], key=lambda s: (RANK[s["severity"]], s["key"])):
            if s["op"] in ("moved", "moved-out"):
                continue
            out.append(f"Statement `{s['key']}` {s['op']} ({s['severity']}):")
            out += _lines_block(s["lines"], 40)
        out.append("")
    elif item["lines"]:
        out += _lines_block(item["lines"]) + [""]
    out.append(f"<sub>`{item['urn']}`</sub>")
    out.append("")
    return out


def markdown(diff: dict[str, Any], head_doc: dict[str, Any] | None = None, compact: bool = False) -> str:
    """The diff's PR section; deploy-time values (account ids, org id) shown as placeholders."""
    from blueprint.review.symbolic import symbolizer

    return symbolizer(head_doc, table=diff.get("placeholders"))(_markdown(diff, head_doc, compact))


def _markdown(diff: dict[str, Any], head_doc: dict[str, Any] | None = None, compact: bool = False) -> str:
    from blueprint.offline import report

    s = diff["summary"]
    base = diff["base"]
    ref = base.get("ref") or "base"
    commit = f" @ `{base['commit'][:10]}`" if base.get("commit") else ""
    sec = s["security"]
    lines = [f"## Plan diff: `{diff['stack']}` (`{ref}`{commit} -> working tree)", ""]
    if base["status"] != "ok":
        lines += [f"> **No base plan**: {base.get('message') or 'no base plan document'}. Everything below counts as added.", ""]
    lines.append(
        f"**{s['added']}** added, **{s['removed']}** removed, **{s['changed']}** changed"
        f"{' (' + str(s['changed_additive']) + ' additive: only new values, none weakening)' if s.get('changed_additive') else ''}, **{s['renamed']}** renamed, "
        f"{s['unchanged']} unchanged. Security-relevant: **{sec['critical']} critical**, **{sec['high']} high**, {sec['normal']} normal."
    )
    lines.append("")
    fate = diff.get("lifecycle") or {k: [] for k in ("blocked", "deleted", "replaced", "left_behind")}
    if diff_lifecycle_text.count_line(fate):
        lines += [diff_lifecycle_text.count_line(fate), ""]
    if diff.get("config_errors"):
        lines += ["> **Configuration errors in this change** (the diff exits 2):", ">"]
        lines += [f"> - {e}" for e in diff["config_errors"]] + [""]
    lines += diff_lifecycle_text.markdown_lines(fate)
    lines += _onboarding_lines(diff)
    lines += ["### Security-relevant changes", ""]
    lines += access_report.flow_change_lines(diff.get("flows") or [])
    if diff["security"]:
        lines += ["| severity | change | resource | what |", "|---|---|---|---|"]
        for i in diff["security"]:
            top = next(n["text"] for n in i["notes"] if n["severity"] == i["severity"])
            more = len({n["text"] for n in i["notes"]}) - 1
            lines.append(f"| {ICON[i['severity']]} {i['severity']} | {i['change']} | `{i['label']}` | "
                         f"{top.replace('|', '/')}{f' (+{more} more)' if more > 0 else ''} |")
        lines.append("")
        for i in diff["security"]:
            if compact and i["severity"] == "normal":
                continue
            lines += _security_block(i)
    else:
        lines += ["None.", ""]

    fnew, fres = diff["findings"]["new"], diff["findings"]["resolved"]
    if fnew or fres:
        lines += ["### Plan findings", ""]
        lines += [f"- new **{f['severity']}** `{f['rule']}`: {f['message']}" for f in fnew]
        lines += [f"- resolved `{f['rule']}`: {f['message']}" for f in fres]
        lines.append("")
    if diff.get("guardrail_capacity"):
        lines += ["### Guardrail sizes and slots", "", "| type | target | chars before | chars after | slots |", "|---|---|---|---|---|"]
        for g in diff["guardrail_capacity"]:
            lines.append(f"| {g['type']} | {g['target']} | {', '.join(map(str, g['before'])) or '-'} | "
                         f"{', '.join(map(str, g['after'])) or '-'} (of {g['max_chars']}) | {g['slots_before']} -> {g['slots_after']} of {g['slots_max']} |")
        lines.append("")

    security_urns = {i["urn"] for i in diff["security"]}
    lines += ["### Other changes", ""]
    any_other = False
    for change in ("added", "removed", "renamed", "changed"):
        rest = [i for i in diff[change] if i["urn"] not in security_urns]
        if not rest:
            continue
        any_other = True
        lines += [f"<details><summary>{change.capitalize()} ({len(rest)})</summary>", ""]
        if change in ("added", "removed"):
            lines += ["| type | name |", "|---|---|"]
            lines += [f"| `{i['type']}` | `{i['label']}` |" for i in rest]
            lines.append("")
        else:
            for i in rest:
                lines.append(f"**`{i['label']}`** (`{i['type']}`)"
                             + (f", renamed from `{i['renamed_from'].rsplit('::', 1)[-1]}`" if i.get("renamed_from") else ""))
                if not compact:
                    lines += _lines_block(i["lines"], 30)
                lines.append("")
        lines += ["</details>", ""]
    if not any_other:
        lines += ["None.", ""]

    if head_doc and head_doc.get("resources"):
        marks = {i["urn"]: ("added" if i["change"] == "added" else "changed")
                 for c in ("added", "changed", "renamed") for i in diff[c] if i["type"] in (OU, ACCOUNT, POLICY)}
        lines += ["### Organization (added, changed and removed nodes styled; legend below the graph)", "", "```mermaid",
                  report.mermaid(head_doc, marks=marks, removed=diff["removed_nodes"]), "```", ""]
    return "\n".join(lines)


def fit(diff: dict[str, Any], head_doc: dict[str, Any] | None, max_chars: int) -> str:
    """The Markdown, made compact and then trimmed by whole blocks if it would not fit.

    Never cuts inside a block (a table, a fenced diagram, a ``<details>``): blocks that do
    not fit are left out, in order, and a closing note names them.
    """
    from blueprint.review.comment import _blocks, _heading

    text = markdown(diff, head_doc)
    if len(text) <= max_chars:
        return text
    text = markdown(diff, head_doc, compact=True)
    if len(text) <= max_chars:
        return text
    blocks = _blocks(text)
    room = max_chars - 600  # for the note
    kept, dropped, used = [blocks[0]], [], len(blocks[0])
    for b in blocks[1:]:
        if used + len(b) + 2 <= room:
            kept.append(b)
            used += len(b) + 2
        else:
            dropped.append(_heading(b))
    note = (f"> Left out to stay within {max_chars:,} characters: " + "; ".join(dropped[:8])
            + (f"; and {len(dropped) - 8} more" if len(dropped) > 8 else "")
            + f". The full diff is in `build/diff-{diff['stack']}.json` (CI artifact).")
    return "\n\n".join(kept) + "\n\n" + note[: 590] + "\n"


def _onboarding_lines(diff: dict[str, Any]) -> list[str]:
    """New accounts and teams, first: what an onboarding PR is about, before any detail."""
    new = [i for i in diff["added"] if i["type"] == ACCOUNT]
    if not new:
        return []
    lines = ["### New accounts and teams", "", "| account | team | environment |", "|---|---|---|"]
    for i in new:
        tags = i.get("tags") or {}
        lines.append(f"| `{i['label']}` | {tags.get('team') or '-'} | {tags.get('environment') or '-'} |")
    teams = sorted({t for i in new if (t := (i.get("tags") or {}).get("team"))})
    shared = diff["summary"]["changed"] + diff["summary"]["removed"]
    lines += ["", f"{len(new)} new account(s)" + (f" for team(s) {', '.join(teams)}" if teams else "")
              + (": additions only, nothing shared changes." if shared == 0 else f"; {shared} existing resource(s) change or go (below)."), ""]
    return lines


def summary_text(diff: dict[str, Any], head_doc: dict[str, Any] | None = None) -> str:
    from blueprint.review.symbolic import symbolizer

    return symbolizer(head_doc, table=diff.get("placeholders"))(_summary_text(diff))


def _summary_text(diff: dict[str, Any]) -> str:
    s = diff["summary"]
    sec = s["security"]
    base = diff["base"]
    lines = [f"Plan diff of stack '{diff['stack']}' against {base.get('ref') or 'base'}"
             + (f" ({base['commit'][:10]})" if base.get("commit") else "")]
    if base["status"] != "ok":
        lines.append(f"  no base plan: {base.get('message') or ''}".rstrip())
    additive = f" ({s['changed_additive']} additive)" if s.get("changed_additive") else ""
    lines.append(f"  {s['added']} added, {s['removed']} removed, {s['changed']} changed{additive}, {s['renamed']} renamed, {s['unchanged']} unchanged")
    lines.append(f"  security-relevant: {sec['critical']} critical, {sec['high']} high, {sec['normal']} normal")
    if diff.get("lifecycle"):
        lines += diff_lifecycle_text.text_lines(diff["lifecycle"])
    for c in diff.get("flows") or []:
        lines.append(f"  [{'flow' if c['ok'] else 'FLOW VIOLATION'}] {c['change']}: {c['flow']} {c['principal']} {c['action']} {c['resource']}")
    for i in diff["security"]:
        top = next(n["text"] for n in i["notes"] if n["severity"] == i["severity"])
        lines.append(f"  [{i['severity']}] {i['change']} {i['label']}: {top}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# git: the base plan from a temporary worktree


def _git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise DiffError("git is not installed") from exc
    if done.returncode != 0:
        raise DiffError(f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()


def _tail(text: str, n: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


def resolve(ref: str, repo: Path = REPO) -> tuple[Path, str, str]:
    """(top of the checkout, the project's prefix in it, the commit ``ref`` names); DiffError otherwise."""
    top = Path(_git(["rev-parse", "--show-toplevel"], repo))
    prefix = _git(["rev-parse", "--show-prefix"], repo)
    try:
        commit = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    except DiffError as exc:
        raise DiffError(f"unknown git ref {ref!r} (in CI, fetch it: actions/checkout with fetch-depth: 0)") from exc
    return top, prefix, commit


def base_plan(stack: str, ref: str, repo: Path = REPO, python: str = sys.executable, timeout: int = 900) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Plan ``stack`` as it is at git ``ref``, with that commit's own planner, in a throwaway worktree.

    Returns (plan document or None, info). Raises DiffError for operational errors
    (not a repository, unknown ref); a base that cannot be planned is (None, info).
    """
    top, prefix, commit = resolve(ref, repo)
    info: dict[str, Any] = {"ref": ref, "commit": commit, "status": "ok"}
    tmp = Path(tempfile.mkdtemp(prefix="secure-org-diff-"))
    wt = tmp / "base"
    try:
        _git(["worktree", "add", "--detach", "--quiet", str(wt), commit], top)
        proj = wt / prefix
        if not (proj / f"Pulumi.{stack}.yaml").is_file():
            return None, info | {"status": "missing", "message": f"`Pulumi.{stack}.yaml` does not exist at {ref}"}
        if not (proj / "blueprint" / "offline" / "plan.py").is_file():
            return None, info | {"status": "missing", "message": f"no offline planner (blueprint/offline/plan.py) at {ref}"}
        out = tmp / "out"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        env |= {"PYTHONPATH": str(proj), "PYTHONDONTWRITEBYTECODE": "1"}
        attempts = [
            (["--stack", stack, "--out", str(out), "--quiet"], out / f"plan-{stack}.json"),
            (["--stack", stack], proj / "build" / f"plan-{stack}.json"),  # a planner before --out/--quiet existed
        ]
        done = None
        for args, json_path in attempts:
            try:
                done = subprocess.run([python, "-m", "blueprint.offline.plan", *args], cwd=proj, env=env,
                                      capture_output=True, text=True, timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                return None, info | {"status": "error", "message": f"the base planner timed out after {timeout}s"}
            if done.returncode == 2 and "unrecognized arguments" in done.stderr:
                continue
            if done.returncode in (0, 1) and json_path.is_file():
                try:
                    doc = json.loads(json_path.read_text())
                except ValueError as exc:
                    return None, info | {"status": "error", "message": f"the base plan is not valid JSON: {exc}"}
                return doc, info | {"exit_code": done.returncode}
            break
        detail = _tail((done.stderr or done.stdout) if done else "")
        what = "configuration rejected" if done is not None and done.returncode == 2 else f"planner failed (exit {done.returncode if done else '?'})"
        return None, info | {"status": "error", "message": f"{what} at {ref}", "detail": detail}
    finally:
        try:
            _git(["worktree", "remove", "--force", str(wt)], top)
        except DiffError:
            shutil.rmtree(wt, ignore_errors=True)
            try:
                _git(["worktree", "prune"], top)
            except DiffError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


def write(diff: dict[str, Any], md: str, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"diff-{diff['stack']}.json"
    md_path = out_dir / f"diff-{diff['stack']}.md"
    json_path.write_text(json.dumps(diff, indent=1) + "\n")
    md_path.write_text(md)
    return json_path, md_path


def _load_plan(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DiffError(f"cannot read plan {path}: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--stack", default="dev")
    ap.add_argument("--base", default="HEAD", help="git ref to compare with (default HEAD: the uncommitted changes)")
    ap.add_argument("--file", type=Path, help="head stack file (default Pulumi.<stack>.yaml)")
    ap.add_argument("--base-plan", type=Path, help="a saved base plan JSON instead of planning --base from git")
    ap.add_argument("--head-plan", type=Path, help="a saved head plan JSON instead of planning the working tree")
    ap.add_argument("--save-base", type=Path, help="write the base plan used to <dir>/plan-<stack>.json (CI caches it by base commit)")
    ap.add_argument("--out", type=Path, default=REPO / "build")
    ap.add_argument("--max-chars", type=int, default=int(os.environ.get("DIFF_MAX_CHARS") or 60000),
                    help="cap on the Markdown; default $DIFF_MAX_CHARS or 60000 (a PR comment holds 65,536)")
    args = ap.parse_args(argv)

    try:
        if not args.base_plan:
            resolve(args.base)  # an unknown ref fails before the head is planned
        if args.head_plan:
            head_doc = _load_plan(args.head_plan)
        else:
            from blueprint.offline.plan import EXIT_CONFIG, plan_stack

            code, head_doc = plan_stack(args.stack, args.file)
            if code == EXIT_CONFIG:
                print(f"head configuration rejected ({len(head_doc['config_errors'])} problems):", file=sys.stderr)
                for line in head_doc["config_errors"]:
                    print(f"  {line}", file=sys.stderr)
                return EXIT_ERROR
        if args.base_plan:
            base_doc, info = _load_plan(args.base_plan), {"ref": str(args.base_plan), "status": "ok"}
        else:
            base_doc, info = base_plan(args.stack, args.base)
    except DiffError as exc:
        print(f"diff: {exc}", file=sys.stderr)
        return EXIT_ERROR

    if args.save_base and base_doc is not None:
        args.save_base.mkdir(parents=True, exist_ok=True)
        (args.save_base / f"plan-{args.stack}.json").write_text(json.dumps(base_doc) + "\n")
    diff = diff_plans(base_doc, head_doc)
    diff["base"] = dict(info)
    if base_doc is None and info.get("status") == "ok":
        diff["base"]["status"] = "missing"
    md = fit(diff, head_doc, args.max_chars)
    json_path, md_path = write(diff, md, args.out)
    print(summary_text(diff, head_doc))
    if info.get("detail"):
        print("  base planner said:\n" + "\n".join(f"    {ln}" for ln in info["detail"].splitlines()))
    shown = json_path.relative_to(Path.cwd()) if json_path.is_relative_to(Path.cwd()) else json_path
    print(f"\nwrote {shown} and {md_path.name}")
    if diff["config_errors"]:
        # The diff is written (the reviewer sees it), but the change itself is a config error.
        print(f"configuration rejected by the diff ({len(diff['config_errors'])} problems):", file=sys.stderr)
        for line in diff["config_errors"]:
            print(f"  {line}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
