"""Small builders for IAM / resource policy documents used across components.

Documents are plain dicts; values may be Outputs, and ``policy_json`` turns the whole
document into one Output[str] so components never hand-assemble JSON strings.
"""

from __future__ import annotations

from typing import Any

import pulumi


def policy_json(*statements: Any) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust(service: str, conditions: dict[str, Any] | None = None) -> pulumi.Output[str]:
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if conditions:
        stmt["Condition"] = conditions
    return policy_json(stmt)


def deny_insecure_transport(*resource_arns: Any, action: str = "s3:*") -> dict[str, Any]:
    """TLS-only access to the given resources (any service supporting aws:SecureTransport)."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": action,
        "Resource": resource_arns[0] if len(resource_arns) == 1 else list(resource_arns),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def arn(partition: str, service: str, region: str, account: Any, resource: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:", partition, ":", service, ":", region, ":", account, ":", resource)


def role_arn(account: Any, name: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:aws:iam::", account, ":role/", name)


def account_root(account: Any) -> pulumi.Output[str]:
    return pulumi.Output.concat("arn:aws:iam::", account, ":root")
