"""CrossGuard rules for what workloads run from: EC2 launch templates and ECR repositories.

* ``ec2-launch-template-imdsv2``: a launch template requires IMDSv2 (``httpTokens`` 'required'),
  or turns the metadata endpoint off; Pulumi resources and ``AWS::EC2::LaunchTemplate`` in
  CloudFormation templates alike;
* ``ec2-launch-template-imds-hop-limit`` (advisory): the PUT response hop limit is at most 2
  (2 lets a container reach IMDS through its host's bridge; more reaches further);
* ``ecr-repository-scanning``: every repository is scanned, by scanOnPush or by registry-level
  scanning the same plan configures for its account and region (an Inspector enabler with ECR,
  which makes the registry ENHANCED and scans every repository, or a registry scanning
  configuration whose rule matches the repository);
* ``ecr-repository-tags-immutable``: IMMUTABLE, or IMMUTABLE_WITH_EXCLUSION with no filter
  that matches every tag;
* ``ecr-repository-kms``: KMS (or KMS_DSSE) encryption under a customer key.

Unknown values (preview) never produce a violation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from typing import Any

from blueprint.crossguard import documents as d
from blueprint.crossguard.documents import get, is_truthy, is_unknown
from blueprint.crossguard.rules import (ADVISORY, CFN_STACK, CFN_STACKSET, MANDATORY, Resource, Settings, resource_rule,
                                        stack_rule, template_resources)

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_REGISTRY_SCANNING = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
INSPECTOR_ENABLER = "aws:inspector2/enabler:Enabler"
MAX_HOP_LIMIT = 2


def _template_specs(props: Mapping[str, Any], cfn_type: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(logical id, Properties) of each resource of ``cfn_type`` in a stack's or stack set's template."""
    for logical, spec in template_resources(props.get("templateBody")).items():
        p = spec.get("Properties")
        if spec.get("Type") == cfn_type and isinstance(p, Mapping):
            yield logical, p


