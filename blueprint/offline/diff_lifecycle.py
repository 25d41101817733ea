"""What `pulumi up` would delete, replace or leave behind, from both plans and their diff.

A resource in base but not in head (and not carried by an alias) is deleted, unless it is
retained (``retain_on_delete``: left behind in AWS, no longer managed) or protected
(``protect``: `pulumi up` stops). A resource whose replace-forcing property changes (its
physical name, mostly; properties in its ``ignore_changes`` excepted) is replaced: a new one
is created and the old one deleted, or left behind when retained. For data-holding types
either is critical. The lists below are conservative data, checked against pulumi-aws 7.x
engine names; the real `pulumi preview` is the final word.
"""

from __future__ import annotations

from typing import Any

from blueprint.offline import checks
from blueprint.offline.mocks import UNKNOWN_MARK as UNKNOWN  # a preview-mode plan's unknown value

ACCOUNT = "aws:organizations/account:Account"
BUCKET = "aws:s3/bucket:Bucket"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
README_CLOSING = 'README "Renaming, moving and closing accounts"'

# Data-holding types and what each holds: policies/data-resources.yaml (the plan's
# "data-retained" check reads the same list), plus accounts.
def data_types() -> dict[str, str]:
    return {**checks.data_types(), ACCOUNT: "the account and everything in it"}


# How to remove a left-behind resource on purpose; {n} is its name.
CLEANUP: dict[str, str] = {
    BUCKET: "empty it on purpose, every version included (`aws s3api list-object-versions --bucket {n}`, then "
            "`aws s3api delete-objects`; object-locked versions only once their retention ends), then `aws s3 rb s3://{n}`",
    "aws:ecr/repository:Repository": "`aws ecr delete-repository --repository-name {n} --force` (deletes its images)",
    "aws:codecommit/repository:Repository": "keep a copy (`git clone --mirror`), then `aws codecommit delete-repository --repository-name {n}`",
    "aws:cloudwatch/logGroup:LogGroup": "`aws logs delete-log-group --log-group-name {n}` once its events are no longer needed",
    "aws:kms/key:Key": "once nothing needs what it encrypts: `aws kms schedule-key-deletion --key-id {n} --pending-window-in-days 30` "
                       "(`aws kms cancel-key-deletion` undoes it within the window)",
    TOPIC: "`aws sns delete-topic --topic-arn {n}`",
    "aws:codepipeline/pipeline:Pipeline": "`aws codepipeline delete-pipeline --name {n}`",
    "aws:cloudtrail/trail:Trail": "`aws cloudtrail delete-trail --name {n}`",
    ACCOUNT: f"close it on purpose: {README_CLOSING}",
    "aws:dynamodb/table:Table": "`aws dynamodb delete-table --table-name {n}`",
    "aws:secretsmanager/secret:Secret": "`aws secretsmanager delete-secret --secret-id {n}` (its recovery window applies)",
    "aws:organizations/organizationalUnit:OrganizationalUnit":
        "`aws organizations delete-organizational-unit --organizational-unit-id {n}` once it is empty",
}
GENERIC_CLEANUP = "no longer managed: delete it with the AWS CLI or console once nothing uses it"

_BUCKET_KEYED = ("bucket", "expectedBucketOwner")
# type -> engine properties whose change replaces the resource ("region" replaces any resource).
REPLACE_ON: dict[str, tuple[str, ...]] = {
    BUCKET: ("bucket", "bucketPrefix", "objectLockEnabled"),
    # ECR fixes a repository's encryption at creation: changing it replaces the repository.
    "aws:ecr/repository:Repository": ("name", "encryptionConfigurations"),
    "aws:codecommit/repository:Repository": ("repositoryName",),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix", "logGroupClass"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"),
    "aws:kms/keyPolicy:KeyPolicy": ("keyId",),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    TOPIC: ("name", "namePrefix", "fifoTopic"),
    SUBSCRIPTION: ("topic", "protocol", "endpoint"),
    "aws:codepipeline/pipeline:Pipeline": ("name",),
    "aws:cloudtrail/trail:Trail": ("name",),
    ACCOUNT: ("name", "email", "roleName", "iamUserAccessToBilling"),
    "aws:dynamodb/table:Table": ("name",),
    "aws:secretsmanager/secret:Secret": ("name", "namePrefix"),
    "aws:sqs/queue:Queue": ("name", "namePrefix", "fifoQueue"),
    "aws:lambda/function:Function": ("name",),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/policy:Policy": ("name", "namePrefix", "path"),
    "aws:iam/rolePolicy:RolePolicy": ("name", "namePrefix", "role"),
    "aws:iam/instanceProfile:InstanceProfile": ("name", "namePrefix", "path"),
    "aws:codebuild/project:Project": ("name",),
    "aws:cloudwatch/eventRule:EventRule": ("name", "namePrefix", "eventBusName"),
    "aws:cloudwatch/eventBus:EventBus": ("name",),
    "aws:cloudformation/stackSet:StackSet": ("name",),
    "aws:cloudformation/stack:Stack": ("name",),
    "aws:s3/bucketPolicy:BucketPolicy": _BUCKET_KEYED,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _BUCKET_KEYED,
    "aws:s3/bucketVersioning:BucketVersioning": _BUCKET_KEYED,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _BUCKET_KEYED,
    "aws:s3/bucketLogging:BucketLogging": _BUCKET_KEYED,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _BUCKET_KEYED,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _BUCKET_KEYED,
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": _BUCKET_KEYED,
    "aws:s3/bucketNotification:BucketNotification": _BUCKET_KEYED,
}
# "region" too, compared as the region the resource lands in (unset: its provider's).
REGION = "region"
# A bucket setting deleted while its bucket stays: the bucket loses that protection.
BUCKET_SETTINGS = {
    "aws:s3/bucketLogging:BucketLogging": "server access logging turned off",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration":
        "encryption configuration deleted: the bucket falls back to default SSE-S3 (no customer-managed key)",
    "aws:s3/bucketVersioning:BucketVersioning": "versioning configuration deleted: versioning is suspended",
}


