"""Weakened data protections are critical in the diff, not "settings changed".

Synthetic before/after plans (one resource each, shaped as the plan records them), so every
rule is checked in milliseconds; one test edits the real prod plan's object-lock resource.
"""

from __future__ import annotations

import copy

import pytest

from blueprint.offline import diff as D
from blueprint.offline import diff_weakening as W
from tests.conftest import plan_of
from tests.diff_plans import res
from tests.diff_plans import synthetic as plan

LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEY = "aws:kms/key:Key"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
TRAIL = "aws:cloudtrail/trail:Trail"
TOPIC = "aws:sns/topic:Topic"
BUCKET = "aws:s3/bucket:Bucket"
PIPELINE = "aws:codepipeline/pipeline:Pipeline"
ECR = "aws:ecr/repository:Repository"


def critical_texts(before: dict, after: dict) -> list[str]:
    """The critical notes the diff gives the one changed resource."""
    d = D.diff_plans(plan(before), plan(after))
    return [n["text"] for i in d["security"] for n in i["notes"] if n["severity"] == "critical"]


def lock(mode: str, days: int | None = None, years: int | None = None) -> dict:
    dr = {"mode": mode} | ({"days": float(days)} if days else {}) | ({"years": float(years)} if years else {})
    return {"bucket": "logs", "rule": {"defaultRetention": dr}}


def lifecycle(days: float | None, status: str = "Enabled", rule_id: str = "retention") -> dict:
    rule = {"id": rule_id, "status": status, "filter": {"prefix": ""}, "noncurrentVersionExpiration": {"noncurrentDays": 90.0}}
    return {"bucket": "logs", "rules": [rule | ({"expiration": {"days": days}} if days else {})]}


