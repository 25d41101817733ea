"""Top-level component: one stack, one AWS Organization."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from blueprint.config import StackConfig
from blueprint.guardrails import TargetPolicies
from components.accounts import Accounts, AccountsArgs
from components.delivery import Delivery, DeliveryArgs
from components.guardrails import Guardrails, GuardrailsArgs
from components.image_factory import ImageFactory, ImageFactoryArgs
from components.organization import Organization, OrganizationArgs
from components.providers import SHARED_ROLES, AccountProviders, AccountProvidersArgs
from components.security_baseline import SecurityBaseline, SecurityBaselineArgs


@dataclass
class LandingZoneArgs:
    config: StackConfig
    planned_guardrails: list[TargetPolicies]


class LandingZone(pulumi.ComponentResource):
    def __init__(self, name: str, args: LandingZoneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:landingzone:LandingZone", name, None, opts)
        cfg = args.config
        tags = {"managed-by": "pulumi", "blueprint": "secure-org", "organization": cfg.organization.name}
        child = pulumi.ResourceOptions(parent=self)

        self.organization = Organization(
            f"{name}-organization",
            OrganizationArgs(
                service_access_principals=cfg.organization.service_access_principals,
                organizational_units=cfg.organizational_units,
                tags=tags,
                existing_org_id=cfg.existing.organization_id,
                existing_ous=dict(cfg.existing.organizational_units),
            ),
            child,
        )
        self.accounts = Accounts(
            f"{name}-accounts",
            AccountsArgs(
                accounts=cfg.accounts(),
                ou_ids=self.organization.ou_ids,
                org_access_role=cfg.organization.org_access_role,
                owner_emails={t.key: t.owner_email for t in cfg.teams},
                cost_centers={t.key: t.cost_center for t in cfg.teams},
                tags=tags,
                existing_ids=dict(cfg.existing.accounts),
            ),
            child,
        )
        deferred: dict[str, pulumi.Input[str]] = {"org_id": self.organization.org_id}
        deferred |= {f"account:{k}": v for k, v in self.accounts.ids.items()}
        self.guardrails = Guardrails(
            f"{name}-guardrails",
            GuardrailsArgs(
                org_name=cfg.organization.name,
                planned=args.planned_guardrails,
                root_id=self.organization.root_id,
                ou_ids=self.organization.ou_ids,
                deferred=deferred,
                tags=tags,
                # Policy types must be enabled on the root before policies of that type exist.
                depends_on=[self.organization.org],
            ),
            child,
        )
        # A fixed set of providers (management + shared accounts), whatever the team count.
        self.providers = AccountProviders(
            f"{name}-providers",
            AccountProvidersArgs(
                account_ids={role: self.accounts.ids[role] for role in SHARED_ROLES},
                role_name=cfg.organization.org_access_role,
                region=cfg.organization.home_region,
                tags=tags,
            ),
            child,
        )
        # Golden AMIs, built and gated in the image-factory account through its one provider
        # (before the baseline, which grants Auto Scaling on the factory's keys in every account).
        self.image_factory = None
        if cfg.image_factory is not None:
            self.image_factory = ImageFactory(
                f"{name}-image-factory",
                ImageFactoryArgs(
                    config=cfg.image_factory,
                    org_name=cfg.organization.name,
                    org_id=self.organization.org_id,
                    org_arn=self.organization.org.arn,
                    factory_account_id=self.accounts.ids["image_factory"],
                    home_region=cfg.organization.home_region,
                    alert_emails=list(cfg.security_baseline.alert_emails),
                    log_retention_days=cfg.security_baseline.log_archive.cloudwatch_retention_days,
                    provider=self.providers.get("image_factory"),
                    tags=tags,
                ),
                child,
            )
        self.baseline = SecurityBaseline(
            f"{name}-baseline",
            SecurityBaselineArgs(
                config=cfg,
                organization=self.organization.org,
                org_id=self.organization.org_id,
                root_id=self.organization.root_id,
                management_account_id=self.organization.org.master_account_id,
                account_ids=self.accounts.ids,
                providers=self.providers,
                tags=tags,
                golden_ami_key_arns=list(self.image_factory.key_arns.values()) if self.image_factory else [],
            ),
            child,
        )
        # Team pipelines in the tooling account, deploy roles in the team accounts.
        self.delivery = Delivery(
            f"{name}-delivery",
            DeliveryArgs(
                config=cfg,
                org_id=self.organization.org_id,
                account_ids=self.accounts.ids,
                ou_ids=self.organization.ou_ids,
                providers=self.providers,
                depends_on=[self.organization.org],
                tags=tags,
            ),
            child,
        )
        self.register_outputs(
            {
                "org_id": self.organization.org_id,
                "root_id": self.organization.root_id,
                "account_ids": self.accounts.ids,
                "pipelines": {t: p.pipeline.name for t, p in self.delivery.pipelines.items()},
                "findings_importer": self.delivery.importer.arn,
                "golden_image_pipelines": {n: p.pipeline.arn for n, p in self.image_factory.images.items()} if self.image_factory else {},
            }
        )
