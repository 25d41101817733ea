"""Customer-managed KMS keys, always with rotation, a 30-day deletion window, and kept on delete."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from blueprint.iam import account_root, policy_json


def account_administers(account: pulumi.Input[str]) -> dict[str, Any]:
    """The AWS default key-policy statement: the key's own account administers (and may grant) it."""
    return {"Sid": "AccountAdministersKey", "Effect": "Allow", "Principal": {"AWS": account_root(account)}, "Action": "kms:*", "Resource": "*"}


def customer_key(
    name: str,
    *,
    region: str,
    description: str,
    opts: pulumi.ResourceOptions,
    policy: pulumi.Input[str] | None = None,
    admin_account: pulumi.Input[str] | None = None,
    statements: list[Any] | None = None,
    tags: dict[str, str] | None = None,
    protect: bool = True,
) -> aws.kms.Key:
    """A rotating key, always retained: data encrypted under a key is lost with it.

    Organization-level keys are also protected. A team's keys pass ``protect=False``: removing
    the team's pipeline from config then leaves them behind instead of stopping `pulumi up`.

    Give either a whole ``policy``, or ``admin_account`` plus usage ``statements`` (the key's
    account administers it). With neither, the policy is managed by a separate
    ``aws.kms.KeyPolicy`` (for principals that do not exist yet).
    """
    if policy is None and admin_account is not None:
        policy = policy_json(account_administers(admin_account), *(statements or []))
    return aws.kms.Key(
        name,
        region=region,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        tags=tags or {},
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=protect, retain_on_delete=True)),
    )
