"""components/security_services.py: delegated admins, org configuration, every region, right order."""

from __future__ import annotations

import pytest

from blueprint.config import load_file
from tests.conftest import REPO, account_name_of, resources_of, shared_account_name, urn_of


@pytest.fixture
def cfg(stack):
    return load_file(REPO / f"Pulumi.{stack}.yaml")


def by_type(plan, suffix):
    return [r for r in plan["resources"] if r["type"].endswith(suffix)]


def test_delegated_admins_are_registered_from_management_after_trusted_access(plan, cfg):
    org_urn = urn_of(plan, "org-organization-org")
    admins = [r for r in plan["resources"] if r["type"] in (
        "aws:organizations/delegatedAdministrator:DelegatedAdministrator",
        "aws:guardduty/organizationAdminAccount:OrganizationAdminAccount",
        "aws:inspector2/delegatedAdminAccount:DelegatedAdminAccount",
        "aws:securityhub/organizationAdminAccount:OrganizationAdminAccount",
    )]
    principals = {r["inputs"].get("servicePrincipal") for r in admins} - {None}
    assert principals == {"access-analyzer.amazonaws.com", "config.amazonaws.com", "config-multiaccountsetup.amazonaws.com"}
    security_id = next(r["id"] for r in resources_of(plan, "aws:organizations/account:Account") if r["inputs"]["name"] == cfg.shared_accounts.security.name)
    for r in admins:
        assert account_name_of(plan, r) == "management"
        assert org_urn in r["dependencies"], r["name"]
        assert security_id in (r["inputs"].get("accountId"), r["inputs"].get("adminAccountId"))


def test_guardduty_covers_every_region_with_all_members(plan, cfg):
    security = shared_account_name(plan["stack"], "security")
    regions = set(cfg.organization.allowed_regions)
    detectors = by_type(plan, "guardduty/detector:Detector")
    assert {d["inputs"]["region"] for d in detectors} == regions
    admins = {r["inputs"]["region"]: r["urn"] for r in by_type(plan, "guardduty/organizationAdminAccount:OrganizationAdminAccount")}
    for conf in by_type(plan, "guardduty/organizationConfiguration:OrganizationConfiguration"):
        assert conf["inputs"]["autoEnableOrganizationMembers"] == "ALL", "existing accounts included"
        assert admins[conf["inputs"]["region"]] in conf["dependencies"], "org config waits for its region's delegated admin"
        assert account_name_of(plan, conf) == security
    assert len(by_type(plan, "guardduty/organizationConfigurationFeature:OrganizationConfigurationFeature")) == 5 * len(regions)


def test_inspector_auto_enables_and_reaches_existing_accounts(plan, cfg):
    regions = set(cfg.organization.allowed_regions)
    confs = by_type(plan, "inspector2/organizationConfiguration:OrganizationConfiguration")
    assert {c["inputs"]["region"] for c in confs} == regions
    for c in confs:
        auto = c["inputs"]["autoEnable"]
        assert (auto["ec2"], auto["ecr"], auto["lambda"], auto["lambdaCode"]) == (True, True, True, True)
    accounts = {r["id"] for r in resources_of(plan, "aws:organizations/account:Account")}
    conf_urns = {c["urn"] for c in confs}
    enablers = by_type(plan, "inspector2/enabler:Enabler")
    for region in regions:
        covered = [a for e in enablers if e["inputs"]["region"] == region for a in e["inputs"]["accountIds"]]
        assert sorted(covered) == sorted(accounts), "auto-enable does not cover existing accounts; the enablers do, each once"
    for e in enablers:
        assert set(e["inputs"]["resourceTypes"]) == {"EC2", "ECR", "LAMBDA", "LAMBDA_CODE"}
        assert conf_urns & set(e["dependencies"])


def test_security_hub_central_configuration_in_order(plan, cfg):
    home = cfg.organization.home_region
    admin = by_type(plan, "securityhub/organizationAdminAccount:OrganizationAdminAccount")[0]
    (agg,) = by_type(plan, "securityhub/findingAggregator:FindingAggregator")
    (org_conf,) = by_type(plan, "securityhub/organizationConfiguration:OrganizationConfiguration")
    (policy,) = by_type(plan, "securityhub/configurationPolicy:ConfigurationPolicy")
    (assoc,) = by_type(plan, "securityhub/configurationPolicyAssociation:ConfigurationPolicyAssociation")
    assert admin["urn"] in agg["dependencies"]
    assert agg["urn"] in org_conf["dependencies"], "CENTRAL needs the finding aggregator first"
    assert org_conf["urn"] in policy["dependencies"]
    assert org_conf["inputs"]["organizationConfiguration"]["configurationType"] == "CENTRAL"
    assert org_conf["inputs"]["autoEnable"] is False
    others = sorted(set(cfg.organization.allowed_regions) - {home})
    assert agg["inputs"]["linkingMode"] == "SPECIFIED_REGIONS" and sorted(agg["inputs"]["specifiedRegions"]) == others
    stds = policy["inputs"]["configurationPolicy"]["enabledStandardArns"]
    assert f"arn:aws:securityhub:{home}::standards/aws-foundational-security-best-practices/v/1.0.0" in stds
    assert f"arn:aws:securityhub:{home}::standards/cis-aws-foundations-benchmark/v/3.0.0" in stds
    assert assoc["inputs"]["targetId"].startswith("r-"), "applied to the whole organization root"
    assert account_name_of(plan, policy) == shared_account_name(plan["stack"], "security")


def test_access_analyzer_and_config_aggregator(plan, cfg):
    regions = set(cfg.organization.allowed_regions)
    analyzers = by_type(plan, "accessanalyzer/analyzer:Analyzer")
    assert {a["inputs"]["region"] for a in analyzers} == regions
    assert all(a["inputs"]["type"] == "ORGANIZATION" for a in analyzers)
    (agg,) = by_type(plan, "cfg/configurationAggregator:ConfigurationAggregator")
    src = agg["inputs"]["organizationAggregationSource"]
    assert set(src["regions"]) == regions
    assert src["roleArn"].endswith(":role/secure-org-config-aggregator")


def test_conformance_pack_per_region_after_recorders_exist(plan, cfg):
    packs = by_type(plan, "cfg/organizationConformancePack:OrganizationConformancePack")
    assert {p["inputs"]["region"] for p in packs} == set(cfg.organization.allowed_regions)
    instances = {r["urn"] for r in by_type(plan, "cloudformation/stackSetInstance:StackSetInstance") if r["name"].startswith("org-baseline-accounts-")}
    assert instances
    for p in packs:
        assert instances <= set(p["dependencies"]), "recorders (StackSet baseline) before org rules"
        assert "CODEBUILD_PROJECT_ENVVAR_AWSCRED_CHECK" in p["inputs"]["templateBody"]
        assert "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED" in p["inputs"]["templateBody"]
