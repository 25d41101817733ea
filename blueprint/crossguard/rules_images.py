"""CrossGuard rules for the golden-AMI factory (Image Builder).

Distributions share with the organization and never copy (target_account_ids) or go public;
pipelines scan; recipes encrypt under a customer key; build instances require IMDSv2.
Every rule is silent when its input is unknown (preview).
"""

from __future__ import annotations

from blueprint.crossguard import documents as d
from blueprint.crossguard.documents import get, is_truthy, is_unknown
from blueprint.crossguard.rules import IB_DISTRIBUTION, IB_PIPELINE, MANDATORY, _register

IB_RECIPE = "aws:imagebuilder/imageRecipe:ImageRecipe"
IB_INFRA = "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration"


@_register("resource", "imagebuilder-distribution-shares-not-copies", MANDATORY, (IB_DISTRIBUTION,),
           "Image Builder distributions share AMIs through launch permissions (organization or OU ARNs) and never copy "
           "them with targetAccountIds: a copy is owned by the target account and defeats the ec2:Owner guardrail; "
           "never public (userGroups 'all')",
           no_equivalent="Security Hub and checkov do not see Image Builder distribution targets")
def distribution_shares_not_copies(props, ctx):
    out = []
    for dist in d.as_list(props.get("distributions")):
        if is_unknown(dist):
            continue
        ami = get(dist, "amiDistributionConfiguration")
        region = d.text_of(get(dist, "region")) or "?"
        targets = get(ami, "targetAccountIds")
        if not is_unknown(targets) and d.as_list(targets):
            out.append(f"distribution to {region} copies the AMI to targetAccountIds (share with organizationArns instead)")
        groups = get(ami, "launchPermission", "userGroups")
        if not is_unknown(groups) and any(isinstance(g, str) and g.lower() == "all" for g in d.as_list(groups)):
            out.append(f"distribution to {region} makes the AMI public (userGroups 'all')")
    return out


@_register("resource", "imagebuilder-pipeline-scans", MANDATORY, (IB_PIPELINE,),
           "Golden-image pipelines turn image scanning on explicitly (imageScanningConfiguration.imageScanningEnabled true); "
           "the scan gate fails closed without a completed scan",
           no_equivalent="AWS Config cannot see Image Builder scanning settings")
def pipeline_scans(props, ctx):
    scan = props.get("imageScanningConfiguration")
    if is_unknown(scan):
        return []
    enabled = get(scan, "imageScanningEnabled")
    if is_unknown(enabled):
        return []
    return [] if is_truthy(enabled) is True else ["image scanning is not enabled (set imageScanningConfiguration.imageScanningEnabled)"]


@_register("resource", "imagebuilder-recipe-ebs-customer-key", MANDATORY, (IB_RECIPE,),
           "Image recipes encrypt every EBS block device mapping with a customer-managed KMS key (encrypted true, kmsKeyId set) "
           "so the shared AMI's snapshots are under a key the organization policy controls",
           no_equivalent="checkov CKV_AWS_200 covers the image recipe, but not the key choice")
def recipe_ebs_customer_key(props, ctx):
    out = []
    mappings = props.get("blockDeviceMappings")
    if is_unknown(mappings):
        return []
    if not d.as_list(mappings):
        return ["no blockDeviceMappings: the root volume is encrypted only by the parent image's settings"]
    for m in d.as_list(mappings):
        if is_unknown(m):
            continue
        ebs = get(m, "ebs")
        if is_unknown(ebs) or ebs is None and get(m, "noDevice"):
            continue
        device = d.text_of(get(m, "deviceName")) or "?"
        enc, key = get(ebs, "encrypted"), get(ebs, "kmsKeyId")
        if not is_unknown(enc) and is_truthy(enc) is not True:
            out.append(f"{device}: EBS is not encrypted")
        if not is_unknown(key) and (not key or (isinstance(key, str) and "alias/aws/" in key)):
            out.append(f"{device}: EBS is not under a customer-managed key (kmsKeyId)")
    return out


@_register("resource", "imagebuilder-build-imdsv2", MANDATORY, (IB_INFRA,),
           "Image Builder build and test instances require IMDSv2 (instanceMetadataOptions.httpTokens 'required'), "
           "as the require-imdsv2 guardrail does for workloads",
           config_rule=("EC2_IMDSV2_CHECK",), no_equivalent="Security Hub EC2.8 checks running instances, not build configurations")
def build_imdsv2(props, ctx):
    tokens = get(props, "instanceMetadataOptions", "httpTokens")
    if is_unknown(tokens):
        return []
    return [] if tokens == "required" else [f"instanceMetadataOptions.httpTokens is {tokens!r}, not 'required' (IMDSv1 allowed)"]
