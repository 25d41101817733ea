"""Org-wide threat detection and posture: GuardDuty, Security Hub, Inspector, Access Analyzer, Config.

Order matters and is explicit: trusted service access (the Organization resource) ->
delegated admin, registered from the management account -> org configuration, applied
from the security (delegated admin) account. Every allowed region is covered with
v7's per-resource ``region``, never with a provider per region.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from blueprint.iam import service_trust

GUARDDUTY_FEATURES = ["S3_DATA_EVENTS", "EKS_AUDIT_LOGS", "EBS_MALWARE_PROTECTION", "RDS_LOGIN_EVENTS", "LAMBDA_NETWORK_LOGS"]
INSPECTOR_TYPES = ["EC2", "ECR", "LAMBDA", "LAMBDA_CODE"]
STANDARDS = {
    "fsbp": "standards/aws-foundational-security-best-practices/v/1.0.0",
    "cis": "standards/cis-aws-foundations-benchmark/v/3.0.0",
}


def standard_arn(region: str, key: str) -> str:
    return f"arn:aws:securityhub:{region}::{STANDARDS[key]}"


@dataclass
class SecurityServicesArgs:
    organization: aws.organizations.Organization
    root_id: pulumi.Input[str]
    security_account_id: pulumi.Input[str]
    # Accounts to enable Inspector in explicitly, grouped (shared accounts, then one group per
    # team) so that onboarding a team adds an enabler instead of editing a shared one.
    account_groups: dict[str, list[pulumi.Input[str]]]
    home_region: str
    regions: list[str]
    security_provider: aws.Provider
    conformance_pack_body: str
    conformance_depends_on: list[pulumi.Resource] = field(default_factory=list)
    group_aliases: dict[str, list[str]] = field(default_factory=dict)  # group -> earlier names
    tags: dict[str, str] = field(default_factory=dict)


class SecurityServices(pulumi.ComponentResource):
    def __init__(self, name: str, args: SecurityServicesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:security:SecurityServices", name, None, opts)
        org = args.organization
        sec = args.security_provider
        home = args.home_region
        after_org = pulumi.ResourceOptions(parent=self, depends_on=[org])

        def in_security(*deps: pulumi.Resource, **kw) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=sec, depends_on=list(deps), **kw)

        # --- delegated administrators (management account) --------------------
        self.delegated: dict[str, pulumi.Resource] = {}
        for principal in ("access-analyzer.amazonaws.com", "config.amazonaws.com", "config-multiaccountsetup.amazonaws.com"):
            short = principal.split(".")[0]
            self.delegated[short] = aws.organizations.DelegatedAdministrator(
                f"{name}-admin-{short}", account_id=args.security_account_id, service_principal=principal, opts=after_org
            )
        hub_mgmt = aws.securityhub.Account(
            f"{name}-securityhub-management",
            region=home,
            enable_default_standards=False,
            auto_enable_controls=True,
            control_finding_generator="SECURITY_CONTROL",
            opts=after_org,
        )
        hub_admin = aws.securityhub.OrganizationAdminAccount(
            f"{name}-admin-securityhub",
            admin_account_id=args.security_account_id,
            region=home,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[org, hub_mgmt]),
        )

        self.detectors: dict[str, aws.guardduty.Detector] = {}
        for region in args.regions:
            # GuardDuty: all members, existing ones included (ALL, not NEW).
            gd_admin = aws.guardduty.OrganizationAdminAccount(
                f"{name}-admin-guardduty-{region}", admin_account_id=args.security_account_id, region=region, opts=after_org
            )
            detector = aws.guardduty.Detector(
                f"{name}-guardduty-{region}",
                region=region,
                enable=True,
                finding_publishing_frequency="FIFTEEN_MINUTES",
                tags=args.tags,
                opts=in_security(gd_admin),
            )
            self.detectors[region] = detector
            gd_org = aws.guardduty.OrganizationConfiguration(
                f"{name}-guardduty-org-{region}",
                region=region,
                detector_id=detector.id,
                auto_enable_organization_members="ALL",
                opts=in_security(gd_admin),
            )
            for feature in GUARDDUTY_FEATURES:
                aws.guardduty.OrganizationConfigurationFeature(
                    f"{name}-guardduty-{feature.lower().replace('_', '-')}-{region}",
                    region=region,
                    detector_id=detector.id,
                    name=feature,
                    auto_enable="ALL",
                    opts=in_security(gd_org),
                )

            # Inspector: auto-enable for new members, and enable every existing account too
            # (auto-enable alone does not reach accounts that already exist).
            insp_admin = aws.inspector2.DelegatedAdminAccount(
                f"{name}-admin-inspector-{region}", account_id=args.security_account_id, region=region, opts=after_org
            )
            insp_org = aws.inspector2.OrganizationConfiguration(
                f"{name}-inspector-org-{region}",
                region=region,
                auto_enable=aws.inspector2.OrganizationConfigurationAutoEnableArgs(ec2=True, ecr=True, lambda_=True, lambda_code=True, code_repository=False),
                opts=in_security(insp_admin),
            )
            for group, account_ids in args.account_groups.items():
                aws.inspector2.Enabler(
                    f"{name}-inspector-{group}-{region}",
                    region=region,
                    account_ids=account_ids,
                    resource_types=INSPECTOR_TYPES,
                    opts=in_security(
                        insp_org,
                        aliases=[pulumi.Alias(name=f"{name}-inspector-{old}-{region}") for old in args.group_aliases.get(group, [])],
                    ),
                )

            aws.accessanalyzer.Analyzer(
                f"{name}-access-analyzer-{region}",
                region=region,
                analyzer_name=f"org-analyzer-{region}",
                type="ORGANIZATION",
                tags=args.tags,
                opts=in_security(self.delegated["access-analyzer"]),
            )

            # Config: one org conformance pack per region, deployed from the delegated admin
            # once recorders exist everywhere (the baseline StackSet).
            aws.cfg.OrganizationConformancePack(
                f"{name}-conformance-{region}",
                region=region,
                name="secure-org-baseline",
                template_body=args.conformance_pack_body,
                opts=in_security(self.delegated["config-multiaccountsetup"], *args.conformance_depends_on),
            )

        # Security Hub central configuration: aggregator first, then CENTRAL, then the policy.
        others = [r for r in args.regions if r != home]
        aggregator = aws.securityhub.FindingAggregator(
            f"{name}-securityhub-aggregator",
            region=home,
            linking_mode="SPECIFIED_REGIONS" if others else "NO_REGIONS",
            specified_regions=others or None,
            opts=in_security(hub_admin),
        )
        hub_org = aws.securityhub.OrganizationConfiguration(
            f"{name}-securityhub-org",
            region=home,
            auto_enable=False,
            auto_enable_standards="NONE",
            organization_configuration=aws.securityhub.OrganizationConfigurationOrganizationConfigurationArgs(configuration_type="CENTRAL"),
            opts=in_security(aggregator),
        )
        policy = aws.securityhub.ConfigurationPolicy(
            f"{name}-securityhub-policy",
            region=home,
            name="secure-org-standards",
            description="AWS Foundational Security Best Practices and CIS AWS Foundations 3.0 in every account",
            configuration_policy=aws.securityhub.ConfigurationPolicyConfigurationPolicyArgs(
                service_enabled=True,
                enabled_standard_arns=[standard_arn(home, "fsbp"), standard_arn(home, "cis")],
                security_controls_configuration=aws.securityhub.ConfigurationPolicyConfigurationPolicySecurityControlsConfigurationArgs(
                    disabled_control_identifiers=[]
                ),
            ),
            opts=in_security(hub_org),
        )
        aws.securityhub.ConfigurationPolicyAssociation(
            f"{name}-securityhub-policy-root",
            region=home,
            policy_id=policy.id,
            target_id=args.root_id,
            opts=in_security(policy),
        )

        # Config aggregator: one view of every account and region, in the security account.
        agg_role = aws.iam.Role(
            f"{name}-config-aggregator-role",
            name="secure-org-config-aggregator",
            assume_role_policy=service_trust("config.amazonaws.com", {"StringEquals": {"aws:SourceAccount": args.security_account_id}}),
            tags=args.tags,
            opts=in_security(),
        )
        attach = aws.iam.RolePolicyAttachment(
            f"{name}-config-aggregator-policy",
            role=agg_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AWSConfigRoleForOrganizations",
            opts=in_security(),
        )
        aws.cfg.ConfigurationAggregator(
            f"{name}-config-aggregator",
            region=home,
            name="secure-org",
            organization_aggregation_source=aws.cfg.ConfigurationAggregatorOrganizationAggregationSourceArgs(
                role_arn=agg_role.arn, regions=list(args.regions)
            ),
            tags=args.tags,
            opts=in_security(attach, self.delegated["config"]),
        )
        self.register_outputs({"detectors": {r: d.id for r, d in self.detectors.items()}})