def _metadata_options(props: Mapping[str, Any], ctx) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(label, metadata options, key names) of the launch template(s) a resource defines.
    Template intrinsics (Ref, Fn::If...) are deploy-time values: read as unknown."""
    if ctx.resource_type == LAUNCH_TEMPLATE:
        yield "", props.get("metadataOptions"), {"endpoint": "httpEndpoint", "tokens": "httpTokens", "hops": "httpPutResponseHopLimit", "at": "metadataOptions."}
        return
    keys = {"endpoint": "HttpEndpoint", "tokens": "HttpTokens", "hops": "HttpPutResponseHopLimit", "at": "MetadataOptions."}
    for logical, p in _template_specs(props, "AWS::EC2::LaunchTemplate"):
        data = p.get("LaunchTemplateData")
        options = d.UNKNOWN if d.is_intrinsic(data) else get(data, "MetadataOptions")
        if d.is_intrinsic(options):
            options = d.UNKNOWN
        elif isinstance(options, Mapping):
            options = {k: d.UNKNOWN if d.is_intrinsic(v) else v for k, v in options.items()}
        yield f"template {logical}: ", options, keys


@resource_rule(
    "ec2-launch-template-imdsv2", MANDATORY, (LAUNCH_TEMPLATE, CFN_STACK, CFN_STACKSET),
    "EC2 launch templates (Pulumi and AWS::EC2::LaunchTemplate in CloudFormation templates) require IMDSv2: "
    "metadataOptions.httpTokens 'required', unless the metadata endpoint is disabled; unset means IMDSv1 stays open",
    checkov=("CKV_AWS_79",), config_rule=("EC2_LAUNCH_TEMPLATE_IMDSV2_CHECK",),
)
def launch_template_imdsv2(props, ctx):
    out = []
    for label, options, k in _metadata_options(props, ctx):
        if is_unknown(options):
            continue
        endpoint, tokens = get(options, k["endpoint"]), get(options, k["tokens"])
        if is_unknown(endpoint) or endpoint == "disabled" or is_unknown(tokens):
            continue
        if tokens is None:
            out.append(f"{label}{k['at']}{k['tokens']} is not set, so instances accept IMDSv1 (set it to 'required')")
        elif tokens != "required":
            out.append(f"{label}{k['at']}{k['tokens']} is {tokens!r}, not 'required' (IMDSv1 allowed)")
    return out


@resource_rule(
    "ec2-launch-template-imds-hop-limit", ADVISORY, (LAUNCH_TEMPLATE, CFN_STACK, CFN_STACKSET),
    f"EC2 launch templates keep the IMDS PUT response hop limit at {MAX_HOP_LIMIT} or less: 2 serves containers on the "
    "instance, a higher limit lets a token travel beyond it (checkov's stricter check wants 1)",
    checkov=("CKV_AWS_341",),
)
def launch_template_hop_limit(props, ctx):
    out = []
    for label, options, k in _metadata_options(props, ctx):
        hops, endpoint = get(options, k["hops"]), get(options, k["endpoint"])
        if is_unknown(hops) or is_unknown(endpoint) or endpoint == "disabled":
            continue
        try:
            n = int(hops) if hops is not None else None
        except (TypeError, ValueError):
            continue
        if n is not None and n > MAX_HOP_LIMIT:
            out.append(f"{label}{k['at']}{k['hops']} is {n}, above {MAX_HOP_LIMIT}")
    return out


# ---------------------------------------------------------------------------
# ECR
# ---------------------------------------------------------------------------

def _same_region(a: Resource, b: Resource) -> bool:
    ra, rb = a.props.get("region"), b.props.get("region")
    return not (isinstance(ra, str) and isinstance(rb, str) and ra != rb)  # unset or unknown: the provider's, may match


def _filter_matches(pattern: Any, name: Any) -> bool:
    # ECR: a filter without '*' matches names containing it; with '*', the whole name.
    if is_unknown(pattern) or is_unknown(name) or not isinstance(name, str):
        return True
    if not isinstance(pattern, str):
        return False
    return fnmatchcase(name, pattern) if "*" in pattern else pattern in name


def _inspector_covers(enabler: Resource, repo: Resource) -> bool:
    """Inspector's ECR scanning sets the account's registry to ENHANCED, continuously scanning every repository."""
    if not _same_region(enabler, repo) or not any(is_unknown(k) or k == "ECR" for k in d.as_list(enabler.props.get("resourceTypes"))):
        return False
    accounts = d.as_list(enabler.props.get("accountIds"))
    return repo.account_id is None or any(map(is_unknown, accounts)) or repo.account_id in accounts


def _registry_covers(config: Resource, repo: Resource) -> bool:
    """A registry scanning configuration lives in its provider's account: it covers that account's repositories."""
    other_account = None not in (config.account_id, repo.account_id) and config.account_id != repo.account_id
    if other_account or not _same_region(config, repo):
        return False
    rules = config.props.get("rules")
    if is_unknown(rules) or is_unknown(config.props.get("scanType")):
        return True
    for rule in d.as_list(rules):
        freq = get(rule, "scanFrequency")
        if not is_unknown(freq) and freq not in ("SCAN_ON_PUSH", "CONTINUOUS_SCAN"):
            continue
        filters = get(rule, "repositoryFilters")
        if is_unknown(filters) or any(_filter_matches(get(f, "filter"), repo.props.get("name")) for f in d.as_list(filters)):
            return True
    return False


@stack_rule(
    "ecr-repository-scanning", MANDATORY, (ECR_REPOSITORY, INSPECTOR_ENABLER, ECR_REGISTRY_SCANNING),
    "ECR repositories are scanned: imageScanningConfiguration.scanOnPush true, or registry-level scanning configured "
    "in the same plan for the repository's account and region (an Inspector enabler with ECR, or a registry scanning "
    "configuration whose scan-on-push or continuous rule matches the repository)",
    sechub=("ECR.1",), checkov=("CKV_AWS_163",), config_rule=("ECR_PRIVATE_IMAGE_SCANNING_ENABLED",),
)
def ecr_repository_scanning(resources: Sequence[Resource], settings: Settings):
    enablers = [r for r in resources if r.type == INSPECTOR_ENABLER]
    registries = [r for r in resources if r.type == ECR_REGISTRY_SCANNING]
    out = []
    for repo in resources:
        if repo.type != ECR_REPOSITORY:
            continue
        on_push = get(repo.props, "imageScanningConfiguration", "scanOnPush")
        if is_unknown(on_push) or is_truthy(on_push) is True:
            continue
        if any(_inspector_covers(e, repo) for e in enablers) or any(_registry_covers(c, repo) for c in registries):
            continue
        out.append((repo, "images are not scanned: scanOnPush is off and no Inspector enabler (ECR) or registry scanning "
                          "rule in this plan covers the repository's account and region"))
    return out


@resource_rule(
    "ecr-repository-tags-immutable", MANDATORY, (ECR_REPOSITORY,),
    "ECR repositories make tags immutable (imageTagMutability IMMUTABLE, or IMMUTABLE_WITH_EXCLUSION whose exclusion "
    "filters do not cover every tag), so a deployed tag always names the image that was scanned",
    sechub=("ECR.2",), checkov=("CKV_AWS_51",), config_rule=("ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED",),
)
def ecr_tags_immutable(props, ctx):
    mode = props.get("imageTagMutability")
    if is_unknown(mode):
        return []
    if mode in (None, "", "MUTABLE", "MUTABLE_WITH_EXCLUSION"):
        return [f"imageTagMutability is {mode or 'unset (MUTABLE)'}: a pushed tag can be overwritten after it was scanned"]
    if mode == "IMMUTABLE_WITH_EXCLUSION":
        filters = props.get("imageTagMutabilityExclusionFilters")
        if is_unknown(filters):
            return []
        for f in d.as_list(filters):
            text = get(f, "filter")
            if isinstance(text, str) and text and set(text) == {"*"}:
                return [f"exclusion filter {text!r} makes every tag mutable"]
    return []


@resource_rule(
    "ecr-repository-kms", MANDATORY, (ECR_REPOSITORY,),
    "ECR repositories encrypt images with KMS under a customer-managed key (encryptionConfigurations: encryptionType "
    "KMS or KMS_DSSE with kmsKey), not AES256 or the AWS-managed aws/ecr key",
    checkov=("CKV_AWS_136",),
)
def ecr_kms(props, ctx):
    configs = props.get("encryptionConfigurations")
    if is_unknown(configs):
        return []
    items = d.as_list(configs)
    if not items:
        return ["encryptionConfigurations is not set: images are encrypted with AES256, not a customer key"]
    out = []
    for c in items:
        kind, key = get(c, "encryptionType"), get(c, "kmsKey")
        if is_unknown(c) or is_unknown(kind):
            continue
        if kind not in ("KMS", "KMS_DSSE"):
            out.append(f"encryptionType is {kind or 'unset (AES256)'}, not KMS")
        elif not is_unknown(key) and (not key or (isinstance(key, str) and "alias/aws/" in key)):
            out.append("kmsKey is not a customer-managed key (the AWS-managed aws/ecr key is used)")
    return out
