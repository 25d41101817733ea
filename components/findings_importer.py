"""The findings importer: the one Lambda that turns pipeline scan reports into Security Hub findings.

It lives in the tooling account with its own report bucket and rotating key; every team's
pipeline invokes it after each scan (CodePipeline job mode), and it fails the job at or
above the team's severity threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.iam import policy_json, service_trust
from blueprint.pipeline import naming
from components.pipeline import key_policy
from components.pipeline_roles import _stmt, arn
from components.kms import customer_key
from components.retention import org_data
from components.secure_bucket import SecureBucket, SecureBucketArgs

REPO = Path(__file__).resolve().parents[1]
IMPORTER_SOURCE = REPO / "functions" / "findings_importer"
# Security Hub's BatchImportFindings quota is account-wide (10 TPS); each invocation paces
# itself to it, so only a couple may run at once (see the handler's docstring).
IMPORTER_CONCURRENCY = 2
IMPORTER_TIMEOUT = 300


def importer_code() -> pulumi.AssetArchive:
    """The importer package as a flat bundle (handler.handler), source files only."""
    files = sorted(p for p in IMPORTER_SOURCE.glob("*.py"))
    return pulumi.AssetArchive({p.name: pulumi.FileAsset(str(p)) for p in files})


@dataclass
class FindingsImporterArgs:
    org_name: str
    region: str
    tooling_account_id: pulumi.Input[str]
    admin_role_arn: Any  # administers the report key
    report_expire_days: int
    log_retention_days: int
    access_log_bucket: pulumi.Input[str] | None = None
    tags: dict[str, str] = field(default_factory=dict)


class FindingsImporter(pulumi.ComponentResource):
    """The one findings-importer Lambda in the tooling account, its report bucket and key."""

    def __init__(self, name: str, args: FindingsImporterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:findings_importer:FindingsImporter", name, None, opts)
        region = args.region
        tooling = args.tooling_account_id
        tags = args.tags
        admin_role_arn = args.admin_role_arn
        access_log_bucket = args.access_log_bucket
        child = pulumi.ResourceOptions(parent=self)
        fn_name = naming.IMPORTER_NAME
        log_group_name = f"/aws/lambda/{fn_name}"
        log_group_arn = arn(region, tooling, "logs", f"log-group:{log_group_name}")
        self.role = aws.iam.Role(
            f"{name}-role",
            name=fn_name,
            description="Findings importer: pipeline scan reports to Security Hub",
            assume_role_policy=service_trust("lambda.amazonaws.com", {"StringEquals": {"aws:SourceAccount": tooling}}),
            max_session_duration=3600,
            tags=tags,
            opts=child,
        )
        self.key = customer_key(
            f"{name}-key",
            region=region,
            description="Findings importer: archived scan reports and logs",
            policy=key_policy(
                admin_role_arn,
                {"Sid": "ImporterUsesKey", "Effect": "Allow", "Principal": {"AWS": self.role.arn},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"},
                {"Sid": "LogsEncryptImporterLogs", "Effect": "Allow", "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                 "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"], "Resource": "*",
                 "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arn}}},
            ),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        bucket_name = pulumi.Output.concat(args.org_name, "-findings-", tooling)
        self.reports = SecureBucket(
            f"{name}-reports",
            SecureBucketArgs(bucket=bucket_name, region=region, kms_key_arn=self.key.arn, require_key_on_upload=True,
                             expire_days=args.report_expire_days, noncurrent_days=30,
                             access_log_bucket=access_log_bucket, protect=True, tags=tags),
            child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_name,
            region=region,
            kms_key_id=self.key.arn,
            retention_in_days=args.log_retention_days,
            tags=tags,
            opts=org_data(child),
        )
        bucket_arn = pulumi.Output.concat("arn:aws:s3:::", bucket_name)
        # Exactly what the handler's docstring lists, each on its own resource where IAM allows.
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.name,
            policy=policy_json(
                # Direct invocations may point at reports uploaded to incoming/; in CodePipeline
                # mode the report comes from the input artifact with the job's own credentials.
                _stmt("ReadSourceReports", ["s3:GetObject"], pulumi.Output.concat(bucket_arn, "/incoming/*")),
                _stmt("ArchiveReports", ["s3:PutObject"], pulumi.Output.concat(bucket_arn, "/reports/*")),
                _stmt("ReportKey", ["kms:Decrypt", "kms:GenerateDataKey"], self.key.arn),
                _stmt("ImportFindings", ["securityhub:BatchImportFindings"],
                      pulumi.Output.concat("arn:aws:securityhub:", region, ":", tooling, ":product/", tooling, "/default")),
                # No resource-level permissions for these three.
                _stmt("WhoAmI", ["sts:GetCallerIdentity"], "*"),
                _stmt("ReportJobResult", ["codepipeline:PutJobFailureResult", "codepipeline:PutJobSuccessResult"], "*"),
                _stmt("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], pulumi.Output.concat(log_group_arn, ":*")),
            ),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=fn_name,
            region=region,
            description="Imports pipeline scan reports (SARIF, pip-audit, OSV, Trivy, ZAP) into Security Hub and gates on severity",
            runtime="python3.12",
            handler="handler.handler",
            code=importer_code(),
            role=self.role.arn,
            timeout=IMPORTER_TIMEOUT,
            memory_size=512,
            reserved_concurrent_executions=IMPORTER_CONCURRENCY,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={"REPORT_BUCKET": self.reports.name, "REPORT_KMS_KEY_ARN": self.key.arn, "DEFAULT_SEVERITY_THRESHOLD": "HIGH"}
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=self.log_group.name),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.log_group]),
        )
        # CodePipeline invokes asynchronously; a retry would import the same report twice.
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async",
            function_name=self.function.name,
            region=region,
            maximum_retry_attempts=0,
            maximum_event_age_in_seconds=3600,
            opts=child,
        )
        self.arn = self.function.arn
        self.register_outputs({"function": self.function.arn, "report_bucket": self.reports.name})