WEAKER = [
    # (type, before, after, expected words in a critical note)
    (LOCK, lock("COMPLIANCE", 365), lock("GOVERNANCE", 365), "object lock mode weakened: `rule.defaultRetention.mode` COMPLIANCE -> GOVERNANCE"),
    (LOCK, lock("COMPLIANCE", 365), lock("COMPLIANCE", 30), "object lock retention shortened: 365 -> 30 days"),
    (LOCK, lock("COMPLIANCE", years=1), lock("COMPLIANCE", 300), "object lock retention shortened: 365 -> 300 days"),
    (LOCK, lock("COMPLIANCE", 365), {"bucket": "logs"}, "(default retention removed)"),
    (LIFECYCLE, lifecycle(2555.0), lifecycle(400.0), "object expiration shortened: `rules[].expiration.days` 2555 -> 400"),
    (LIFECYCLE, lifecycle(None), lifecycle(30.0), "object expiration shortened: `rules[].expiration.days` never expires -> 30"),
    (LIFECYCLE, lifecycle(2555.0, "Disabled"), lifecycle(2555.0), "never expires -> 2555"),
    (LOG_GROUP, {"name": "/x", "retentionInDays": 365.0}, {"name": "/x", "retentionInDays": 30.0}, "log retention shortened: `retentionInDays` 365 -> 30"),
    (LOG_GROUP, {"name": "/x"}, {"name": "/x", "retentionInDays": 3653.0}, "log retention shortened: `retentionInDays` never expires -> 3653"),
    (LOG_GROUP, {"name": "/x", "kmsKeyId": "arn:k"}, {"name": "/x"}, "encryption downgraded: customer-managed key removed (`kmsKeyId`)"),
    (KEY, {"deletionWindowInDays": 30.0}, {"deletionWindowInDays": 7.0}, "key deletion window shortened: `deletionWindowInDays` 30 -> 7"),
    (KEY, {}, {"deletionWindowInDays": 7.0}, "30 -> 7"),
    (KEY, {"enableKeyRotation": True}, {"enableKeyRotation": False}, "turned off: key rotation"),
    (VERSIONING, {"bucket": "b", "versioningConfiguration": {"status": "Enabled"}},
     {"bucket": "b", "versioningConfiguration": {"status": "Suspended"}}, "versioning turned off: `versioningConfiguration.status` Enabled -> Suspended"),
    (VERSIONING, {"bucket": "b", "versioningConfiguration": {"status": "Enabled", "mfaDelete": "Enabled"}},
     {"bucket": "b", "versioningConfiguration": {"status": "Enabled", "mfaDelete": "Disabled"}}, "MFA delete turned off"),
    (SSE, {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "arn:k"}}]},
     {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}, "encryption downgraded: `rules[].applyServerSideEncryptionByDefault.sseAlgorithm` aws:kms -> AES256"),
    (SSE, {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "arn:k"}}]},
     {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]}, "customer-managed key removed"),
    (SSE, {"bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]}, {"bucket": "b", "rules": []}, "AES256 -> unset"),
    (TRAIL, {"name": "t", "enableLogging": True}, {"name": "t", "enableLogging": False}, "turned off: CloudTrail logging (`enableLogging` true -> false)"),
    (TRAIL, {"name": "t", "kmsKeyId": "arn:k"}, {"name": "t"}, "customer-managed key removed (`kmsKeyId`)"),
    (TOPIC, {"name": "t", "kmsMasterKeyId": "arn:k"}, {"name": "t"}, "customer-managed key removed (`kmsMasterKeyId`)"),
    (PIPELINE, {"name": "p", "artifactStores": [{"type": "S3", "encryptionKey": {"type": "KMS", "id": "arn:k"}}]},
     {"name": "p", "artifactStores": [{"type": "S3"}]}, "customer-managed key removed (`artifactStores[0].encryptionKey`)"),
    (ECR, {"name": "r", "encryptionConfigurations": [{"encryptionType": "KMS"}]}, {"name": "r"}, "encryption downgraded"),
    (BUCKET, {"bucket": "b", "forceDestroy": False}, {"bucket": "b", "forceDestroy": True}, "`forceDestroy` set"),
    ("aws:cloudwatch/eventRule:EventRule", {"name": "alert", "state": "ENABLED"}, {"name": "alert", "state": "DISABLED"}, "event rule turned off: `state` ENABLED -> DISABLED"),
    # The break-glass alert back on ENABLED no longer receives sts:AssumeRole (a read-only event).
    ("aws:cloudwatch/eventRule:EventRule", {"name": "alert", "state": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"},
     {"name": "alert", "state": "ENABLED"}, "`state` ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS -> ENABLED"),
]


@pytest.mark.parametrize("type_, before, after, words", WEAKER, ids=[w[3][:48] for w in WEAKER])
def test_each_weakening_is_critical(type_, before, after, words):
    texts = critical_texts(res(type_, before), res(type_, after))
    assert any(words in t for t in texts), texts


@pytest.mark.parametrize("type_, before, after, words", WEAKER, ids=[w[3][:48] for w in WEAKER])
def test_the_reverse_change_weakens_nothing(type_, before, after, words):
    """Longer retention, a stronger mode, encryption or versioning turned on: never a weakening."""
    assert W.weakenings(res(type_, after), res(type_, before)) == []


def test_protect_and_retain_dropped_are_critical():
    before = res(BUCKET, {"bucket": "b"}, protect=True, retain_on_delete=True)
    after = res(BUCKET, {"bucket": "b"})
    texts = critical_texts(before, after)
    assert any("protection removed (`protect` true -> false)" in t for t in texts)
    assert any("`retain_on_delete` dropped" in t for t in texts)


def test_a_renamed_lifecycle_rule_with_the_same_expiration_is_not_shorter():
    assert W.weakenings(res(LIFECYCLE, lifecycle(2555.0, rule_id="a")), res(LIFECYCLE, lifecycle(2555.0, rule_id="b"))) == []


def test_a_tags_only_change_weakens_nothing():
    before = res(LOG_GROUP, {"name": "/x", "retentionInDays": 365.0, "tags": {"a": "1"}})
    after = res(LOG_GROUP, {"name": "/x", "retentionInDays": 365.0, "tags": {"a": "2"}})
    assert W.weakenings(before, after) == [] and critical_texts(before, after) == []


def test_log_archive_lock_weakened_in_the_real_plan_is_critical_not_settings_changed():
    """The log archive's object lock, COMPLIANCE 365 days -> GOVERNANCE 30, as the real plan records it."""
    _, base = plan_of("prod")
    head = copy.deepcopy(base)
    (lock_res,) = [r for r in head["resources"] if r["type"] == LOCK]
    assert lock_res["inputs"]["rule"]["defaultRetention"] == {"mode": "COMPLIANCE", "days": 365.0}
    lock_res["inputs"]["rule"]["defaultRetention"] = {"mode": "GOVERNANCE", "days": 30.0}
    d = D.diff_plans(base, head)

    (item,) = d["security"]
    assert item["severity"] == "critical" and item["category"] == "protection"
    texts = [n["text"] for n in item["notes"] if n["severity"] == "critical"]
    assert texts == ["object lock retention shortened: 365 -> 30 days",
                     "object lock mode weakened: `rule.defaultRetention.mode` COMPLIANCE -> GOVERNANCE"]
    md = D.markdown(d, head)
    assert "**critical** (protection): object lock mode weakened: `rule.defaultRetention.mode` COMPLIANCE -> GOVERNANCE" in md
    assert "settings changed" not in D.summary_text(d, head)