def _managed(r: dict[str, Any]) -> bool:
    """A cloud resource the engine creates and deletes (not a component, not a provider)."""
    return bool(r.get("custom", True)) and not r["type"].startswith("pulumi:providers:")


NAME_INPUT = {BUCKET: "bucket", "aws:codecommit/repository:Repository": "repositoryName"}
# The CLI takes these by an id AWS assigns: offline ids are stand-ins, so name a placeholder.
BY_ID = {"aws:kms/key:Key": "key-id", "aws:organizations/organizationalUnit:OrganizationalUnit": "ou-id"}


def physical_name(r: dict[str, Any], label: str) -> str:
    """What the cleanup command names: the AWS name, the topic ARN, or a placeholder for an AWS-assigned id."""
    if r["type"] == ACCOUNT:
        return label
    if r["type"] in BY_ID:
        return f"<{BY_ID[r['type']]} of {label}>"
    value = (r.get("inputs") or {}).get(NAME_INPUT.get(r["type"], "name"))
    if r["type"] != TOPIC and isinstance(value, str) and value:
        return value
    return str(r.get("id") or label)


def holds_data(r: dict[str, Any], side_resources: list[dict[str, Any]]) -> bool:
    """Data-holding types; a topic only when something subscribes to it."""
    if r["type"] == TOPIC:
        ref = {r.get("id"), (r.get("inputs") or {}).get("arn")} - {None, ""}
        return any(s["type"] == SUBSCRIPTION and (s.get("inputs") or {}).get("topic") in ref for s in side_resources)
    return r["type"] in data_types()


def _ignored(prop: str, ignore: list[str]) -> bool:
    return any(prop == x or prop.startswith(x + ".") or prop.startswith(x + "[") for x in ignore)


def region_of(r: dict[str, Any], side: Any) -> str | None:
    """The region a resource lands in: its own ``region``, else its provider's, else the plan's home region."""
    own = (r.get("inputs") or {}).get(REGION)
    if own:
        return own
    provider = side.by_urn.get((r.get("provider") or "").rsplit("::", 1)[0]) if r.get("provider") else None
    return ((provider or {}).get("inputs") or {}).get(REGION) or side.doc.get("home_region")


def replacing_changes(r0: dict[str, Any], r1: dict[str, Any], base: Any = None, head: Any = None) -> list[str]:
    """Replace-forcing properties that change (and are not in the head's ``ignore_changes``)."""
    if not _managed(r1):
        return []
    i0, i1 = r0.get("inputs") or {}, r1.get("inputs") or {}
    ignore = list(r1.get("ignore_changes") or [])
    out = []
    for prop in REPLACE_ON.get(r1["type"], ()):
        a, b = i0.get(prop), i1.get(prop)
        if a != b and UNKNOWN not in (a, b) and not _ignored(prop, ignore):
            out.append(prop)
    a, b = (region_of(r0, base), region_of(r1, head)) if base is not None and head is not None else (i0.get(REGION), i1.get(REGION))
    if a != b and None not in (a, b) and UNKNOWN not in (a, b) and not _ignored(REGION, ignore):
        out.append(REGION)
    if (r0.get("provider") or "").split("::")[:-1] != (r1.get("provider") or "").split("::")[:-1]:
        out.append("provider")  # another provider (account or region): the engine replaces it
    return out


def _entry(r: dict[str, Any], side: Any, data: bool, outcome: str, why: str) -> dict[str, Any]:
    label = side.label(r)
    what, how = data_types().get(r["type"], ""), CLEANUP.get(r["type"], GENERIC_CLEANUP)
    return {"urn": r["urn"], "type": r["type"], "label": label, "outcome": outcome, "why": why, "data": data,
            "loses": what if data else "", "protected": bool(r.get("protect")), "retained": bool(r.get("retain_on_delete")),
            "cleanup": how.format(n=physical_name(r, label))}


