"""Customer-managed KMS keys, always with rotation, a 30-day deletion window, and kept on delete."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.iam import account_root, policy_json


def customer_key(
    name: str,
    *,
    region: str,
    description: str,
    admin_account: pulumi.Input[str],
    statements: list[Any],
    opts: pulumi.ResourceOptions,
    tags: dict[str, str] | None = None,
) -> aws.kms.Key:
    """A key whose policy keeps administration with its own account plus ``statements``.

    Keys are protected and retained: data encrypted under a key is lost with it, so no
    config edit may schedule a deletion.
    """
    return aws.kms.Key(
        name,
        region=region,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy_json(
            {
                "Sid": "AccountAdministersKey",
                "Effect": "Allow",
                "Principal": {"AWS": account_root(admin_account)},
                "Action": "kms:*",
                "Resource": "*",
            },
            *statements,
        ),
        tags=tags or {},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True, retain_on_delete=True)),
    )
