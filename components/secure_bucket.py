"""An S3 bucket that is private, versioned, encrypted and TLS-only by construction.

Every bucket is retained, and so are its settings: a bucket that leaves the program (a team
or its pipeline removed from config) stays behind with its data, still private, encrypted,
versioned and TLS-only. ``protect`` is for organization-level buckets only (components/retention.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.iam import deny_insecure_transport, policy_json


@dataclass
class SecureBucketArgs:
    bucket: pulumi.Input[str]
    region: str
    # Customer key for SSE-KMS. None means SSE-S3, which AWS requires of a bucket that
    # receives S3 server access logs; nothing else should use it.
    kms_key_arn: pulumi.Input[str] | None
    # Deny any upload not encrypted with exactly this key (header required).
    require_key_on_upload: bool = False
    policy_statements: list[Any] = field(default_factory=list)
    noncurrent_days: int = 90
    expire_days: int | None = None
    glacier_days: int | None = None
    object_lock: tuple[str, int] | None = None  # (mode, days)
    access_log_bucket: pulumi.Input[str] | None = None
    protect: bool = False  # organization-level data: also protected (a team's bucket is retained only)
    tags: dict[str, str] = field(default_factory=dict)


class SecureBucket(pulumi.ComponentResource):
    def __init__(self, name: str, args: SecureBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:storage:SecureBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        keep = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=True)
        region = args.region
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=args.bucket,
            region=region,
            object_lock_enabled=bool(args.object_lock),
            force_destroy=False,
            tags=args.tags,
            opts=keep,
        )
        b = self.bucket.id
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=b,
            region=region,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        pab = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=b,
            region=region,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=b,
            region=region,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        sse = (
            aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=args.kms_key_arn
            )
            if args.kms_key_arn is not None
            else aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(sse_algorithm="AES256")
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=b,
            region=region,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(apply_server_side_encryption_by_default=sse, bucket_key_enabled=args.kms_key_arn is not None)],
            opts=child,
        )
        if args.object_lock:
            mode, days = args.object_lock
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=b,
                region=region,
                rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                    default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(mode=mode, days=days)
                ),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[versioning])),
            )
        transitions = (
            [aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=args.glacier_days, storage_class="GLACIER")]
            if args.glacier_days
            else None
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=b,
            region=region,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="retention",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    transitions=transitions,
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.expire_days) if args.expire_days else None,
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(noncurrent_days=args.noncurrent_days),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(days_after_initiation=7),
                )
            ],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[versioning])),
        )
        if args.access_log_bucket is not None:
            aws.s3.BucketLogging(
                f"{name}-logging",
                bucket=b,
                region=region,
                target_bucket=args.access_log_bucket,
                target_prefix=pulumi.Output.concat(b, "/"),
                opts=child,
            )
        statements: list[Any] = [deny_insecure_transport(self.bucket.arn, pulumi.Output.concat(self.bucket.arn, "/*"))]
        if args.require_key_on_upload and args.kms_key_arn is not None:
            objects = pulumi.Output.concat(self.bucket.arn, "/*")
            statements += [
                {
                    "Sid": "DenyUnencryptedUploads",
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": "s3:PutObject",
                    "Resource": objects,
                    "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
                },
                {
                    "Sid": "DenyUploadsUnderOtherKeys",
                    "Effect": "Deny",
                    "Principal": {"AWS": "*"},
                    "Action": "s3:PutObject",
                    "Resource": objects,
                    "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": args.kms_key_arn}},
                },
            ]
        statements += args.policy_statements
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=b,
            region=region,
            policy=policy_json(*statements),
            # A public-access block must exist first or a broad statement could slip in.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[pab])),
        )
        self.arn = self.bucket.arn
        self.name = self.bucket.id
        self.register_outputs({"arn": self.arn, "name": self.name})