def _after_unprotect(r: dict[str, Any]) -> str:
    if r.get("retain_on_delete"):
        return "left behind"
    if r["type"] == ACCOUNT:
        return "closed" if (r.get("inputs") or {}).get("closeOnDeletion") else "removed from the organization (a standalone account)"
    return "deleted"


def _note(item: dict[str, Any] | None, severity: str, category: str, text: str) -> None:
    if item is not None:
        item["notes"].append({"severity": severity, "category": category, "text": text})


def lifecycle(base: Any, head: Any, renames: dict[str, str], items: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Deleted, replaced, left-behind and blocked (protected) resources; notes added to ``items``.

    ``base``/``head`` are the diff's indexed sides (``by_urn``, ``resources``, ``label``);
    ``renames`` maps a head URN to the base URN its alias carries.
    """
    out: dict[str, list[dict[str, Any]]] = {"blocked": [], "deleted": [], "replaced": [], "left_behind": []}
    carried = set(renames.values())
    head_buckets = {(r.get("inputs") or {}).get("bucket") for r in head.resources if r["type"] == BUCKET}
    for urn, r in base.by_urn.items():
        if urn in head.by_urn or urn in carried or not _managed(r):
            continue
        data = holds_data(r, base.resources)
        item = items.get(urn)
        if r.get("protect"):
            then = _after_unprotect(r)
            out["blocked"].append(_entry(r, base, data, "blocked", f"removed from the program; once unprotected on purpose: {then}")
                                  | {"then": then})
        elif r.get("retain_on_delete"):
            out["left_behind"].append(_entry(r, base, data, "left behind", "removed from the program; retained"))
        else:
            out["deleted"].append(_entry(r, base, data, "deleted", "removed from the program"))
            if data:
                _note(item, "critical", "data", f"deleted, not retained: it holds {data_types().get(r['type'], 'data')}")
            bucket = (r.get("inputs") or {}).get("bucket")
            if r["type"] in BUCKET_SETTINGS and bucket in head_buckets:
                _note(item, "critical", "protection", f"{BUCKET_SETTINGS[r['type']]} for bucket `{bucket}`, which stays")

    pairs = [(renames.get(u, u), u) for u in head.by_urn if u in renames or u in base.by_urn]
    for b_urn, h_urn in pairs:
        r0, r1 = base.by_urn[b_urn], head.by_urn[h_urn]
        props = replacing_changes(r0, r1, base, head)
        if not props:
            continue
        data = holds_data(r0, base.resources) or holds_data(r1, head.resources)
        why = f"{', '.join(f'`{p}`' for p in props)} changes"
        item = items.get(h_urn)
        if r0.get("protect") or r1.get("protect"):
            out["blocked"].append(_entry(r1, head, data, "blocked", f"{why}: a protected resource cannot be replaced") | {"then": "replaced"})
            _note(item, "critical", "protection", f"would be replaced ({why}): `pulumi up` stops, a protected resource cannot be replaced")
            continue
        kept = r1.get("retain_on_delete") or r0.get("retain_on_delete")
        out["replaced"].append(_entry(r1, head, data, "replaced", why + ("; the old one is left behind (retained)" if kept else "")))
        if data:
            _note(item, "critical", "data", f"would be REPLACED ({why}): the new one starts empty; the old one, holding "
                  f"{data_types().get(r1['type'], 'data')}, is " + ("left behind (retained)" if kept else "deleted"))
    _fold_bucket_settings(out["left_behind"], base)
    return out


def _fold_bucket_settings(left: list[dict[str, Any]], base: Any) -> None:
    """A left-behind bucket's retained settings stay on it: one entry per bucket, not per setting."""
    buckets = {physical_name(base.by_urn[e["urn"]], e["label"]): e for e in left if e["type"] == BUCKET}
    kept = []
    for e in left:
        bucket = (base.by_urn[e["urn"]].get("inputs") or {}).get("bucket")
        if e["type"] != BUCKET and e["type"].startswith("aws:s3/bucket") and bucket in buckets:
            buckets[bucket].setdefault("settings", []).append(e["type"].split(":")[-1])
        else:
            kept.append(e)
    # Other retained settings (a topic's policy) stay with the data resource they depend on.
    holders = {e["urn"]: e for e in kept if e["data"]}
    left[:] = []
    for e in kept:
        deps = [] if e["data"] else [d for d in base.by_urn[e["urn"]].get("dependencies") or [] if d in holders]
        if deps:
            holders[deps[0]].setdefault("settings", []).append(e["type"].split(":")[-1])
        else:
            left.append(e)
