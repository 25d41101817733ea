"""The scan gate: one Lambda in the image-factory account that decides every golden image.

It answers each build's WaitForAction step (RESUME only with a completed scan below the
image's threshold), records approved AMIs in /golden-ami/<image>/approved (shared with the
organization through RAM), and revokes an approved AMI when Inspector later finds it
vulnerable. Its role is the only one the protect-golden-ami guardrail lets write /golden-ami/*
or change the factory's AMI launch permissions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from blueprint.config import GoldenImage
from blueprint.iam import policy_json, service_trust
from blueprint.images import naming
from components.retention import org_data

REPO = Path(__file__).resolve().parents[1]
GATE_SOURCE = REPO / "functions" / "ami_gate"
GATE_TIMEOUT = 300


def gate_log_group() -> str:
    return f"/aws/lambda/{naming.GATE_NAME}"


def gate_code() -> pulumi.AssetArchive:
    files = sorted(p for p in GATE_SOURCE.glob("*.py"))
    return pulumi.AssetArchive({p.name: pulumi.FileAsset(str(p)) for p in files})


def gate_settings(images: list[GoldenImage], home: str) -> str:
    """The gate's per-image settings (threshold, regions), as its IMAGES environment variable."""
    return json.dumps({i.name: {"threshold": i.severity_threshold, "regions": list(i.regions or [home])} for i in images}, sort_keys=True)


def _stmt(sid: str, actions: list[str], resources: object, condition: dict | None = None) -> dict:
    s = {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}
    if condition:
        s["Condition"] = condition
    return s


@dataclass
class AmiGateArgs:
    images: list[GoldenImage]
    region: str
    factory_account_id: pulumi.Input[str]
    key_arns: list[pulumi.Input[str]]  # the AMI keys (the topics are encrypted under the home one)
    gate_topic_arn: pulumi.Input[str]
    alert_topic_arn: pulumi.Input[str]
    share_arn: pulumi.Input[str]
    log_retention_days: int
    log_key_arn: pulumi.Input[str]  # the home AMI key, whose policy lets CloudWatch Logs use it for this log group
    tags: dict[str, str] = field(default_factory=dict)


class AmiGate(pulumi.ComponentResource):
    def __init__(self, name: str, args: AmiGateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:image_factory_gate:AmiGate", name, None, opts)
        region, acct, tags = args.region, args.factory_account_id, args.tags
        child = pulumi.ResourceOptions(parent=self)
        fn = naming.GATE_NAME
        log_group = gate_log_group()
        self.role = aws.iam.Role(
            f"{name}-role", name=fn, description="Golden-AMI scan gate",
            assume_role_policy=service_trust("lambda.amazonaws.com", {"StringEquals": {"aws:SourceAccount": acct}}),
            max_session_duration=3600, tags=tags, opts=child,
        )
        c = pulumi.Output.concat
        images = c("arn:aws:imagebuilder:*:", acct, ":image/*")
        params = c("arn:aws:ssm:*:", acct, ":parameter", naming.PARAMETER_ROOT, "/*")
        self.log_group = aws.cloudwatch.LogGroup(f"{name}-logs", name=log_group, region=region, retention_in_days=args.log_retention_days,
                                                 kms_key_id=args.log_key_arn, tags=tags, opts=org_data(child))
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.name,
            policy=policy_json(
                _stmt("DecideBuilds", ["imagebuilder:GetImage", "imagebuilder:SendWorkflowStepAction"], images),
                # ListImageScanFindings, DescribeImages, Inspector ListFindings and
                # GetCallerIdentity have no resource-level permissions.
                _stmt("ReadFindings", ["imagebuilder:ListImageScanFindings", "inspector2:ListFindings", "ec2:DescribeImages",
                                       "sts:GetCallerIdentity"], "*"),
                # Only the factory's own AMIs.
                _stmt("RevokeAmis", ["ec2:EnableImageDeprecation", "ec2:CreateTags"], "arn:aws:ec2:*::image/*",
                      {"StringEquals": {"ec2:Owner": acct}}),
                _stmt("ApprovalRecord", ["ssm:GetParameter", "ssm:GetParameterHistory", "ssm:PutParameter", "ssm:AddTagsToResource"], params),
                _stmt("ShareApprovalRecord", ["ram:AssociateResourceShare"], args.share_arn),
                _stmt("Alert", ["sns:Publish"], args.alert_topic_arn),
                _stmt("EncryptedTopics", ["kms:Decrypt", "kms:GenerateDataKey"], args.key_arns),
                _stmt("ImportFindings", ["securityhub:BatchImportFindings"],
                      c("arn:aws:securityhub:", region, ":", acct, ":product/", acct, "/default")),
                _stmt("WriteLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], c("arn:aws:logs:", region, ":", acct, ":log-group:", log_group, ":*")),
            ),
            opts=child,
        )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=fn,
            region=region,
            description="Golden-AMI scan gate: RESUME/STOP builds, approve, revoke",
            runtime="python3.12",
            handler="handler.handler",
            code=gate_code(),
            role=self.role.arn,
            timeout=GATE_TIMEOUT,
            memory_size=256,
            # Decisions about one image must not race each other.
            reserved_concurrent_executions=1,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables={
                "IMAGES": gate_settings(args.images, region),
                "ALERT_TOPIC_ARN": args.alert_topic_arn,
                "SHARE_ARN": args.share_arn,
                "PARAMETER_ROOT": naming.PARAMETER_ROOT,
            }),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=self.log_group.name),
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, self.log_group]),
        )
        # WaitForAction publishes to the gate topic; SNS invokes the gate.
        aws.lambda_.Permission(f"{name}-from-sns", function=self.function.name, region=region, action="lambda:InvokeFunction",
                               principal="sns.amazonaws.com", source_arn=args.gate_topic_arn, source_account=acct, opts=child)
        aws.sns.TopicSubscription(f"{name}-subscription", topic=args.gate_topic_arn, region=region, protocol="lambda",
                                  endpoint=self.function.arn, opts=child)
        events = {
            "image-available": ("Record a golden image that became AVAILABLE",
                                {"source": ["aws.imagebuilder"], "detail-type": ["EC2 Image Builder Image State Change"],
                                 "detail": {"state": {"status": ["AVAILABLE"]}}}),
            "inspector-finding": ("Re-gate approved AMIs on new Inspector findings",
                                  {"source": ["aws.inspector2"], "detail-type": ["Inspector2 Finding"],
                                   "detail": {"status": ["ACTIVE"], "severity": ["HIGH", "CRITICAL", "MEDIUM", "LOW"]}}),
        }
        for key, (description, pattern) in events.items():
            rule = aws.cloudwatch.EventRule(f"{name}-{key}", name=f"{fn}-{key}", region=region, description=description,
                                            event_pattern=json.dumps(pattern, sort_keys=True), tags=tags, opts=child)
            aws.cloudwatch.EventTarget(f"{name}-{key}-target", rule=rule.name, region=region, arn=self.function.arn,
                                       retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(maximum_retry_attempts=4, maximum_event_age_in_seconds=3600),
                                       opts=child)
            aws.lambda_.Permission(f"{name}-{key}-invoke", function=self.function.name, region=region, action="lambda:InvokeFunction",
                                   principal="events.amazonaws.com", source_arn=rule.arn, source_account=acct, opts=child)
        self.arn = self.function.arn
        self.register_outputs({"function": self.function.arn})
