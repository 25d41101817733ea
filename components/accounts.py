"""Member accounts: the shared ones and one per team x environment."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from blueprint.config import AccountSpec

# Changing any of these through the bridged provider can replace (close and recreate) an
# account, so edits to them in config are ignored; see README "Renaming, moving, closing".
REPLACING_FIELDS = ["name", "email", "roleName", "iamUserAccessToBilling"]


@dataclass
class AccountsArgs:
    accounts: list[AccountSpec]
    ou_ids: dict[str, pulumi.Input[str]]
    org_access_role: str
    owner_emails: dict[str, str] = field(default_factory=dict)  # team key -> owner
    cost_centers: dict[str, str] = field(default_factory=dict)  # team key -> cost center
    tags: dict[str, str] = field(default_factory=dict)
    existing_ids: dict[str, str] = field(default_factory=dict)  # account key (or an alias of it) -> id to adopt (Pulumi import)


class Accounts(pulumi.ComponentResource):
    """Creates every account, protected so that no config edit can close, delete or replace it.

    Exposes ``ids`` (account key -> account id Output).
    """

    def __init__(self, name: str, args: AccountsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:accounts:Accounts", name, None, opts)
        self.ids: dict[str, pulumi.Output[str]] = {}
        self.resources: dict[str, aws.organizations.Account] = {}
        for spec in args.accounts:
            tags = {**args.tags, "account-role": spec.role}
            if spec.team:
                tags |= {
                    "team": spec.team_name or spec.team,
                    "environment": spec.environment or "",
                    "cost-center": args.cost_centers.get(spec.team, ""),
                    "owner": args.owner_emails.get(spec.team, ""),
                }
            ignore = list(REPLACING_FIELDS)
            if not spec.decommission:
                # Moves happen only through the explicit decommission step (into Suspended).
                ignore.append("parentId")
            # A renamed team's account may be given under its current name as well as its key.
            existing = next((args.existing_ids[k] for k in (spec.key, *spec.aliases) if k in args.existing_ids), None)
            acct = aws.organizations.Account(
                f"{name}-{spec.key}",
                name=spec.name,
                email=spec.email,
                parent_id=args.ou_ids[spec.ou],
                role_name=args.org_access_role,
                iam_user_access_to_billing="DENY",
                # Closing happens only for accounts being decommissioned on purpose.
                close_on_deletion=spec.decommission,
                tags=tags,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    protect=True,
                    retain_on_delete=not spec.decommission,
                    ignore_changes=ignore,
                    aliases=[pulumi.Alias(name=f"{name}-{old}") for old in spec.aliases],
                    # An account that already exists is adopted, never created a second time.
                    import_=existing,
                ),
            )
            self.resources[spec.key] = acct
            self.ids[spec.key] = acct.id
        self.register_outputs({"ids": self.ids})
