"""The golden-AMI factory in the image-factory account (one provider, whatever the image count).

Per region an AMI key the organization may use; in the home region the build VPC, the log
bucket, the topics, the roles, the scan gate, and one GoldenImagePipeline per configured image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.config import ImageFactory as ImageFactoryConfig
from blueprint.iam import deny_insecure_transport, policy_json, service_trust
from blueprint.images import documents, naming
from components.image_factory_gate import AmiGate, AmiGateArgs, gate_log_group
from components.image_factory_image import GoldenImagePipeline, GoldenImagePipelineArgs
from components.image_factory_network import BuildNetwork, BuildNetworkArgs
from components.kms import customer_key
from components.retention import org_data
from components.secure_bucket import SecureBucket, SecureBucketArgs


@dataclass
class ImageFactoryArgs:
    config: ImageFactoryConfig
    org_name: str
    org_id: pulumi.Input[str]
    org_arn: pulumi.Input[str]
    factory_account_id: pulumi.Input[str]
    home_region: str
    alert_emails: list[str]
    log_retention_days: int
    provider: aws.Provider
    tags: dict[str, str] = field(default_factory=dict)


def _topic(name: str, topic_name: str, region: str, key: Any, publishers: list[dict], opts: pulumi.ResourceOptions) -> aws.sns.Topic:
    topic = aws.sns.Topic(name, name=topic_name, region=region, kms_master_key_id=key, opts=org_data(opts))
    aws.sns.TopicPolicy(f"{name}-policy", arn=topic.arn, region=region, opts=opts,
                        policy=policy_json(*[{**p, "Resource": topic.arn} for p in publishers],
                                           deny_insecure_transport(topic.arn, action="sns:Publish")))
    return topic


class ImageFactory(pulumi.ComponentResource):
    def __init__(self, name: str, args: ImageFactoryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:image_factory:ImageFactory", name, None, opts)
        cfg, home, acct, tags = args.config, args.home_region, args.factory_account_id, args.tags
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        c = pulumi.Output.concat
        regions = sorted({r for i in cfg.images for r in i.regions} | {home})
        flow_logs = {"Sid": "FlowLogsEncrypt", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
                     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*",
                     "Condition": {"StringEquals": {"aws:SourceAccount": acct}}}
        # CloudWatch Logs encrypts the gate's log group under the home key, for that log group only.
        gate_logs = {"Sid": "LogsEncryptGateLogs", "Effect": "Allow", "Principal": {"Service": f"logs.{home}.amazonaws.com"},
                     "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"], "Resource": "*",
                     "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": c("arn:aws:logs:", home, ":", acct, ":log-group:", gate_log_group())}}}
        self.keys = {
            r: customer_key(f"{name}-key-{r}", region=r, description=f"Golden AMI snapshots ({r}), usable by the organization",
                            admin_account=acct, statements=[*documents.key_statements(args.org_id, acct), flow_logs, *([gate_logs] if r == home else [])],
                            tags=tags, opts=child)
            for r in regions
        }
        key_arns: dict[str, pulumi.Input[str]] = {r: k.arn for r, k in self.keys.items()}
        self.logs = SecureBucket(
            f"{name}-logs",
            SecureBucketArgs(
                bucket=c(args.org_name, "-image-factory-logs-", acct), region=home, kms_key_arn=key_arns[home],
                expire_days=365, protect=True, tags=tags,
                policy_statements=[{"Sid": "FlowLogsDeliver", "Effect": "Allow", "Principal": {"Service": "delivery.logs.amazonaws.com"},
                                    "Action": "s3:PutObject", "Resource": c("arn:aws:s3:::", args.org_name, "-image-factory-logs-", acct, "/vpc-flow-logs/*"),
                                    "Condition": {"StringEquals": {"aws:SourceAccount": acct, "s3:x-amz-acl": "bucket-owner-full-control"}}}],
            ),
            child,
        )
        self.network = BuildNetwork(f"{name}-network", BuildNetworkArgs(cidr=cfg.network_cidr, region=home, flow_log_bucket_arn=self.logs.arn, tags=tags), child)

        same_account = {"StringEquals": {"aws:SourceAccount": acct}}
        self.workflow_role = aws.iam.Role(f"{name}-workflow-role", name=naming.WORKFLOW_ROLE, description="Image Builder workflows (test, scan gate)",
                                          assume_role_policy=service_trust("imagebuilder.amazonaws.com", same_account), tags=tags, opts=child)
        self.gate_topic = _topic(f"{name}-gate-topic", naming.GATE_TOPIC, home, key_arns[home], [
            {"Sid": "WorkflowPublishes", "Effect": "Allow", "Principal": {"AWS": self.workflow_role.arn}, "Action": "sns:Publish"}], child)
        self.build_topic = _topic(f"{name}-build-topic", naming.BUILD_TOPIC, home, key_arns[home], [], child)
        self.alert_topic = _topic(f"{name}-alert-topic", naming.ALERT_TOPIC, home, key_arns[home], [], child)
        for i, email in enumerate(args.alert_emails):
            aws.sns.TopicSubscription(f"{name}-alert-email-{i}", topic=self.alert_topic.arn, region=home, protocol="email", endpoint=email, opts=child)

        # Build instances: Systems Manager and Image Builder's documented minimum, plus their own log prefix.
        self.build_role = aws.iam.Role(f"{name}-build-role", name=naming.BUILD_ROLE, description="Image Builder build and test instances",
                                       assume_role_policy=service_trust("ec2.amazonaws.com"), tags=tags, opts=child)
        for n, policy in (("ssm", "AmazonSSMManagedInstanceCore"), ("imagebuilder", "EC2InstanceProfileForImageBuilder")):
            aws.iam.RolePolicyAttachment(f"{name}-build-{n}", role=self.build_role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}", opts=child)
        aws.iam.RolePolicy(f"{name}-build-logs", role=self.build_role.name, opts=child, policy=policy_json(
            {"Sid": "WriteBuildLogs", "Effect": "Allow", "Action": "s3:PutObject", "Resource": c(self.logs.arn, "/image-builder/*")},
            {"Sid": "LogKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key_arns[home]}))
        self.instance_profile = aws.iam.InstanceProfile(f"{name}-build-profile", name=naming.BUILD_ROLE, role=self.build_role.name, tags=tags, opts=child)
        aws.iam.RolePolicy(f"{name}-workflow-policy", role=self.workflow_role.name, opts=child, policy=policy_json(
            {"Sid": "PublishToGate", "Effect": "Allow", "Action": "sns:Publish", "Resource": self.gate_topic.arn},
            {"Sid": "GateTopicKey", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"], "Resource": key_arns[home]},
            # Test instances are launched and run with the build profile.
            {"Sid": "PassBuildRole", "Effect": "Allow", "Action": "iam:PassRole", "Resource": self.build_role.arn,
             "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}))
        self.lifecycle_role = aws.iam.Role(f"{name}-lifecycle-role", name=naming.LIFECYCLE_ROLE, description="Image Builder lifecycle: deprecate and delete old golden AMIs",
                                           assume_role_policy=service_trust("imagebuilder.amazonaws.com", same_account), tags=tags, opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-lifecycle-policy", role=self.lifecycle_role.name,
                                     policy_arn="arn:aws:iam::aws:policy/service-role/EC2ImageBuilderLifecycleExecutionPolicy", opts=child)

        # The approval records are shared with the organization; the gate adds each parameter.
        self.share = aws.ram.ResourceShare(f"{name}-share", name=naming.SHARE_NAME, region=home, allow_external_principals=False, tags=tags, opts=child)
        aws.ram.PrincipalAssociation(f"{name}-share-org", principal=args.org_arn, region=home, resource_share_arn=self.share.arn, opts=child)
        self.gate = AmiGate(f"{name}-gate", AmiGateArgs(
            images=list(cfg.images), region=home, factory_account_id=acct, key_arns=list(key_arns.values()),
            gate_topic_arn=self.gate_topic.arn, alert_topic_arn=self.alert_topic.arn, share_arn=self.share.arn,
            log_retention_days=args.log_retention_days, log_key_arn=key_arns[home], tags=tags), child)
        self.images = {
            img.name: GoldenImagePipeline(f"{name}-{img.name}", GoldenImagePipelineArgs(
                image=img, home_region=home, org_arn=args.org_arn, key_arns=key_arns, instance_profile=self.instance_profile.name,
                subnet_id=self.network.subnet.id, security_group_id=self.network.security_group.id, build_topic_arn=self.build_topic.arn,
                gate_topic_arn=self.gate_topic.arn, log_bucket=self.logs.name, workflow_role_arn=self.workflow_role.arn,
                lifecycle_role_arn=self.lifecycle_role.arn, tags=tags), child)
            for img in cfg.images
        }
        self.key_arns = key_arns
        self.register_outputs({"keys": key_arns, "gate": self.gate.arn, "pipelines": {n: p.pipeline.arn for n, p in self.images.items()}})
