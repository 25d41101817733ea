"""Critical-event alerts: EventBridge rules -> a KMS-encrypted SNS topic in the security account.

Every account, the management account included, forwards matching events from every
allowed region to the security account's alert bus; those forwarding rules come with the
per-account baseline (StackSet, plus a stack in the management account). Rules on the
alert bus publish to SNS with a readable message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from blueprint.baseline.events import patterns, rule_state
from blueprint.iam import deny_insecure_transport, policy_json
from components.kms import customer_key
from components.retention import org_data

ALERT_BUS = "secure-org-alerts"


@dataclass
class SecurityAlertsArgs:
    org_id: pulumi.Input[str]
    security_account_id: pulumi.Input[str]
    home_region: str
    emails: list[str]
    break_glass_roles: list[str]
    security_provider: aws.Provider
    tags: dict[str, str] = field(default_factory=dict)


def readable_message() -> aws.cloudwatch.EventTargetInputTransformerArgs:
    return aws.cloudwatch.EventTargetInputTransformerArgs(
        input_paths={
            "account": "$.account",
            "region": "$.region",
            "time": "$.time",
            "event": "$.detail.eventName",
            "actor": "$.detail.userIdentity.arn",
            "type": "$.detail-type",
        },
        input_template='"<type>: <event> by <actor> in account <account> (<region>) at <time>"',
    )


class SecurityAlerts(pulumi.ComponentResource):
    def __init__(self, name: str, args: SecurityAlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:alerts:SecurityAlerts", name, None, opts)
        sec = pulumi.ResourceOptions(parent=self, provider=args.security_provider)
        home = args.home_region
        events = patterns(args.break_glass_roles)

        self.key = customer_key(
            f"{name}-key",
            region=home,
            description="Security alerts topic",
            admin_account=args.security_account_id,
            statements=[
                {
                    # EventBridge must encrypt what it publishes to the encrypted topic.
                    "Sid": "EventBridgePublishesEncrypted",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": args.security_account_id}},
                },
            ],
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, provider=args.security_provider),
        )
        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name="secure-org-security-alerts",
            region=home,
            kms_master_key_id=self.key.arn,
            tags=args.tags,
            opts=org_data(sec),
        )
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=self.topic.arn,
            region=home,
            policy=policy_json(
                {
                    "Sid": "EventBridgePublishes",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": self.topic.arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": args.security_account_id}},
                },
                deny_insecure_transport(self.topic.arn, action="sns:Publish"),
            ),
            opts=sec,
        )
        for i, email in enumerate(args.emails):
            aws.sns.TopicSubscription(f"{name}-email-{i}", topic=self.topic.arn, region=home, protocol="email", endpoint=email, opts=sec)

        self.bus = aws.cloudwatch.EventBus(f"{name}-bus", name=ALERT_BUS, region=home, tags=args.tags, opts=sec)
        aws.cloudwatch.EventBusPolicy(
            f"{name}-bus-policy",
            event_bus_name=self.bus.name,
            region=home,
            policy=policy_json(
                {
                    "Sid": "OrganizationForwardsAlerts",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "events:PutEvents",
                    "Resource": self.bus.arn,
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": args.org_id}},
                }
            ),
            opts=sec,
        )
        for key, (description, pattern) in events.items():
            rule = aws.cloudwatch.EventRule(
                f"{name}-{key}",
                name=f"secure-org-{key}",
                region=home,
                event_bus_name=self.bus.name,
                description=description,
                event_pattern=json.dumps(pattern, sort_keys=True),
                state=rule_state(key),
                tags=args.tags,
                opts=sec,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-{key}-sns",
                region=home,
                rule=rule.name,
                event_bus_name=self.bus.name,
                arn=self.topic.arn,
                input_transformer=readable_message(),
                opts=sec,
            )

        self.topic_arn = self.topic.arn
        self.bus_arn = self.bus.arn
        self.register_outputs({"topic_arn": self.topic_arn, "bus_arn": self.bus_arn})
