"""A fixed, small set of AWS providers: the management account plus the shared accounts.

Every explicit provider is its own plugin process (170-430 MB), so there is never one
per workload account; workload accounts are reached through StackSets instead. A
provider is created only when a component asks for it, so the count stays minimal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from blueprint.iam import role_arn

SHARED_ROLES = ("security", "log_archive", "tooling", "image_factory")


@dataclass
class AccountProvidersArgs:
    account_ids: dict[str, pulumi.Input[str]]  # shared role -> account id
    role_name: str  # the org access role every new account is created with
    region: str
    tags: dict[str, str] = field(default_factory=dict)


class AccountProviders(pulumi.ComponentResource):
    def __init__(self, name: str, args: AccountProvidersArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:providers:AccountProviders", name, None, opts)
        self._name = name
        self._args = args
        # Not `_providers`: pulumi.Resource keeps its package -> provider map there, and children share it.
        self._by_role: dict[str, aws.Provider] = {}
        self.register_outputs({})

    def get(self, role: str) -> aws.Provider:
        """The provider for a shared account, created on first use."""
        if role not in SHARED_ROLES:
            raise ValueError(f"no provider for {role!r}: workload accounts are reached through StackSets")
        if role not in self._by_role:
            account = self._args.account_ids[role]
            self._by_role[role] = aws.Provider(
                f"{self._name}-{role.replace('_', '-')}",
                region=self._args.region,
                assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=role_arn(account, self._args.role_name), session_name=f"secure-org-{role}")],
                # Refuse to act if the role ever resolves to a different account.
                allowed_account_ids=[account],
                default_tags=aws.ProviderDefaultTagsArgs(tags=self._args.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return self._by_role[role]

    def opts(self, role: str, parent: pulumi.Resource, **kw) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent, provider=self.get(role), **kw)
