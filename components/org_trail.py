"""The organization CloudTrail: every account, every region, signed digests, KMS, CloudWatch Logs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from blueprint.config import LogArchive as LogArchiveSettings
from blueprint.iam import policy_json, service_trust
from components.kms import customer_key


def trail_arn(region: str, management_account_id: pulumi.Input[str], trail_name: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:aws:cloudtrail:", region, ":", management_account_id, ":trail/", trail_name)


@dataclass
class OrganizationTrailArgs:
    trail_name: str
    region: str
    management_account_id: pulumi.Input[str]
    bucket_name: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    settings: LogArchiveSettings
    tags: dict[str, str] = field(default_factory=dict)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class OrganizationTrail(pulumi.ComponentResource):
    """Created in the management account (org trails live there), delivering to the log archive."""

    def __init__(self, name: str, args: OrganizationTrailArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:orgtrail:OrganizationTrail", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        keep = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        arn = trail_arn(args.region, args.management_account_id, args.trail_name)
        log_group_name = f"/secure-org/{args.trail_name}"
        log_group_arn = pulumi.Output.concat("arn:aws:logs:", args.region, ":", args.management_account_id, ":log-group:", log_group_name)

        self.logs_key = customer_key(
            f"{name}-logs-key",
            region=args.region,
            description="Organization trail events in CloudWatch Logs",
            admin_account=args.management_account_id,
            statements=[
                {
                    "Sid": "CloudWatchLogsUsesKeyForTrailGroup",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{args.region}.amazonaws.com"},
                    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    "Resource": "*",
                    "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}},
                },
            ],
            tags=args.tags,
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-log-group",
            name=log_group_name,
            region=args.region,
            retention_in_days=args.settings.cloudwatch_retention_days,
            kms_key_id=self.logs_key.arn,
            tags=args.tags,
            opts=keep,
        )
        self.role = aws.iam.Role(
            f"{name}-cloudwatch-role",
            name=f"{args.trail_name}-cloudwatch",
            assume_role_policy=service_trust("cloudtrail.amazonaws.com", {"StringEquals": {"aws:SourceArn": arn}}),
            tags=args.tags,
            opts=child,
        )
        role_policy = aws.iam.RolePolicy(
            f"{name}-cloudwatch-policy",
            role=self.role.id,
            policy=policy_json(
                {
                    "Sid": "DeliverTrailEvents",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": pulumi.Output.concat(log_group_arn, ":log-stream:*"),
                }
            ),
            opts=child,
        )
        self.trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=args.trail_name,
            region=args.region,
            is_organization_trail=True,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            s3_bucket_name=args.bucket_name,
            kms_key_id=args.kms_key_arn,
            cloud_watch_logs_group_arn=pulumi.Output.concat(self.log_group.arn, ":*"),
            cloud_watch_logs_role_arn=self.role.arn,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True, depends_on=[role_policy, *args.depends_on]),
        )
        self.arn = self.trail.arn
        self.register_outputs({"arn": self.arn, "log_group": self.log_group.name})
