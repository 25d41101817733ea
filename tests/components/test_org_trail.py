"""components/org_trail.py and components/log_archive.py: the org trail and where its logs live."""

from __future__ import annotations

import json

from blueprint.config import load_file
from tests.conftest import REPO, account_name_of, one, resources_of, shared_account_name


def test_org_trail_is_multi_region_validated_encrypted_and_kept(plan):
    (trail,) = resources_of(plan, "aws:cloudtrail/trail:Trail")
    i = trail["inputs"]
    assert i["isOrganizationTrail"] and i["isMultiRegionTrail"] and i["enableLogFileValidation"] and i["includeGlobalServiceEvents"]
    key = one(resources_of(plan, "aws:kms/key:Key"), name="org-baseline-log-archive-key")
    assert i["kmsKeyId"] == key["id"] or i["kmsKeyId"].endswith(key["id"])
    assert i["cloudWatchLogsGroupArn"].endswith(":*") and ":log-group:/secure-org/" in i["cloudWatchLogsGroupArn"]
    assert trail["protect"] and trail["retain_on_delete"]
    assert account_name_of(plan, trail) == "management"
    policy = one(resources_of(plan, "aws:s3/bucketPolicy:BucketPolicy"), name="org-baseline-log-archive-logs-policy")
    assert policy["urn"] in trail["dependencies"], "bucket policy before the trail, or creation fails"


def test_trail_keys_rotate_and_are_kept(plan):
    for key in resources_of(plan, "aws:kms/key:Key"):
        assert key["inputs"]["enableKeyRotation"] is True, key["name"]
        # Every key is kept; a team's key is not protected, so removing the team's pipeline can complete.
        team_key = "team" in (key["inputs"].get("tags") or {})
        assert key["retain_on_delete"] and key["protect"] is not team_key, key["name"]
        assert key["inputs"]["deletionWindowInDays"] == 30


def test_log_archive_key_policy_is_least_privilege(plan):
    key = one(resources_of(plan, "aws:kms/key:Key"), name="org-baseline-log-archive-key")
    doc = json.loads(key["inputs"]["policy"])
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    ct = by_sid["CloudTrailEncryptsOrgTrail"]
    assert ct["Principal"] == {"Service": "cloudtrail.amazonaws.com"} and ct["Action"] == "kms:GenerateDataKey*"
    assert ct["Condition"]["StringEquals"]["aws:SourceArn"].endswith(":trail/" + load_file(REPO / f"Pulumi.{plan['stack']}.yaml").organization.name + "-org-trail")
    cfg = by_sid["ConfigDeliversFromTheOrganization"]
    assert cfg["Condition"]["StringEquals"]["aws:SourceOrgID"].startswith("o-")
    for s in doc["Statement"]:
        assert s["Principal"] != "*" and s["Principal"] != {"AWS": "*"}, "no wildcard key-policy principals"


def test_log_bucket_is_locked_versioned_tls_only_private_logged_with_lifecycle(plan):
    stack = plan["stack"]
    settings = load_file(REPO / f"Pulumi.{stack}.yaml").security_baseline.log_archive
    res = {r["name"]: r for r in plan["resources"]}
    bucket = res["org-baseline-log-archive-logs-bucket"]
    assert bucket["inputs"]["objectLockEnabled"] is True and bucket["protect"] and bucket["retain_on_delete"]
    assert account_name_of(plan, bucket) == shared_account_name(stack, "log_archive")
    lock = res["org-baseline-log-archive-logs-object-lock"]["inputs"]["rule"]["defaultRetention"]
    assert (lock["mode"], lock["days"]) == (settings.object_lock_mode, settings.object_lock_days)
    assert res["org-baseline-log-archive-logs-versioning"]["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    sse = res["org-baseline-log-archive-logs-encryption"]["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]
    assert sse["sseAlgorithm"] == "aws:kms" and sse["kmsMasterKeyId"].startswith("arn:aws:kms:")
    pab = res["org-baseline-log-archive-logs-public-access"]["inputs"]
    assert all(pab[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert res["org-baseline-log-archive-logs-logging"]["inputs"]["targetBucket"] == res["org-baseline-log-archive-access-logs-bucket"]["id"]
    rule = res["org-baseline-log-archive-logs-lifecycle"]["inputs"]["rules"][0]
    assert rule["expiration"]["days"] == settings.expire_days and rule["transitions"][0]["storageClass"] == "GLACIER"
    policy = json.loads(res["org-baseline-log-archive-logs-policy"]["inputs"]["policy"])
    tls = next(s for s in policy["Statement"] if s["Sid"] == "DenyInsecureTransport")
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for s in policy["Statement"]:
        if s["Effect"] == "Allow":
            assert "Service" in s["Principal"] and s.get("Condition"), f"{s['Sid']}: service principals, always conditioned"


def test_only_access_log_buckets_use_sse_s3(plan):
    sse_s3 = [r["name"] for r in resources_of(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
              if r["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] != "aws:kms"]
    assert "org-baseline-log-archive-access-logs-encryption" in sse_s3
    assert all(n.endswith("-access-logs-encryption") for n in sse_s3), "S3 access logs require SSE-S3; nothing else may use it"


def test_config_delivers_to_its_own_bucket_without_object_lock(plan):
    """AWS Config cannot deliver to an object-locked bucket."""
    res = {r["name"]: r for r in plan["resources"]}
    cfg_bucket = res["org-baseline-log-archive-config-bucket"]
    assert cfg_bucket["inputs"]["objectLockEnabled"] is False and cfg_bucket["protect"]
    (ss,) = [r for r in resources_of(plan, "aws:cloudformation/stackSet:StackSet") if r["inputs"]["name"] == "secure-org-account-baseline"]
    assert ss["inputs"]["parameters"]["ConfigBucketName"] == cfg_bucket["id"]
    trail_policy = json.loads(res["org-baseline-log-archive-logs-policy"]["inputs"]["policy"])
    assert not any("config.amazonaws.com" in json.dumps(s) for s in trail_policy["Statement"])
    config_policy = json.loads(res["org-baseline-log-archive-config-policy"]["inputs"]["policy"])
    deliver = next(s for s in config_policy["Statement"] if s["Sid"] == "ConfigDeliversSnapshots")
    assert deliver["Condition"]["StringEquals"]["aws:SourceOrgID"].startswith("o-")
