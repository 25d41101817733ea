"""The AWS Organization itself and its OU tree."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from blueprint.config import OrganizationalUnit

POLICY_TYPES = [
    "SERVICE_CONTROL_POLICY",
    "RESOURCE_CONTROL_POLICY",
    "TAG_POLICY",
    "DECLARATIVE_POLICY_EC2",
]


@dataclass
class OrganizationArgs:
    service_access_principals: list[str]
    organizational_units: list[OrganizationalUnit]
    tags: dict[str, str] = field(default_factory=dict)
    # An organization that already exists: adopted (Pulumi import) on the first `pulumi up`.
    existing_org_id: str | None = None
    existing_ous: dict[str, str] = field(default_factory=dict)  # OU path -> id


class Organization(pulumi.ComponentResource):
    """All-features organization, trusted service access, policy types, and nested OUs.

    Exposes ``root_id``, ``org_id`` and ``ou_ids`` (OU path -> id) for the other components.
    """

    def __init__(self, name: str, args: OrganizationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:organization:Organization", name, None, opts)
        # An existing org is adopted through config (existing.organization_id), not a hand-typed URN.
        # Protected and retained: no config edit can delete an organization.
        self.org = aws.organizations.Organization(
            f"{name}-org",
            feature_set="ALL",
            aws_service_access_principals=sorted(args.service_access_principals),
            enabled_policy_types=POLICY_TYPES,
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True, import_=args.existing_org_id),
        )
        self.org_id = self.org.id
        self.root_id = self.org.roots.apply(lambda roots: roots[0].id or "")  # the SDK types computed ids Optional
        self.ou_ids: dict[str, pulumi.Input[str]] = {}
        self._existing_ous = args.existing_ous
        self._ous(name, args.organizational_units, self.root_id, "", args.tags)
        self.register_outputs({"org_id": self.org_id, "root_id": self.root_id, "ou_ids": self.ou_ids})

    def _ous(self, name: str, nodes: list[OrganizationalUnit], parent_id, prefix: str, tags: dict[str, str]) -> None:
        for node in nodes:
            path = f"{prefix}{node.name}"
            slug = path.lower().replace("/", "-").replace(" ", "-")
            # An OU cannot be deleted while it holds accounts; retain it anyway so a
            # config edit never tries.
            ou = aws.organizations.OrganizationalUnit(
                f"{name}-ou-{slug}",
                name=node.name,
                parent_id=parent_id,
                tags={**tags, "ou-path": path},
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True, import_=self._existing_ous.get(path)),
            )
            self.ou_ids[path] = ou.id
            self._ous(name, node.children, ou.id, path + "/", tags)
