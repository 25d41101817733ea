"""The org-wide security baseline: logs, detection, posture, alerts, and the per-account baseline."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from blueprint.baseline import account_template, conformance_pack
from blueprint.config import StackConfig
from components.alerts import SecurityAlerts, SecurityAlertsArgs
from components.fanout import StackSetFanOut, StackSetFanOutArgs
from components.log_archive import LogArchive, LogArchiveArgs
from components.org_trail import OrganizationTrail, OrganizationTrailArgs, trail_arn
from components.providers import AccountProviders
from components.security_services import SecurityServices, SecurityServicesArgs

REMEDIATION_ROLE = "secure-org-config-remediation"
AUDIT_ROLE = "secure-org-security-audit"


@dataclass
class SecurityBaselineArgs:
    config: StackConfig
    organization: aws.organizations.Organization
    org_id: pulumi.Input[str]
    root_id: pulumi.Input[str]
    management_account_id: pulumi.Input[str]
    account_ids: dict[str, pulumi.Output[str]]  # account key -> id
    providers: AccountProviders
    tags: dict[str, str] = field(default_factory=dict)
    # The image factory's golden-AMI key ARNs (one per region): one StackSet parameter,
    # constant in team count; empty without a factory.
    golden_ami_key_arns: list[pulumi.Input[str]] = field(default_factory=list)


class SecurityBaseline(pulumi.ComponentResource):
    def __init__(self, name: str, args: SecurityBaselineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:baseline:SecurityBaseline", name, None, opts)
        cfg = args.config
        org = cfg.organization
        base = cfg.security_baseline
        home, regions = org.home_region, list(org.allowed_regions)
        child = pulumi.ResourceOptions(parent=self)
        ids = args.account_ids
        trail_name = f"{org.name}-org-trail"
        arn = trail_arn(home, args.management_account_id, trail_name)

        self.log_archive = LogArchive(
            f"{name}-log-archive",
            LogArchiveArgs(
                org_name=org.name,
                org_id=args.org_id,
                account_id=ids["log_archive"],
                management_account_id=args.management_account_id,
                trail_arn=arn,
                region=home,
                settings=base.log_archive,
                provider=args.providers.get("log_archive"),
                tags=args.tags,
            ),
            child,
        )
        self.trail = OrganizationTrail(
            f"{name}-trail",
            OrganizationTrailArgs(
                trail_name=trail_name,
                region=home,
                management_account_id=args.management_account_id,
                bucket_name=self.log_archive.bucket_name,
                kms_key_arn=self.log_archive.key_arn,
                settings=base.log_archive,
                tags=args.tags,
                # Org trails need trusted access, and the bucket and key policies in place.
                depends_on=[args.organization, self.log_archive.logs.policy, self.log_archive.key],
            ),
            child,
        )
        self.alerts = SecurityAlerts(
            f"{name}-alerts",
            SecurityAlertsArgs(
                org_id=args.org_id,
                security_account_id=ids["security"],
                home_region=home,
                emails=list(base.alert_emails),
                break_glass_roles=list(cfg.guardrails.break_glass_roles),
                security_provider=args.providers.get("security"),
                tags=args.tags,
            ),
            child,
        )
        management_role = lambda role: pulumi.Output.concat("arn:aws:iam::", args.management_account_id, ":role/", role)  # noqa: E731
        parameters = {
            "HomeRegion": home,
            "OrgId": args.org_id,
            "ManagementAccountId": args.management_account_id,
            "SecurityAccountId": ids["security"],
            "ConfigBucketName": self.log_archive.config_bucket_name,
            "ConfigKmsKeyArn": self.log_archive.key_arn,
            "AlertEventBusArn": self.alerts.bus_arn,
            "BreakGlassTrustedPrincipalArns": pulumi.Output.all(*[management_role(r) for r in base.break_glass_principals]).apply(",".join),
            "AuditTrustedPrincipalArn": pulumi.Output.concat("arn:aws:iam::", ids["security"], ":role/", base.audit_role),
            "PasswordMinLength": str(base.password_min_length),
            "RemediationRoleName": REMEDIATION_ROLE,
            "AuditRoleName": AUDIT_ROLE,
            "GoldenAmiKeyArns": pulumi.Output.all(*args.golden_ami_key_arns).apply(",".join) if args.golden_ami_key_arns else "",
            "PatchSeverityThreshold": cfg.image_factory.patch_severity_threshold if cfg.image_factory else "HIGH",
        }
        missing = set(account_template.PARAMETERS) ^ set(parameters)
        if missing:  # the template and this wiring must agree exactly
            raise ValueError(f"account baseline parameters out of sync: {sorted(missing)}")
        self.account_baseline = StackSetFanOut(
            f"{name}-accounts",
            StackSetFanOutArgs(
                stack_set_name="secure-org-account-baseline",
                description="Per-account security baseline: EBS/IMDS/S3 defaults, Config recorder, password policy, audit and break-glass roles, alert forwarding",
                template_body=account_template.template_body(list(cfg.guardrails.break_glass_roles)),
                parameters=parameters,
                regions=regions,
                home_region=home,
                rollout=base.rollout,
                # The root: every account, including any that later join or move OUs.
                target_ou_ids=[args.root_id],
                include_management=True,
                depends_on=[args.organization],
                tags=args.tags,
            ),
            child,
        )
        groups: dict[str, list[pulumi.Input[str]]] = {"shared": [ids[role] for role in ("security", "log_archive", "tooling", "image_factory")]}
        for acct in cfg.accounts():
            if acct.team:
                groups.setdefault(f"team-{acct.team}", []).append(ids[acct.key])
        self.services = SecurityServices(
            f"{name}-services",
            SecurityServicesArgs(
                organization=args.organization,
                root_id=args.root_id,
                security_account_id=ids["security"],
                account_groups=groups,
                # Groups follow the team's identity (acct.team is Team.key); the other names are
                # aliases for a rename applied before names followed the identity.
                group_aliases={f"team-{t.key}": [f"team-{n}" for n in t.names if n != t.key] for t in cfg.teams if t.previous_names},
                home_region=home,
                regions=regions,
                security_provider=args.providers.get("security"),
                conformance_pack_body=conformance_pack.template_body(REMEDIATION_ROLE),
                # Conformance packs need a recorder in every account, and the remediation role.
                conformance_depends_on=list(self.account_baseline.instances),
                tags=args.tags,
            ),
            child,
        )
        self.register_outputs(
            {
                "log_bucket": self.log_archive.bucket_name,
                "trail_arn": self.trail.arn,
                "alerts_topic": self.alerts.topic_arn,
            }
        )
