"""Weakened data protections between two registrations of the same resource.

The generic diff sees "settings changed"; these rules say what the change does to the data:
shorter retention or lock, a weaker lock mode, versioning suspended, logging or encryption
turned off or downgraded, deletion made easier. Each is critical (docs/review.md).

Rules are data: per type, the input path, what it protects and how to rank its values.
Input names are the engine's (camelCase), as recorded in the plan.
"""

from __future__ import annotations

from typing import Any, Callable

FOREVER = float("inf")

# type -> [(path, what, value when absent)]: a smaller number keeps data for less time.
# ``rules[]`` walks a list and the shortest value counts (a rule renamed with the same days is
# not shorter); FOREVER means "absent or 0 keeps it forever" (log retention, lifecycle expiration).
RETENTION: dict[str, list[tuple[str, str, float | None]]] = {
    "aws:cloudwatch/logGroup:LogGroup": [("retentionInDays", "log retention", FOREVER)],
    "aws:kms/key:Key": [("deletionWindowInDays", "key deletion window", 30)],
    "aws:secretsmanager/secret:Secret": [("recoveryWindowInDays", "secret recovery window", 30)],
    "aws:sqs/queue:Queue": [("messageRetentionSeconds", "message retention (seconds)", 345600)],
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": [
        ("rules[].expiration.days", "object expiration", FOREVER),
        ("rules[].noncurrentVersionExpiration.noncurrentDays", "noncurrent-version expiration", FOREVER),
    ],
}
OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"

