"""The log archive: a customer KMS key and the log buckets in the log-archive account.

CloudTrail (org trail) delivers to an object-locked bucket; AWS Config (every account) to
its own bucket. The key and every bucket are protected and retained: no config edit can
destroy logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from blueprint.config import LogArchive as LogArchiveSettings
from components.kms import customer_key
from components.secure_bucket import SecureBucket, SecureBucketArgs


@dataclass
class LogArchiveArgs:
    org_name: str
    org_id: pulumi.Input[str]
    account_id: pulumi.Input[str]  # the log-archive account
    management_account_id: pulumi.Input[str]
    trail_arn: pulumi.Input[str]
    region: str
    settings: LogArchiveSettings
    provider: aws.Provider
    tags: dict[str, str] = field(default_factory=dict)


class LogArchive(pulumi.ComponentResource):
    def __init__(self, name: str, args: LogArchiveArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:logarchive:LogArchive", name, None, opts)
        in_account = pulumi.ResourceOptions(parent=self, provider=args.provider)
        s = args.settings

        self.key = customer_key(
            f"{name}-key",
            region=args.region,
            description=f"{args.org_name}: organization CloudTrail and AWS Config logs",
            admin_account=args.account_id,
            statements=[
                {
                    "Sid": "CloudTrailEncryptsOrgTrail",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "kms:GenerateDataKey*",
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"aws:SourceArn": args.trail_arn},
                        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": pulumi.Output.concat("arn:aws:cloudtrail:*:", args.management_account_id, ":trail/*")},
                    },
                },
                {
                    "Sid": "CloudTrailDescribesKey",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "kms:DescribeKey",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceArn": args.trail_arn}},
                },
                {
                    "Sid": "ConfigDeliversFromTheOrganization",
                    "Effect": "Allow",
                    "Principal": {"Service": "config.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceOrgID": args.org_id}},
                },
            ],
            tags=args.tags,
            opts=in_account,
        )
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{args.org_name}-log-archive", target_key_id=self.key.key_id, region=args.region, opts=in_account)

        # S3 server access logs can only land in an SSE-S3 bucket (an AWS rule).
        self.access_logs = SecureBucket(
            f"{name}-access-logs",
            SecureBucketArgs(
                bucket=pulumi.Output.concat(args.org_name, "-s3-access-logs-", args.account_id),
                region=args.region,
                kms_key_arn=None,
                policy_statements=[
                    {
                        "Sid": "S3ServerAccessLogs",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": pulumi.Output.concat("arn:aws:s3:::", args.org_name, "-s3-access-logs-", args.account_id, "/*"),
                        "Condition": {"StringEquals": {"aws:SourceAccount": args.account_id}},
                    }
                ],
                expire_days=s.expire_days,
                glacier_days=s.transition_to_glacier_days,
                protect=True,
                tags=args.tags,
            ),
            in_account,
        )
        bucket_name = pulumi.Output.concat(args.org_name, "-org-logs-", args.account_id)
        bucket_arn = pulumi.Output.concat("arn:aws:s3:::", bucket_name)
        self.logs = SecureBucket(
            f"{name}-logs",
            SecureBucketArgs(
                bucket=bucket_name,
                region=args.region,
                kms_key_arn=self.key.arn,
                object_lock=(s.object_lock_mode, s.object_lock_days),
                expire_days=s.expire_days,
                glacier_days=s.transition_to_glacier_days,
                noncurrent_days=s.object_lock_days + 1,
                access_log_bucket=self.access_logs.name,
                protect=True,
                tags=args.tags,
                policy_statements=[
                    {
                        "Sid": "CloudTrailChecksAcl",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:GetBucketAcl",
                        "Resource": bucket_arn,
                        "Condition": {"StringEquals": {"aws:SourceArn": args.trail_arn}},
                    },
                    {
                        "Sid": "CloudTrailWritesOrgTrail",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": [
                            pulumi.Output.concat(bucket_arn, "/AWSLogs/", args.management_account_id, "/*"),
                            pulumi.Output.concat(bucket_arn, "/AWSLogs/", args.org_id, "/*"),
                        ],
                        "Condition": {"StringEquals": {"aws:SourceArn": args.trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"}},
                    },
                ],
            ),
            in_account,
        )
        # AWS Config cannot deliver to an object-locked bucket (an AWS rule), so its
        # snapshots and history get their own bucket under the same key.
        config_name = pulumi.Output.concat(args.org_name, "-config-", args.account_id)
        config_arn = pulumi.Output.concat("arn:aws:s3:::", config_name)
        self.config = SecureBucket(
            f"{name}-config",
            SecureBucketArgs(
                bucket=config_name,
                region=args.region,
                kms_key_arn=self.key.arn,
                expire_days=s.expire_days,
                glacier_days=s.transition_to_glacier_days,
                access_log_bucket=self.access_logs.name,
                protect=True,
                tags=args.tags,
                policy_statements=[
                    {
                        "Sid": "ConfigChecksBucket",
                        "Effect": "Allow",
                        "Principal": {"Service": "config.amazonaws.com"},
                        "Action": ["s3:GetBucketAcl", "s3:ListBucket"],
                        "Resource": config_arn,
                        "Condition": {"StringEquals": {"aws:SourceOrgID": args.org_id}},
                    },
                    {
                        "Sid": "ConfigDeliversSnapshots",
                        "Effect": "Allow",
                        "Principal": {"Service": "config.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": pulumi.Output.concat(config_arn, "/AWSLogs/*/Config/*"),
                        "Condition": {"StringEquals": {"aws:SourceOrgID": args.org_id, "s3:x-amz-acl": "bucket-owner-full-control"}},
                    },
                ],
            ),
            in_account,
        )
        self.bucket_name = self.logs.name
        self.config_bucket_name = self.config.name
        self.key_arn = self.key.arn
        self.register_outputs({"bucket": self.bucket_name, "config_bucket": self.config_bucket_name, "key_arn": self.key_arn})