# type -> [(path, rank of each value)]: a lower rank protects less (absent is None).
RANKED: dict[str, list[tuple[str, dict[Any, int]]]] = {
    OBJECT_LOCK: [("rule.defaultRetention.mode", {None: 0, "GOVERNANCE": 1, "COMPLIANCE": 2}),
                  ("objectLockEnabled", {None: 0, "Enabled": 1})],
    "aws:s3/bucketVersioning:BucketVersioning": [
        ("versioningConfiguration.status", {None: 0, "Disabled": 0, "Suspended": 0, "Enabled": 1}),
        ("versioningConfiguration.mfaDelete", {None: 0, "Disabled": 0, "Enabled": 1})],
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": [
        ("rules[].applyServerSideEncryptionByDefault.sseAlgorithm", {None: 0, "AES256": 1, "aws:kms": 2, "aws:kms:dsse": 3})],
    # ECR encrypts with AES256 when nothing is set.
    "aws:ecr/repository:Repository": [("encryptionConfigurations[].encryptionType", {None: 1, "AES256": 1, "KMS": 2, "KMS_DSSE": 3})],
    # An alerting rule that no longer fires (ENABLED is the default); ENABLED alone also stops
    # read-only CloudTrail events (sts:AssumeRole), which the break-glass alert needs.
    "aws:cloudwatch/eventRule:EventRule": [("state", {None: 1, "ENABLED": 1, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS": 2, "DISABLED": 0})],
}

# Flags that protect data when true (any type): (what, the provider's default when unset).
# True -> false (or unset, when the default is false) is "turned off".
PROTECTIVE_FLAGS: dict[str, tuple[str, bool]] = {
    "enableLogging": ("CloudTrail logging", True),
    "enableLogFileValidation": ("log file validation", False),
    "isMultiRegionTrail": ("multi-region trail", False),
    "includeGlobalServiceEvents": ("global service events", True),
    "isOrganizationTrail": ("organization trail", False),
    "enableKeyRotation": ("key rotation", False),
    "isEnabled": ("the resource itself", True),
    "objectLockEnabled": ("object lock", False),
    "deletionProtectionEnabled": ("deletion protection", False),
    "pointInTimeRecovery.enabled": ("point-in-time recovery", False),
    "serverSideEncryption.enabled": ("server-side encryption", False),
    "skipDestroy": ("kept on destroy", False),
}
# Flags that make a deletion destroy data when true: false -> true is critical.
DESTRUCTIVE_FLAGS = ("forceDestroy", "forceDelete")
# A property naming the customer-managed key that encrypts the data: removing it downgrades
# encryption (to the AWS-managed key or none).
KEY_FIELDS = ("kmsKeyId", "kmsMasterKeyId", "kmsKeyArn", "kmsKey", "encryptionKey", "kmsKeyIdentifier")

Note = tuple[str, str, str]  # (severity, category, text)


def _values(inputs: dict, path: str) -> list[Any]:
    """Every value a dotted path reaches; ``x[]`` walks each item of a list (lifecycle rules
    that are ``Disabled`` expire nothing, so they are skipped)."""
    found: list[Any] = [inputs]
    for part in path.split("."):
        many = part.endswith("[]")
        key = part[:-2] if many else part
        nxt: list[Any] = []
        for v in found:
            if not isinstance(v, dict) or key not in v:
                continue
            if many:
                nxt += [i for i in (v[key] if isinstance(v[key], list) else []) if not (isinstance(i, dict) and i.get("status") == "Disabled")]
            else:
                nxt.append(v[key])
        found = nxt
    return found


def _num(value: Any, absent: float | None) -> float | None:
    if value is None or value == "":
        return absent
    try:
        n = float(value)
    except (TypeError, ValueError):
        return None
    return FOREVER if absent == FOREVER and n == 0 else n


def _shortest(inputs: dict, path: str, absent: float | None) -> float | None:
    """The shortest period a path sets; a list path with no value anywhere counts as absent."""
    nums = [_num(v, absent) for v in _values(inputs, path)] or [absent]
    return None if any(n is None for n in nums) else min(nums)  # type: ignore[type-var]


def _days(n: float) -> str:
    return "never expires" if n == FOREVER else f"{n:g}"


def _retention(t: str, i0: dict, i1: dict) -> list[Note]:
    notes: list[Note] = []
    for path, what, absent in RETENTION.get(t, []):
        n0, n1 = _shortest(i0, path, absent), _shortest(i1, path, absent)
        if n0 is not None and n1 is not None and n1 < n0:
            notes.append(("critical", "protection", f"{what} shortened: `{path}` {_days(n0)} -> {_days(n1)}"))
    if t == OBJECT_LOCK:
        d0, d1 = _lock_days(i0), _lock_days(i1)
        if d0 and d1 is not None and d1 < d0:
            notes.append(("critical", "protection", f"object lock retention shortened: {d0:g} -> {d1:g} days"
                          + (" (default retention removed)" if d1 == 0 else "")))
    return notes


def _lock_days(inputs: dict) -> float | None:
    """Default object-lock retention in days (a year counts 365), 0 when there is none."""
    days = [_num(v, 0) for v in _values(inputs, "rule.defaultRetention.days")] or [0]
    years = [_num(v, 0) for v in _values(inputs, "rule.defaultRetention.years")] or [0]
    if None in days or None in years:
        return None
    return days[0] + 365 * years[0]  # type: ignore[operator]


def _strongest(inputs: dict, path: str, rank: dict[Any, int]) -> tuple[int, Any] | None:
    """(rank, value) of the strongest value a path sets; None for a value the rule does not know."""
    vals = _values(inputs, path) or [None]
    if any(not isinstance(v, (str, type(None))) or v not in rank for v in vals):
        return None
    best = max(vals, key=lambda v: rank[v])
    return rank[best], best


def _ranked(t: str, i0: dict, i1: dict) -> list[Note]:
    notes: list[Note] = []
    for path, rank in RANKED.get(t, []):
        s0, s1 = _strongest(i0, path, rank), _strongest(i1, path, rank)
        if s0 is not None and s1 is not None and s1[0] < s0[0]:
            before, after = ("unset" if v is None else v for v in (s0[1], s1[1]))
            notes.append(("critical", "protection", f"{_ranked_what(path)}: `{path}` {before} -> {after}"))
    return notes


def _ranked_what(path: str) -> str:
    last = path.split(".")[-1]
    return {"mode": "object lock mode weakened", "objectLockEnabled": "object lock disabled",
            "status": "versioning turned off", "mfaDelete": "MFA delete turned off",
            "sseAlgorithm": "encryption downgraded", "encryptionType": "encryption downgraded",
            "state": "event rule turned off"}.get(last, f"{last} weakened")


def _flags(i0: dict, i1: dict) -> list[Note]:
    notes: list[Note] = []
    for path, (what, default) in PROTECTIVE_FLAGS.items():
        (v0, *_), (v1, *_) = (_values(i, path) or [default] for i in (i0, i1))
        if v0 is True and v1 is False:
            notes.append(("critical", "protection", f"turned off: {what} (`{path}` true -> false)"))
    for path in DESTRUCTIVE_FLAGS:
        if i0.get(path) is not True and i1.get(path) is True:
            notes.append(("critical", "protection", f"`{path}` set: deleting it would now also delete everything it holds"))
    return notes


def _leaves(value: Any, where: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_leaves(v, f"{where}.{k}" if where else k))
        return out
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_leaves(v, f"{where}[{i}]"))
        return out
    return {where: value}


def _key_path(path: str) -> str | None:
    """The prefix of ``path`` up to its customer-managed-key segment, if it has one."""
    segs = path.split(".")
    for n, seg in enumerate(segs):
        if seg.split("[")[0] in KEY_FIELDS:
            return ".".join(segs[: n + 1])
    return None


def _keys_removed(i0: dict, i1: dict) -> list[Note]:
    def keyed(inputs: dict) -> set[str]:
        return {k for p, v in _leaves(inputs).items() if v not in (None, "") and (k := _key_path(p))}

    gone = sorted(keyed(i0) - keyed(i1))
    if not gone:
        return []
    return [("critical", "protection", f"encryption downgraded: customer-managed key removed ({', '.join(f'`{g}`' for g in gone)})")]


RULES: tuple[Callable[[str, dict, dict], list[Note]], ...] = (
    _retention, _ranked, lambda t, a, b: _flags(a, b), lambda t, a, b: _keys_removed(a, b),
)


def weakenings(r0: dict[str, Any], r1: dict[str, Any]) -> list[Note]:
    """Critical notes for every data protection the change from ``r0`` to ``r1`` weakens."""
    t = r1["type"]
    i0, i1 = r0.get("inputs") or {}, r1.get("inputs") or {}
    out: list[Note] = []
    for rule in RULES:
        for note in rule(t, i0, i1):
            if note not in out:
                out.append(note)
    return out
