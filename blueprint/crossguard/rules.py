"""secure-org policy-as-code rules, as plain functions (no pulumi_policy import here).

A **resource rule** is ``check(props, ctx) -> list[str]``: the messages of its violations
on one resource, whose ``props`` are the engine's camelCase inputs. A **stack rule** is
``check(resources, settings) -> list[(Resource | None, str)]``: it sees every resource at
once (an S3 bucket *has* a public-access block; attachments per OU...).

The same functions run in two places, through the same code:

* the offline plan: :func:`blueprint.crossguard.engine.evaluate` over ``build/plan-*.json``;
* ``pulumi preview --policy-pack policies/pack``: :mod:`blueprint.crossguard.pack` wraps each
  rule as a ``ResourceValidationPolicy`` / ``StackValidationPolicy``.

Each rule's description names the AWS Security Hub control and/or checkov check it matches
(or the AWS Config managed rule when neither has one). Unknown values (``pulumi preview``)
never produce a violation: ``pulumi up`` evaluates the rules again with real values.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from blueprint.crossguard import documents as d
from blueprint.crossguard.documents import UNKNOWN, first_set, get, is_set, is_truthy, is_unknown

MANDATORY = "mandatory"
ADVISORY = "advisory"
LEVELS = (MANDATORY, ADVISORY)

# ---------------------------------------------------------------------------
# Settings and context
# ---------------------------------------------------------------------------

# AWS Organizations policy type -> (max characters, max attached per target). AWS values in
# force since 2026-05-15 (config.PolicyLimits); the stack's own config overrides them.
DEFAULT_POLICY_LIMITS: Mapping[str, tuple[int, int]] = {
    "SERVICE_CONTROL_POLICY": (10240, 10),
    "RESOURCE_CONTROL_POLICY": (5120, 5),
    "TAG_POLICY": (10000, 10),
    "DECLARATIVE_POLICY_EC2": (10000, 10),
}
# Types for which AWS keeps a managed policy (FullAWSAccess / RCPFullAWSAccess) attached to
# every target; it uses one of the target's slots.
DEFAULT_ATTACHED_TYPES = frozenset({"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"})


@dataclass(frozen=True)
class Settings:
    """What the rules take from the stack's config (see engine.settings_from_config)."""

    break_glass_roles: frozenset[str] = frozenset()
    policy_limits: Mapping[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_POLICY_LIMITS))
    default_attached: frozenset[str] = DEFAULT_ATTACHED_TYPES
    exemptions: tuple[Any, ...] = ()  # config.PolicyExemption (rule, resource, reason, expires)


@dataclass(frozen=True)
class Context:
    """What a resource rule knows besides the props."""

    resource_type: str
    name: str
    urn: str = ""
    protect: bool = False
    account_id: str | None = None  # the account the resource deploys into, when known
    settings: Settings = field(default_factory=Settings)


@dataclass
class Resource:
    """One resource as stack rules see it (built from a plan record or a PolicyResource)."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool = False
    id: str | None = None
    parent: str | None = None
    property_dependencies: Mapping[str, list[str]] = field(default_factory=dict)
    account_id: str | None = None


ResourceCheck = Callable[[Mapping[str, Any], Context], list[str]]
StackCheck = Callable[[Sequence[Resource], Settings], list[tuple[Resource | None, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    level: str
    types: tuple[str, ...]
    description: str
    check: Callable[..., Any]
    kind: str = "resource"  # "resource" | "stack"
    sechub: tuple[str, ...] = ()
    checkov: tuple[str, ...] = ()
    config_rule: tuple[str, ...] = ()

    def applies_to(self, resource_type: str) -> bool:
        return resource_type in self.types


RULES: list[Rule] = []


def _register(kind: str, name: str, level: str, types: Iterable[str], description: str,
              sechub: Iterable[str] = (), checkov: Iterable[str] = (), config_rule: Iterable[str] = (),
              no_equivalent: str = ""):
    assert level in LEVELS, level
    sechub, checkov, config_rule = tuple(sechub), tuple(checkov), tuple(config_rule)
    refs = []
    if sechub:
        refs.append("Security Hub " + ", ".join(sechub))
    if checkov:
        refs.append("checkov " + ", ".join(checkov))
    if config_rule:
        refs.append("AWS Config " + ", ".join(config_rule))
    if not (sechub or checkov):
        refs.insert(0, "no Security Hub control or checkov check" + (f" ({no_equivalent})" if no_equivalent else ""))
    full = f"{description} [{'; '.join(refs)}]"

    def deco(fn):
        assert all(r.name != name for r in RULES), f"duplicate rule {name}"
        RULES.append(Rule(name, level, tuple(types), full, fn, kind, sechub, checkov, config_rule))
        return fn

    return deco


def resource_rule(name, level, types, description, **refs):
    return _register("resource", name, level, types, description, **refs)


def stack_rule(name, level, types, description, **refs):
    return _register("stack", name, level, types, description, **refs)


# ---------------------------------------------------------------------------
# Resource types
# ---------------------------------------------------------------------------

IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_ROLE_ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
IAM_USER_ATTACH = "aws:iam/userPolicyAttachment:UserPolicyAttachment"
IAM_GROUP_ATTACH = "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"
IAM_POLICY_ATTACH = "aws:iam/policyAttachment:PolicyAttachment"
CFN_STACK = "aws:cloudformation/stack:Stack"
CFN_STACKSET = "aws:cloudformation/stackSet:StackSet"

IAM_IDENTITY_TYPES = (IAM_ROLE, IAM_ROLE_POLICY, IAM_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY, CFN_STACK, CFN_STACKSET)
IAM_ATTACH_TYPES = (IAM_ROLE, IAM_ROLE_ATTACH, IAM_USER_ATTACH, IAM_GROUP_ATTACH, IAM_POLICY_ATTACH, CFN_STACK, CFN_STACKSET)
IAM_TRUST_TYPES = (IAM_ROLE, CFN_STACK, CFN_STACKSET)

KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"

S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
S3_BUCKETS = (S3_BUCKET, S3_BUCKET_V2)
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
S3_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
S3_ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
S3_LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")

CODEBUILD = "aws:codebuild/project:Project"
CODEPIPELINE = "aws:codepipeline/pipeline:Pipeline"
CODEDEPLOY_GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
SNS_TOPIC = "aws:sns/topic:Topic"
TRAIL = "aws:cloudtrail/trail:Trail"
CONFIG_DELIVERY = "aws:cfg/deliveryChannel:DeliveryChannel"
ORG_ACCOUNT = "aws:organizations/account:Account"
ORG_ORGANIZATION = "aws:organizations/organization:Organization"
ORG_POLICY = "aws:organizations/policy:Policy"
ORG_ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
ORG_OU = "aws:organizations/organizationalUnit:OrganizationalUnit"
IB_IMAGE = "aws:imagebuilder/image:Image"
IB_PIPELINE = "aws:imagebuilder/imagePipeline:ImagePipeline"
IB_DISTRIBUTION = "aws:imagebuilder/distributionConfiguration:DistributionConfiguration"
AMI_LAUNCH_PERMISSION = "aws:ec2/amiLaunchPermission:AmiLaunchPermission"

# Resource policies (besides S3 and KMS, which have their own rules) where "Principal: *"
# must be scoped to the organization or an account.
RESOURCE_POLICY_TYPES = {
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    SNS_TOPIC: "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:sqs/queue:Queue": "policy",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "policy",
    "aws:secretsmanager/secret:Secret": "policy",
    "aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy": "policyDocument",
    "aws:codeartifact/domainPermissions:DomainPermissions": "policyDocument",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "policyDocument",
}
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"


# ---------------------------------------------------------------------------
# IAM: roles, policies and StackSet templates seen as "units"
# ---------------------------------------------------------------------------

@dataclass
class IamUnit:
    """A role or policy: its trust policy, identity policies and attached managed policies."""

    label: str
    role_names: list[str] = field(default_factory=list)  # roles the policies apply to (empty: unknown/users)
    tags: dict[str, str] = field(default_factory=dict)
    trust: Any = None
    policies: list[tuple[str, Any]] = field(default_factory=list)
    managed: list[Any] = field(default_factory=list)
    only_roles: bool = True  # False when users or groups also receive the policies
    boundary: bool = False  # a permissions boundary: it caps what roles may do and grants nothing


def _role_name(value: Any) -> str | None:
    text = d.text_of(value)
    if not text or text.startswith("${"):
        return None
    return text.rsplit("/", 1)[-1]


def iam_units(resource_type: str, props: Mapping[str, Any]) -> list[IamUnit]:
    """The IAM roles/policies a resource declares (CloudFormation templates included)."""
    if resource_type == IAM_ROLE:
        name = _role_name(props.get("name"))
        unit = IamUnit(
            label=f"role {name or '(generated name)'}",
            role_names=[name] if name else [],
            tags=d.tags_of(props.get("tags")),
            trust=d.parse_document(props.get("assumeRolePolicy")),
        )
        for i, pol in enumerate(d.as_list(props.get("inlinePolicies"))):
            if isinstance(pol, Mapping):
                unit.policies.append((f"inline policy {d.text_of(pol.get('name')) or i}", d.parse_document(pol.get("policy"))))
        unit.managed = d.as_list(props.get("managedPolicyArns"))
        return [unit]
    if resource_type == IAM_ROLE_POLICY:
        role = _role_name(props.get("role"))
        return [IamUnit(label=f"inline policy of role {role or '?'}", role_names=[role] if role else [],
                        policies=[("policy", d.parse_document(props.get("policy")))])]
    if resource_type == IAM_POLICY:
        tags = d.tags_of(props.get("tags"))
        return [IamUnit(label="managed policy", tags=tags, only_roles=False,
                        boundary=tags.get("permissions-boundary", "").strip().lower() == "true",
                        policies=[("policy", d.parse_document(props.get("policy")))])]
    if resource_type in (IAM_USER_POLICY, IAM_GROUP_POLICY):
        return [IamUnit(label="user/group policy", only_roles=False, policies=[("policy", d.parse_document(props.get("policy")))])]
    if resource_type == IAM_ROLE_ATTACH:
        role = _role_name(props.get("role"))
        return [IamUnit(label=f"role {role or '?'}", role_names=[role] if role else [], managed=[props.get("policyArn")])]
    if resource_type in (IAM_USER_ATTACH, IAM_GROUP_ATTACH):
        return [IamUnit(label="user/group", only_roles=False, managed=[props.get("policyArn")])]
    if resource_type == IAM_POLICY_ATTACH:
        roles = [r for r in (_role_name(x) for x in d.as_list(props.get("roles"))) if r]
        only_roles = not d.as_list(props.get("users")) and not d.as_list(props.get("groups"))
        return [IamUnit(label="policy attachment", role_names=roles, only_roles=only_roles, managed=[props.get("policyArn")])]
    if resource_type in (CFN_STACK, CFN_STACKSET):
        return _template_units(props.get("templateBody"))
    return []


def template_resources(body: Any) -> Mapping[str, Mapping[str, Any]]:
    """A CloudFormation template's Resources (JSON templates; anything else reads as empty)."""
    template = d.parse_document(body)
    if not isinstance(template, Mapping) or not isinstance(template.get("Resources"), Mapping):
        return {}
    return {k: v for k, v in template["Resources"].items() if isinstance(v, Mapping)}


def _policy_name(value: Any) -> str | None:
    """'arn:...:policy/path/name' or 'name' -> 'name' (template text kept, e.g. '${Team}-boundary')."""
    text = d.text_of(value)
    if not text:
        return None
    return text.split(":policy/", 1)[-1].rsplit("/", 1)[-1]


def _template_boundaries(res: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Logical ids of managed policies used only as permissions boundaries in this template."""
    refs: set[str] = set()
    names: set[str] = set()
    attached: set[str] = set()
    for spec in res.values():
        p = spec.get("Properties") or {}
        pb = p.get("PermissionsBoundary")
        if isinstance(pb, Mapping) and "Ref" in pb:
            refs.add(str(pb["Ref"]))
        elif pb is not None and _policy_name(pb):
            names.add(_policy_name(pb) or "")
        for arn in d.as_list(p.get("ManagedPolicyArns")):
            if isinstance(arn, Mapping) and "Ref" in arn:
                attached.add(str(arn["Ref"]))
        docs = [p.get("AssumeRolePolicyDocument"), p.get("PolicyDocument")] + [
            pol.get("PolicyDocument") for pol in d.as_list(p.get("Policies")) if isinstance(pol, Mapping)]
        for doc in docs:
            for stmt in d.statements(d.parse_document(doc)):
                for key, values in d.positive_conditions(stmt).items():
                    if key == "iam:permissionsboundary":
                        names.update(n for n in (_policy_name(v) for v in values) if n)
    out = set()
    for logical, spec in res.items():
        if spec.get("Type") != "AWS::IAM::ManagedPolicy" or logical in attached:
            continue
        p = spec.get("Properties") or {}
        if p.get("Roles") or p.get("Users") or p.get("Groups"):
            continue
        if logical in refs or (_policy_name(p.get("ManagedPolicyName")) in names):
            out.add(logical)
    return out


def _template_units(body: Any) -> list[IamUnit]:
    res = template_resources(body)
    if not res:
        return []
    boundaries = _template_boundaries(res)
    roles: dict[str, IamUnit] = {}
    units: list[IamUnit] = []
    for logical, spec in res.items():
        if spec.get("Type") != "AWS::IAM::Role":
            continue
        p = spec.get("Properties") or {}
        name = _role_name(p.get("RoleName"))
        unit = IamUnit(
            label=f"template role {logical}",
            role_names=[name] if name else [],
            tags=d.tags_of(p.get("Tags")),
            trust=d.parse_document(p.get("AssumeRolePolicyDocument")),
            managed=d.as_list(p.get("ManagedPolicyArns")),
        )
        for i, pol in enumerate(d.as_list(p.get("Policies"))):
            if isinstance(pol, Mapping):
                unit.policies.append((f"inline policy {d.text_of(pol.get('PolicyName')) or i}", d.parse_document(pol.get("PolicyDocument"))))
        roles[logical] = unit
        units.append(unit)
    for logical, spec in res.items():
        if spec.get("Type") not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::RolePolicy"):
            continue
        p = spec.get("Properties") or {}
        attached = [roles.get(r["Ref"]) if isinstance(r, Mapping) and "Ref" in r else None for r in d.as_list(p.get("Roles"))]
        if spec["Type"] == "AWS::IAM::RolePolicy":
            attached = [roles.get(p["RoleName"]["Ref"]) if isinstance(p.get("RoleName"), Mapping) and "Ref" in p["RoleName"] else None]
        names = [n for u in attached if u for n in u.role_names]
        only_roles = all(u is not None for u in attached) and not p.get("Users") and not p.get("Groups") and bool(attached)
        tags = {}
        if attached and all(u is not None and u.tags.get("break-glass", "").lower() == "true" for u in attached):
            tags = {"break-glass": "true"}
        units.append(IamUnit(label=f"template {'permissions boundary' if logical in boundaries else 'policy'} {logical}",
                             role_names=names, tags=tags, only_roles=only_roles, boundary=logical in boundaries,
                             policies=[("policy", d.parse_document(p.get("PolicyDocument")))]))
    return units


def is_break_glass(unit: IamUnit, settings: Settings) -> bool:
    """Break-glass roles: tagged break-glass=true, or named in config's break_glass_roles."""
    if unit.tags.get("break-glass", "").strip().lower() == "true":
        return True
    return bool(unit.role_names) and unit.only_roles and all(n in settings.break_glass_roles for n in unit.role_names)


def _docs(unit: IamUnit) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for label, doc in unit.policies:
        if isinstance(doc, Mapping):
            yield label, doc


def _sid(stmt: Mapping[str, Any]) -> str:
    return f"statement {stmt['Sid']!r}" if isinstance(stmt.get("Sid"), str) else "a statement"


@resource_rule(
    "iam-trust-no-public-principal", MANDATORY, IAM_TRUST_TYPES,
    "Role trust policies never allow Principal \"*\" (or {\"AWS\": \"*\"}) without a condition pinning "
    "the caller to the organization or an account (aws:PrincipalOrgID, aws:SourceOrgID, aws:SourceAccount, aws:PrincipalArn...)",
    checkov=("CKV_AWS_60",),
)
def iam_trust_no_public_principal(props, ctx):
    out = []
    for unit in iam_units(ctx.resource_type, props):
        for stmt in d.statements(unit.trust):
            if d.is_allow(stmt) and d.is_public_principal(stmt) and not d.is_scoped(stmt):
                out.append(f"{unit.label}: trust {_sid(stmt)} lets any AWS principal assume the role; "
                           "add an aws:PrincipalOrgID / aws:PrincipalArn (or aws:SourceAccount for services) condition")
    return out


# IAM Identity Center roles end in a random suffix, so they are pinned by permission set:
# .../aws-reserved/sso.amazonaws.com/[<region>/]AWSReservedSSO_<PermissionSet>_<16 random chars>
SSO_ROLE_PIN = re.compile(
    r"^arn:aws[a-z-]*:iam::\d{12}:role/aws-reserved/sso\.amazonaws\.com/(\*/|[a-z0-9-]+/)?"
    r"AWSReservedSSO_[A-Za-z0-9+=,.@_-]*[A-Za-z0-9+=,.@-]_\?{16}$"
)


def _pinned_arn(stmt: Mapping[str, Any]) -> bool:
    """A positive aws:PrincipalArn condition naming exact principals (or Identity Center permission sets)."""
    values = d.positive_conditions(stmt).get("aws:principalarn", [])
    if not values:
        return False
    for v in values:
        if is_unknown(v) or d.is_intrinsic(v):
            continue
        if not isinstance(v, str):
            return False
        if ("*" in v or "?" in v) and not SSO_ROLE_PIN.match(v):
            return False
    return True


@resource_rule(
    "iam-trust-cross-account-pinned", MANDATORY, IAM_TRUST_TYPES,
    "A role trusting another account names the exact principal: either the role/user ARN itself as principal, "
    "or an account principal plus an aws:PrincipalArn condition without wildcards - except the random suffix of an "
    "IAM Identity Center role, AWSReservedSSO_<PermissionSet>_???????????????? (never a bare account root trust)",
    checkov=("CKV_AWS_61 (stricter: it fails account-root trusts even when aws:PrincipalArn pins them)",),
)
def iam_trust_cross_account_pinned(props, ctx):
    out = []
    for unit in iam_units(ctx.resource_type, props):
        for stmt in d.statements(unit.trust):
            if not d.is_allow(stmt):
                continue
            for p in d.principals(stmt).get("AWS", []):
                kind, acct = d.principal_account(p)
                if kind != "account":
                    continue
                same = acct == "${AWS::AccountId}" or (acct is not None and ctx.account_id is not None and acct == ctx.account_id)
                if same or _pinned_arn(stmt):
                    continue
                out.append(f"{unit.label}: trust {_sid(stmt)} trusts account {acct or d.text_of(p)} as a whole; "
                           "pin the caller with an aws:PrincipalArn condition naming the exact role ARN")
    return out


@resource_rule(
    "iam-trust-oidc-subject-pinned", MANDATORY, IAM_TRUST_TYPES,
    "Web-identity (OIDC) trusts pin the token subject: a positive '<provider>:sub' condition that is not a bare wildcard",
    checkov=("CKV_AWS_358",),
)
def iam_trust_oidc_subject_pinned(props, ctx):
    out = []
    for unit in iam_units(ctx.resource_type, props):
        for stmt in d.statements(unit.trust):
            if not d.is_allow(stmt):
                continue
            feds = [d.text_of(f) or "" for f in d.principals(stmt).get("Federated", [])]
            web = any("oidc-provider/" in f or not f.startswith("arn:") for f in feds if f) or any(
                a.startswith("sts:assumerolewithwebidentity") for a in d.actions(stmt))
            if not web or any("saml-provider/" in f for f in feds):
                continue
            subs = [v for k, vs in d.positive_conditions(stmt).items() if k.endswith(":sub") for v in vs]
            good = [v for v in subs if is_unknown(v) or d.is_intrinsic(v) or (
                isinstance(v, str) and v.strip() not in ("*", "") and not v.startswith("*") and not re.fullmatch(r"repo:\*.*", v))]
            if not good or len(good) != len(subs):
                out.append(f"{unit.label}: web-identity trust {_sid(stmt)} does not pin the token subject (':sub' condition)")
    return out


@resource_rule(
    "iam-no-admin-star", MANDATORY, IAM_IDENTITY_TYPES,
    "No identity policy allows Action \"*\" on Resource \"*\" (nor Allow+NotAction on \"*\"), except on break-glass roles "
    "(tagged break-glass=true or named in guardrails/team break_glass_roles). KMS key policies and permissions boundaries "
    "(which cap, never grant) are out of scope",
    sechub=("IAM.1",), checkov=("CKV_AWS_62", "CKV_AWS_63"), config_rule=("IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",),
)
def iam_no_admin_star(props, ctx):
    out = []
    for unit in iam_units(ctx.resource_type, props):
        if unit.boundary or is_break_glass(unit, ctx.settings):
            continue
        for label, doc in _docs(unit):
            for stmt in d.statements(doc):
                if not d.is_allow(stmt):
                    continue
                res_star = any(isinstance(r, str) and r.strip() == "*" for r in d.resources(stmt)) or "NotResource" in stmt
                if not res_star:
                    continue
                if any(a in ("*", "*:*") for a in d.actions(stmt)):
                    out.append(f"{unit.label}, {label}: {_sid(stmt)} allows \"*\" on \"*\" (full administrator)")
                elif "NotAction" in stmt:
                    out.append(f"{unit.label}, {label}: {_sid(stmt)} allows everything but NotAction on \"*\"")
    return out


# Services where "service:*" hands over identity, keys, the organization, the audit and detective
# controls, secrets and data, remote execution (ssm, ec2) or code running under other roles
# (lambda: UpdateFunctionCode on a more privileged function is a privilege escalation).
SENSITIVE_SERVICES = frozenset(
    """iam sts kms organizations account sso sso-directory identitystore ram
    s3 secretsmanager ssm ec2 lambda backup
    cloudtrail config guardduty securityhub inspector2 access-analyzer macie2 detective""".split()
)


@resource_rule(
    "iam-no-wildcard-sensitive-actions", MANDATORY, IAM_IDENTITY_TYPES,
    "Identity policies never grant a whole sensitive service (iam:*, sts:*, kms:*, organizations:*, s3:*, "
    "secretsmanager:*, ssm:*, lambda:*, ...), except break-glass roles; KMS key policies (kms:* to the account root) and "
    "permissions boundaries are out of scope",
    sechub=("IAM.21",), checkov=("CKV_AWS_289", "CKV_AWS_290"),
)
def iam_no_wildcard_sensitive_actions(props, ctx):
    out = []
    for unit in iam_units(ctx.resource_type, props):
        if unit.boundary or is_break_glass(unit, ctx.settings):
            continue
        for label, doc in _docs(unit):
            for stmt in d.statements(doc):
                if not d.is_allow(stmt):
                    continue
                bad = sorted({a for a in d.actions(stmt) if a.endswith(":*") and a.split(":", 1)[0] in SENSITIVE_SERVICES})
                if bad:
                    out.append(f"{unit.label}, {label}: {_sid(stmt)} grants {', '.join(bad)}; list the actions needed")
    return out


ADMIN_MANAGED = re.compile(r":policy/AdministratorAccess$")


@resource_rule(
    "iam-no-administrator-access", MANDATORY, IAM_ATTACH_TYPES,
    "The AWS-managed AdministratorAccess policy is attached to break-glass roles only",
    checkov=("CKV_AWS_274",), sechub=("IAM.1",),
)
def iam_no_administrator_access(props, ctx):
    out = []
    for unit in iam_units(ctx.resource_type, props):
        if is_break_glass(unit, ctx.settings):
            continue
        for arn in unit.managed:
            text = d.text_of(arn)
            if text and ADMIN_MANAGED.search(text):
                out.append(f"{unit.label}: AdministratorAccess attached; only break-glass roles may have it")
    return out


# ---------------------------------------------------------------------------
# KMS
# ---------------------------------------------------------------------------

@resource_rule(
    "kms-key-rotation", MANDATORY, (KMS_KEY,),
    "Symmetric customer-managed KMS keys have automatic rotation enabled",
    sechub=("KMS.4",), checkov=("CKV_AWS_7",), config_rule=("CMK_BACKING_KEY_ROTATION_ENABLED",),
)
def kms_key_rotation(props, ctx):
    spec = first_set(props.get("customerMasterKeySpec"), props.get("keySpec"), default="SYMMETRIC_DEFAULT")
    usage = first_set(props.get("keyUsage"), default="ENCRYPT_DECRYPT")
    if is_unknown(spec) or is_unknown(usage) or spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        return []  # asymmetric and HMAC keys cannot rotate automatically
    rotation = props.get("enableKeyRotation")
    if not is_unknown(rotation) and is_truthy(rotation) is not True:
        return ["enableKeyRotation is not true"]
    return []


def _public_unscoped(doc: Any) -> list[Mapping[str, Any]]:
    return [s for s in d.statements(doc) if d.is_allow(s) and d.is_public_principal(s) and not d.is_scoped(s)]


@resource_rule(
    "kms-key-policy-no-public-principal", MANDATORY, (KMS_KEY, KMS_KEY_POLICY),
    "KMS key policies never allow Principal \"*\" without a condition scoping the caller (kms:CallerAccount, "
    "aws:PrincipalOrgID, aws:SourceAccount...)",
    checkov=("CKV_AWS_33",),
)
def kms_key_policy_no_public_principal(props, ctx):
    return [f"key policy {_sid(s)} allows any AWS principal without an org/account condition"
            for s in _public_unscoped(d.parse_document(props.get("policy")))]


# ---------------------------------------------------------------------------
# Resource policies (SNS, SQS, EventBridge, ECR, Secrets Manager, Lambda...)
# ---------------------------------------------------------------------------

@resource_rule(
    "resource-policy-no-public-principal", MANDATORY, (*RESOURCE_POLICY_TYPES, LAMBDA_PERMISSION),
    "Resource policies (SNS, SQS, EventBridge bus, ECR, Secrets Manager, CodeArtifact, Lambda permissions) never "
    "allow Principal \"*\" without an org/account/source condition",
    sechub=("SNS.4", "SQS.3", "Lambda.1"), checkov=("CKV_AWS_169", "CKV_AWS_168"),
)
def resource_policy_no_public_principal(props, ctx):
    if ctx.resource_type == LAMBDA_PERMISSION:
        principal = props.get("principal")
        if principal == "*" and not any(is_set(props.get(k)) for k in ("sourceAccount", "sourceArn", "principalOrgId")):
            return ["lambda permission for principal \"*\" without sourceAccount, sourceArn or principalOrgId"]
        return []
    key = RESOURCE_POLICY_TYPES[ctx.resource_type]
    return [f"{_sid(s)} allows any AWS principal without an org/account condition"
            for s in _public_unscoped(d.parse_document(props.get(key)))]


# ---------------------------------------------------------------------------
# S3: per-resource rules on the v7 companion resources
# ---------------------------------------------------------------------------

def _tls_deny(doc: Any) -> bool | None:
    """Does the document deny non-TLS requests on the bucket's objects? None if unknown."""
    if is_unknown(doc):
        return None
    for stmt in d.statements(doc):
        if not d.is_deny(stmt) or not d.is_public_principal(stmt):
            continue
        acts = d.actions(stmt)
        if not any(a in ("s3:*", "*") for a in acts):
            continue
        cond = stmt.get("Condition")
        if not isinstance(cond, Mapping):
            continue
        tls = False
        for op, block in cond.items():
            if str(op).lower() in ("bool", "boolifexists") and isinstance(block, Mapping):
                for k, v in block.items():
                    if str(k).lower() == "aws:securetransport" and any(is_truthy(x) is False for x in d.as_list(v)):
                        tls = True
        if not tls:
            continue
        res = d.resources(stmt)
        if any(is_unknown(r) or d.is_intrinsic(r) for r in res):
            return True
        if any(isinstance(r, str) and (r.strip() == "*" or r.endswith("/*")) for r in res):
            return True
    return False


@resource_rule(
    "s3-bucket-policy-tls-only", MANDATORY, (S3_POLICY, *S3_BUCKETS),
    "Bucket policies deny every request made without TLS (Deny s3:* for Principal * when aws:SecureTransport is false, "
    "covering the objects)",
    sechub=("S3.5",), config_rule=("S3_BUCKET_SSL_REQUESTS_ONLY",),
)
def s3_bucket_policy_tls_only(props, ctx):
    inline = props.get("policy")
    if ctx.resource_type in S3_BUCKETS and (inline is None or inline == ""):
        return []  # no inline policy: s3-bucket-has-tls-policy checks the companion BucketPolicy
    doc = d.parse_document(props.get("policy"))
    if is_unknown(doc):
        return []
    if doc is None:
        return ["bucket policy is empty or not a JSON policy document"]
    if _tls_deny(doc) is False:
        return ["no Deny statement for aws:SecureTransport=false over s3:* on the bucket's objects"]
    return []


@resource_rule(
    "s3-bucket-policy-no-public-principal", MANDATORY, (S3_POLICY, *S3_BUCKETS),
    "Bucket policies never allow Principal \"*\" without an org/account/source condition",
    sechub=("S3.2", "S3.3"), checkov=("CKV_AWS_70",),
)
def s3_bucket_policy_no_public_principal(props, ctx):
    return [f"bucket policy {_sid(s)} allows any AWS principal without an org/account condition"
            for s in _public_unscoped(d.parse_document(props.get("policy")))]


@resource_rule(
    "s3-bucket-public-access-block", MANDATORY, (S3_PAB,),
    "Bucket public access blocks set blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets",
    sechub=("S3.8",), checkov=("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"),
)
def s3_bucket_public_access_block(props, ctx):
    off = [k for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
           if not is_unknown(props.get(k)) and is_truthy(props.get(k)) is not True]
    return [f"{', '.join(off)} not true"] if off else []


@resource_rule(
    "s3-bucket-versioning-enabled", MANDATORY, (*S3_VERSIONING, *S3_BUCKETS),
    "A bucket's versioning configuration, when declared, is Enabled (not Suspended or Disabled)",
    sechub=("S3.14",), checkov=("CKV_AWS_21",),
)
def s3_bucket_versioning_enabled(props, ctx):
    if ctx.resource_type in S3_BUCKETS:
        enabled = get(props, "versioning", "enabled")
        if props.get("versioning") is not None and not is_unknown(enabled) and is_truthy(enabled) is False:
            return ["inline versioning is not enabled"]
        return []
    status = get(props, "versioningConfiguration", "status")
    if is_unknown(status) or status == "Enabled":
        return []
    return [f"versioning status is {status!r}, not 'Enabled'"]


PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
PUBLIC_GRANTEES = ("acs.amazonaws.com/groups/global/AllUsers", "acs.amazonaws.com/groups/global/AuthenticatedUsers")


@resource_rule(
    "s3-bucket-no-public-acl", MANDATORY, (*S3_BUCKETS, *S3_ACL),
    "Buckets never get a public canned ACL or a grant to AllUsers/AuthenticatedUsers",
    sechub=("S3.2", "S3.3"), checkov=("CKV_AWS_20", "CKV_AWS_57"),
)
def s3_bucket_no_public_acl(props, ctx):
    out = []
    acl = props.get("acl")
    if isinstance(acl, str) and acl in PUBLIC_ACLS:
        out.append(f"canned ACL {acl!r} is public")
    grants = d.as_list(props.get("grants")) + d.as_list(get(props, "accessControlPolicy", "grants"))
    for g in grants:
        for uri in (get(g, "uri"), get(g, "grantee", "uri")):
            if isinstance(uri, str) and uri.endswith(PUBLIC_GRANTEES):
                out.append(f"ACL grant to {uri.rsplit('/', 1)[-1]}")
    return out


# ---------------------------------------------------------------------------
# S3: stack rules (every bucket HAS its companions)
# ---------------------------------------------------------------------------

def _by_urn(resources: Sequence[Resource]) -> dict[str, Resource]:
    return {r.urn: r for r in resources}


def _bucket_ids(bucket: Resource) -> set[str]:
    ids = set()
    for v in (bucket.props.get("bucket"), bucket.id, bucket.props.get("id")):
        if isinstance(v, str) and v:
            ids.add(v)
    arn = bucket.props.get("arn")
    if isinstance(arn, str) and arn.startswith("arn:"):
        ids.add(arn)
    return ids


def _refers_to(res: Resource, prop: str, target: Resource, target_ids: set[str]) -> bool:
    if target.urn in res.property_dependencies.get(prop, []):
        return True
    value = res.props.get(prop)
    return isinstance(value, str) and value in target_ids


# One index per resource list and (type, property): companions are looked up, not scanned,
# so the stack rules stay linear in the number of resources (was quadratic: every bucket
# scanned every resource).
_INDEX: dict[tuple[int, str, str], tuple[Sequence[Resource], dict[str, list[tuple[int, Resource]]]]] = {}


def _index(resources: Sequence[Resource], rtype: str, prop: str) -> dict[str, list[tuple[int, Resource]]]:
    key = (id(resources), rtype, prop)
    hit = _INDEX.get(key)
    if hit is not None and hit[0] is resources:
        return hit[1]
    if len(_INDEX) > 256:
        _INDEX.clear()
    by: dict[str, list[tuple[int, Resource]]] = defaultdict(list)
    for pos, r in enumerate(resources):
        if r.type != rtype:
            continue
        keys = set(r.property_dependencies.get(prop, []))
        value = r.props.get(prop)
        if isinstance(value, str):
            keys.add(value)
        for k in keys:
            by[k].append((pos, r))
    _INDEX[key] = (resources, by)
    return by


def _companions(resources: Sequence[Resource], bucket: Resource, types: Iterable[str], prop: str = "bucket") -> list[Resource]:
    keys = _bucket_ids(bucket) | {bucket.urn}
    found: dict[int, Resource] = {}
    for rtype in types:
        index = _index(resources, rtype, prop)
        for k in keys:
            for pos, r in index.get(k, ()):
                found[pos] = r
    # In list order, as a scan would give them, so messages come out in a stable order.
    return [found[pos] for pos in sorted(found)]


def _buckets(resources: Sequence[Resource]) -> list[Resource]:
    return [r for r in resources if r.type in S3_BUCKETS]


def _bucket_policies(resources: Sequence[Resource], bucket: Resource) -> list[Any]:
    docs = [d.parse_document(p.props.get("policy")) for p in _companions(resources, bucket, (S3_POLICY,))]
    if bucket.props.get("policy") is not None:
        docs.append(d.parse_document(bucket.props.get("policy")))
    return docs


def _service_principals(doc: Any) -> set[str]:
    out = set()
    for stmt in d.statements(doc):
        if d.is_allow(stmt):
            out.update(s for s in (d.text_of(x) for x in d.principals(stmt).get("Service", [])) if s)
    return out


def is_access_log_target(resources: Sequence[Resource], bucket: Resource) -> bool:
    """A bucket receiving S3 server access logs: its policy lets logging.s3.amazonaws.com write."""
    return any("logging.s3.amazonaws.com" in _service_principals(doc) for doc in _bucket_policies(resources, bucket))


LOG_DELIVERY_SERVICES = frozenset({
    "logging.s3.amazonaws.com", "cloudtrail.amazonaws.com", "config.amazonaws.com", "delivery.logs.amazonaws.com",
    "logdelivery.elasticloadbalancing.amazonaws.com", "vpc-flow-logs.amazonaws.com",
})
LOG_OR_ARTIFACT_NAME = re.compile(r"(^|[^a-z])(logs?|trail|audit|artifacts?)([^a-z]|$)")


def is_log_or_artifact_bucket(resources: Sequence[Resource], bucket: Resource) -> bool:
    ids = _bucket_ids(bucket)
    for r in resources:
        if r.type in S3_LOGGING and _refers_to(r, "targetBucket", bucket, ids):
            return True
        if r.type in (TRAIL, CONFIG_DELIVERY) and _refers_to(r, "s3BucketName", bucket, ids):
            return True
        if r.type == CODEPIPELINE:
            for i, store in enumerate(d.as_list(r.props.get("artifactStores"))):
                loc = get(store, "location")
                if (isinstance(loc, str) and loc in ids) or bucket.urn in r.property_dependencies.get("artifactStores", []):
                    return True
        if r.type == CODEBUILD:
            loc = get(r.props, "artifacts", "location")
            if isinstance(loc, str) and loc in ids:
                return True
    if any(_service_principals(doc) & LOG_DELIVERY_SERVICES for doc in _bucket_policies(resources, bucket)):
        return True
    names = [bucket.name, *(i for i in ids if not i.startswith("arn:"))]
    return any(LOG_OR_ARTIFACT_NAME.search(n.lower()) for n in names)


def _sse_rules(props: Mapping[str, Any]) -> list[Any]:
    rules = d.as_list(props.get("rules"))
    inline = props.get("serverSideEncryptionConfiguration")
    if inline is not None:
        rules += d.as_list(get(inline, "rule")) + d.as_list(get(inline, "rules"))
    return rules


@stack_rule(
    "s3-bucket-sse-kms", MANDATORY, (*S3_SSE, *S3_BUCKETS),
    "Bucket default encryption is SSE-KMS with a customer-managed key; SSE-S3 (AES256) only for the S3 "
    "server-access-log target bucket (recognized by a logging.s3.amazonaws.com grant in its policy) or under a waiver",
    sechub=("S3.17",), checkov=("CKV_AWS_145",),
)
def s3_bucket_sse_kms(resources, settings):
    out: list[tuple[Resource | None, str]] = []
    for bucket in _buckets(resources):
        configs = [(c, _sse_rules(c.props)) for c in _companions(resources, bucket, S3_SSE)]
        if bucket.props.get("serverSideEncryptionConfiguration") is not None:
            configs.append((bucket, _sse_rules(bucket.props)))
        for owner, rules in configs:
            for rule in rules:
                default = get(rule, "applyServerSideEncryptionByDefault")
                alg = get(default, "sseAlgorithm")
                key = get(default, "kmsMasterKeyId")
                if is_unknown(alg):
                    continue
                if alg in ("aws:kms", "aws:kms:dsse"):
                    if not is_set(key):
                        out.append((owner, f"bucket {bucket.name}: SSE-KMS without kmsMasterKeyId uses the AWS-managed aws/s3 key; name a customer-managed key"))
                    elif isinstance(key, str) and key.endswith("alias/aws/s3"):
                        out.append((owner, f"bucket {bucket.name}: uses the AWS-managed aws/s3 key; name a customer-managed key"))
                elif alg == "AES256":
                    # At preview the policy naming logging.s3.amazonaws.com may still be unknown.
                    if not is_access_log_target(resources, bucket) and not any(is_unknown(doc) for doc in _bucket_policies(resources, bucket)):
                        out.append((owner, f"bucket {bucket.name}: SSE-S3 (AES256) is allowed only for the S3 server-access-log target bucket"))
                elif alg is None:
                    out.append((owner, f"bucket {bucket.name}: encryption rule sets no default sseAlgorithm"))
                else:
                    out.append((owner, f"bucket {bucket.name}: default encryption {alg!r} is not SSE-KMS"))
    return out


@stack_rule(
    "s3-bucket-has-encryption", MANDATORY, S3_BUCKETS,
    "Every bucket has a BucketServerSideEncryptionConfiguration (or inline configuration) so its key is explicit",
    sechub=("S3.17",), checkov=("CKV_AWS_19", "CKV_AWS_145"),
)
def s3_bucket_has_encryption(resources, settings):
    return [(b, f"bucket {b.name} has no server-side encryption configuration")
            for b in _buckets(resources)
            if not _companions(resources, b, S3_SSE) and b.props.get("serverSideEncryptionConfiguration") is None]


@stack_rule(
    "s3-bucket-has-public-access-block", MANDATORY, S3_BUCKETS,
    "Every bucket has its own BucketPublicAccessBlock (independent of the account-level block)",
    sechub=("S3.8",), checkov=("CKV2_AWS_6",),
)
def s3_bucket_has_public_access_block(resources, settings):
    return [(b, f"bucket {b.name} has no BucketPublicAccessBlock") for b in _buckets(resources)
            if not _companions(resources, b, (S3_PAB,))]


@stack_rule(
    "s3-bucket-has-tls-policy", MANDATORY, S3_BUCKETS,
    "Every bucket has a bucket policy that denies non-TLS requests",
    sechub=("S3.5",), config_rule=("S3_BUCKET_SSL_REQUESTS_ONLY",),
)
def s3_bucket_has_tls_policy(resources, settings):
    out: list[tuple[Resource | None, str]] = []
    for b in _buckets(resources):
        docs = _bucket_policies(resources, b)
        if not docs:
            out.append((b, f"bucket {b.name} has no bucket policy (TLS-only access is not enforced)"))
        elif not any(_tls_deny(doc) is not False for doc in docs):
            out.append((b, f"bucket {b.name}: no policy denies requests without TLS"))
    return out


@stack_rule(
    "s3-log-artifact-bucket-versioning", MANDATORY, S3_BUCKETS,
    "Log and artifact buckets (access-log/CloudTrail/Config targets, pipeline artifact stores, log-delivery grants, "
    "names with log/trail/audit/artifact) have versioning Enabled",
    sechub=("S3.14",), checkov=("CKV_AWS_21",),
)
def s3_log_artifact_bucket_versioning(resources, settings):
    out: list[tuple[Resource | None, str]] = []
    for b in _buckets(resources):
        if not is_log_or_artifact_bucket(resources, b):
            continue
        statuses = [get(v.props, "versioningConfiguration", "status") for v in _companions(resources, b, S3_VERSIONING)]
        inline = get(b.props, "versioning", "enabled")
        if any(is_unknown(s) or s == "Enabled" for s in statuses) or is_unknown(inline) or is_truthy(inline) is True:
            continue
        out.append((b, f"log/artifact bucket {b.name} has no enabled versioning"))
    return out


# ---------------------------------------------------------------------------
# CodeBuild
# ---------------------------------------------------------------------------

@resource_rule(
    "codebuild-not-privileged", MANDATORY, (CODEBUILD,),
    "CodeBuild projects do not run in privileged mode unless tagged privileged-reason (at least 10 characters)",
    sechub=("CodeBuild.5",), checkov=("CKV_AWS_316",), config_rule=("CODEBUILD_PROJECT_ENVIRONMENT_PRIVILEGED_CHECK",),
)
def codebuild_not_privileged(props, ctx):
    if is_truthy(get(props, "environment", "privilegedMode")) is not True:
        return []
    reason = d.tags_of(props.get("tags")).get("privileged-reason", "")
    if is_unknown(get(props, "tags")) or len(reason.strip()) >= 10:
        return []
    return ["privilegedMode is on without a 'privileged-reason' tag explaining why"]


SECRET_NAME_PARTS = frozenset({"PASSWORD", "PASSWD", "PWD", "SECRET", "TOKEN", "APIKEY", "PASSPHRASE", "CREDENTIAL", "CREDENTIALS"})
SECRET_NAME_JOINED = re.compile(r"(ACCESS_?KEY|SECRET_?KEY|API_?KEY|PRIVATE_?KEY|AUTH_?TOKEN|CLIENT_?SECRET)", re.I)
SECRET_VALUE = re.compile(
    r"((AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,})"
)
AWS_SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])")


def _looks_secret_value(value: str) -> bool:
    if SECRET_VALUE.search(value):
        return True
    for m in AWS_SECRET_KEY.finditer(value):
        s = m.group(0)
        # 40 characters with upper, lower and digits (a hex git SHA is not one)
        if re.search(r"[A-Z]", s) and re.search(r"[a-z]", s) and re.search(r"[0-9]", s):
            return True
    return False


def _looks_secret_name(name: str) -> bool:
    parts = set(re.split(r"[^A-Z0-9]+", name.upper()))
    return bool(parts & SECRET_NAME_PARTS) or bool(SECRET_NAME_JOINED.search(name))


def _is_reference(value: str) -> bool:
    """A pointer to a secret rather than the secret (an SSM path, an ARN, a ${var})."""
    v = value.strip()
    return v.startswith(("/", "arn:", "${", "#{")) or v == ""


@resource_rule(
    "codebuild-no-plaintext-secrets", MANDATORY, (CODEBUILD,),
    "CodeBuild PLAINTEXT environment variables never carry credentials (secret-like names with literal values, "
    "AWS access keys, tokens, private keys); use PARAMETER_STORE or SECRETS_MANAGER",
    sechub=("CodeBuild.2",), config_rule=("CODEBUILD_PROJECT_ENVVAR_AWSCRED_CHECK",),
)
def codebuild_no_plaintext_secrets(props, ctx):
    out = []
    for var in d.as_list(get(props, "environment", "environmentVariables")):
        if not isinstance(var, Mapping):
            continue
        vtype = first_set(var.get("type"), default="PLAINTEXT")
        name, value = var.get("name"), var.get("value")
        if is_unknown(vtype) or vtype != "PLAINTEXT" or not isinstance(name, str):
            continue
        if isinstance(value, str) and _looks_secret_value(value):
            out.append(f"environment variable {name} holds what looks like a credential in plain text")
        elif isinstance(value, str) and _looks_secret_name(name) and not _is_reference(value):
            out.append(f"environment variable {name} looks like a secret but is PLAINTEXT; use PARAMETER_STORE or SECRETS_MANAGER")
    return out


CREDENTIAL_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]+@", re.I)


@resource_rule(
    "codebuild-source-no-credentials", MANDATORY, (CODEBUILD,),
    "CodeBuild source locations never embed credentials (https://user:token@host/...)",
    sechub=("CodeBuild.1",), config_rule=("CODEBUILD_PROJECT_SOURCE_REPO_URL_CHECK",),
)
def codebuild_source_no_credentials(props, ctx):
    out = []
    sources = [props.get("source")] + d.as_list(props.get("secondarySources"))
    for src in sources:
        loc = get(src, "location")
        if isinstance(loc, str) and CREDENTIAL_URL.match(loc):
            out.append("source location embeds credentials; use a CodeConnections connection or a credential provider")
    return out


@resource_rule(
    "codebuild-logs-encrypted", MANDATORY, (CODEBUILD,),
    "CodeBuild projects encrypt with a customer-managed key (encryptionKey) and log to CloudWatch Logs "
    "(logsConfig.cloudwatchLogs not DISABLED); S3 logs, when on, are not unencrypted",
    sechub=("CodeBuild.3", "CodeBuild.4"), checkov=("CKV_AWS_147", "CKV_AWS_311", "CKV_AWS_314"),
    config_rule=("CODEBUILD_PROJECT_LOGGING_ENABLED", "CODEBUILD_PROJECT_S3_LOGS_ENCRYPTED"),
)
def codebuild_logs_encrypted(props, ctx):
    out = []
    if not is_set(props.get("encryptionKey")):
        out.append("encryptionKey is not set (build outputs and logs use the AWS-managed key)")
    logs = props.get("logsConfig")
    if is_unknown(logs):
        return out
    cw = get(logs, "cloudwatchLogs")
    if logs is None or cw is None:
        out.append("logsConfig.cloudwatchLogs is not configured")
    elif not is_unknown(cw) and get(cw, "status") == "DISABLED":
        out.append("CloudWatch Logs are DISABLED")
    s3 = get(logs, "s3Logs")
    if get(s3, "status") == "ENABLED" and is_truthy(get(s3, "encryptionDisabled")) is True:
        out.append("S3 logs are written unencrypted (encryptionDisabled)")
    return out


@resource_rule(
    "codebuild-artifacts-encrypted", MANDATORY, (CODEBUILD,),
    "CodeBuild artifacts (primary and secondary) are never written with encryptionDisabled",
    checkov=("CKV_AWS_78",), config_rule=("CODEBUILD_PROJECT_ARTIFACT_ENCRYPTION",),
)
def codebuild_artifacts_encrypted(props, ctx):
    out = []
    for label, art in [("artifacts", props.get("artifacts"))] + [
            (f"secondary artifact {d.text_of(get(a, 'artifactIdentifier')) or i}", a) for i, a in enumerate(d.as_list(props.get("secondaryArtifacts")))]:
        if is_truthy(get(art, "encryptionDisabled")) is True and get(art, "type") != "NO_ARTIFACTS":
            out.append(f"{label}: encryptionDisabled is true")
    return out


# ---------------------------------------------------------------------------
# SNS, CloudTrail
# ---------------------------------------------------------------------------

@resource_rule(
    "sns-topic-kms", MANDATORY, (SNS_TOPIC,),
    "SNS topics are encrypted at rest with a KMS key (kmsMasterKeyId)",
    sechub=("SNS.1",), checkov=("CKV_AWS_26",), config_rule=("SNS_ENCRYPTED_KMS",),
)
def sns_topic_kms(props, ctx):
    return [] if is_set(props.get("kmsMasterKeyId")) else ["kmsMasterKeyId is not set"]


@resource_rule(
    "cloudtrail-log-file-validation", MANDATORY, (TRAIL,),
    "CloudTrail trails have log file validation enabled",
    sechub=("CloudTrail.4",), checkov=("CKV_AWS_36",), config_rule=("CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",),
)
def cloudtrail_log_file_validation(props, ctx):
    v = props.get("enableLogFileValidation")
    return [] if is_unknown(v) or is_truthy(v) is True else ["enableLogFileValidation is not true"]


@resource_rule(
    "cloudtrail-kms", MANDATORY, (TRAIL,),
    "CloudTrail trails encrypt log files with SSE-KMS (kmsKeyId)",
    sechub=("CloudTrail.2",), checkov=("CKV_AWS_35",), config_rule=("CLOUD_TRAIL_ENCRYPTION_ENABLED",),
)
def cloudtrail_kms(props, ctx):
    return [] if is_set(props.get("kmsKeyId")) else ["kmsKeyId is not set"]


@resource_rule(
    "cloudtrail-multi-region", MANDATORY, (TRAIL,),
    "CloudTrail trails are multi-region and include global service events",
    sechub=("CloudTrail.1",), checkov=("CKV_AWS_67",), config_rule=("MULTI_REGION_CLOUD_TRAIL_ENABLED",),
)
def cloudtrail_multi_region(props, ctx):
    out = []
    if not is_unknown(props.get("isMultiRegionTrail")) and is_truthy(props.get("isMultiRegionTrail")) is not True:
        out.append("isMultiRegionTrail is not true")
    if is_truthy(props.get("includeGlobalServiceEvents")) is False:
        out.append("includeGlobalServiceEvents is false")
    return out


@resource_rule(
    "cloudtrail-cloudwatch-logs", ADVISORY, (TRAIL,),
    "CloudTrail trails also deliver to CloudWatch Logs (for metric filters and alarms)",
    sechub=("CloudTrail.5",), checkov=("CKV2_AWS_10",), config_rule=("CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED",),
)
def cloudtrail_cloudwatch_logs(props, ctx):
    return [] if is_set(props.get("cloudWatchLogsGroupArn")) else ["cloudWatchLogsGroupArn is not set"]


# ---------------------------------------------------------------------------
# Organizations
# ---------------------------------------------------------------------------

@resource_rule(
    "org-resources-protected", MANDATORY, (ORG_ACCOUNT, ORG_ORGANIZATION),
    "Member accounts and the organization carry the 'protect' resource option, so no config edit can close or delete them",
    no_equivalent="a Pulumi resource option, invisible to AWS",
)
def org_resources_protected(props, ctx):
    what = "account" if ctx.resource_type == ORG_ACCOUNT else "organization"
    return [] if ctx.protect else [f"the {what} is not protected (resource option protect=True)"]


@resource_rule(
    "org-policy-size", MANDATORY, (ORG_POLICY,),
    "SCP, RCP, tag and EC2 declarative policy content fits its size limit (organization.policy_limits; "
    "defaults SCP 10,240, RCP 5,120, tag/declarative 10,000 characters; whitespace counts)",
    no_equivalent="AWS rejects an oversized policy only at deploy time",
)
def org_policy_size(props, ctx):
    ptype = first_set(props.get("type"), default="SERVICE_CONTROL_POLICY")
    content = props.get("content")
    if is_unknown(ptype) or not isinstance(content, str):
        return []
    limit = ctx.settings.policy_limits.get(ptype)
    if limit is None:
        return []
    max_chars = limit[0]
    if len(content) > max_chars:
        return [f"{ptype} content is {len(content)} characters, over the {max_chars} limit by {len(content) - max_chars}"]
    return []


def _linked(res: Resource, prop: str, index: Mapping[str, Resource], by_id: Mapping[str, Resource]) -> Resource | None:
    for urn in res.property_dependencies.get(prop, []):
        if urn in index:
            return index[urn]
    value = res.props.get(prop)
    if isinstance(value, str):
        return by_id.get(value)
    return None


@stack_rule(
    "org-policy-attachments-per-target", MANDATORY, (ORG_ATTACHMENT,),
    "Policies attached per root/OU/account and type stay within organization.policy_limits max_per_target, counting "
    "the AWS-managed FullAWSAccess / RCPFullAWSAccess that keeps one slot",
    no_equivalent="AWS rejects the extra attachment only at deploy time",
)
def org_policy_attachments_per_target(resources, settings):
    index = _by_urn(resources)
    by_id: dict[str, Resource] = {}
    for r in resources:
        for v in (r.id, r.props.get("id")):
            if isinstance(v, str) and v:
                by_id[v] = r
    groups: dict[tuple[str, str], list[Resource]] = defaultdict(list)
    labels: dict[str, str] = {}
    for att in resources:
        if att.type != ORG_ATTACHMENT:
            continue
        policy = _linked(att, "policyId", index, by_id)
        if policy is None or policy.type != ORG_POLICY:
            continue
        ptype = first_set(policy.props.get("type"), default="SERVICE_CONTROL_POLICY")
        if is_unknown(ptype):
            continue
        target = _linked(att, "targetId", index, by_id)
        raw = att.props.get("targetId")
        key = target.urn if target is not None else (raw if isinstance(raw, str) else None)
        if key is None:
            continue
        labels[key] = (d.text_of(target.props.get("name")) or target.name) if target is not None else str(raw)
        groups[(key, ptype)].append(att)
    out: list[tuple[Resource | None, str]] = []
    for (key, ptype), atts in sorted(groups.items()):
        limit = settings.policy_limits.get(ptype)
        if limit is None:
            continue
        total = len(atts) + (1 if ptype in settings.default_attached else 0)
        if total > limit[1]:
            out.append((atts[-1], f"{labels[key]}: {total} {ptype} attached (incl. the AWS-managed default), limit {limit[1]}"))
    return out


# ---------------------------------------------------------------------------
# CodePipeline
# ---------------------------------------------------------------------------

PROD_TOKENS = frozenset({"prod", "production", "prd", "live"})
DEPLOY_WORDS = frozenset({"deploy", "deployment", "release", "promote", "rollout"})
SCAN_KINDS: dict[str, frozenset[str]] = {
    "sast": frozenset({"sast", "semgrep", "codeql", "bandit", "sonarqube", "sonarcloud", "gosec", "brakeman"}),
    "secrets": frozenset({"secrets", "secret", "gitleaks", "trufflehog", "detectsecrets"}),
    "sca": frozenset({"sca", "dependency", "dependencies", "osv", "grype", "snyk", "trivy", "dependencycheck", "pipaudit", "npmaudit"}),
    "dast": frozenset({"dast", "zap", "owasp", "nuclei", "burp"}),
}
SCAN_CATEGORIES = frozenset({"Build", "Test", "Invoke"})


@dataclass
class _Action:
    stage: int
    order: int
    stage_name: str
    name: str
    category: str
    provider: str
    config: Mapping[str, Any]
    uncertain: bool = False  # a name, category or CodeBuild project name is unknown (preview)

    @property
    def position(self) -> tuple[int, int]:
        return (self.stage, self.order)

    def name_tokens(self) -> set[str]:
        return d.tokens(self.stage_name, self.name, self.config.get("ProjectName"), self.config.get("FunctionName"))

    def all_tokens(self) -> set[str]:
        vals = [v for k, v in self.config.items() if k not in ("EnvironmentVariables", "UserParameters", "ParameterOverrides")]
        return d.tokens(self.stage_name, self.name, *vals)


@dataclass
class _Pipeline:
    actions: list[_Action]
    uncertain: bool  # some stage or action could not be read (unknown during preview)


def pipeline_actions(props: Mapping[str, Any]) -> _Pipeline:
    """The pipeline's actions in execution order (stage index, runOrder)."""
    stages = props.get("stages")
    if is_unknown(stages):
        return _Pipeline([], True)
    out, uncertain = [], False
    for si, stage in enumerate(d.as_list(stages)):
        if not isinstance(stage, Mapping):
            uncertain = True
            continue
        acts = stage.get("actions")
        if is_unknown(acts):
            uncertain = True
        for action in d.as_list(acts):
            if not isinstance(action, Mapping):
                uncertain = True
                continue
            order = action.get("runOrder")
            order = int(order) if isinstance(order, (int, float)) else 1
            config = action.get("configuration")
            cfg = config if isinstance(config, Mapping) else {}
            unsure = is_unknown(config) or any(is_unknown(x) for x in (
                stage.get("name"), action.get("name"), action.get("category"), cfg.get("ProjectName"), cfg.get("FunctionName")))
            out.append(_Action(si, order, d.text_of(stage.get("name")) or "", d.text_of(action.get("name")) or "",
                               d.text_of(action.get("category")) or "", d.text_of(action.get("provider")) or "",
                               cfg, unsure))
            uncertain |= unsure
    return _Pipeline(out, uncertain)


def production_deploy(actions: list[_Action]) -> _Action | None:
    """The first action that deploys to production (see policies/pack/README.md for the convention).

    * a Deploy-category action whose stage name, action name or configuration values contain
      a production word (prod, production, prd, live) - 'preprod' does not count;
    * a Build/Invoke action whose stage or action name has both a production word and a deploy
      word (deploy, release, promote, rollout): deployment by script;
    * otherwise, when Deploy actions sit in two or more stages, the last such stage (a
      multi-environment pipeline ends in production).
    """
    named = []
    for a in actions:
        words = d.tokens(a.stage_name, a.name)
        if a.category == "Deploy" and a.all_tokens() & PROD_TOKENS:
            named.append(a)
        elif a.category in ("Build", "Invoke") and words & PROD_TOKENS and words & DEPLOY_WORDS:
            named.append(a)
    if named:
        return min(named, key=lambda a: a.position)
    deploy_stages = sorted({a.stage for a in actions if a.category == "Deploy"})
    if len(deploy_stages) >= 2:
        return min((a for a in actions if a.category == "Deploy" and a.stage == deploy_stages[-1]), key=lambda a: a.position)
    return None


@resource_rule(
    "pipeline-approval-before-prod", MANDATORY, (CODEPIPELINE,),
    "A manual approval action (category Approval) runs before the production deploy: in an earlier stage, or earlier "
    "in the same stage (lower runOrder)",
    no_equivalent="CodePipeline has no managed check for approval gates",
)
def pipeline_approval_before_prod(props, ctx):
    pipe = pipeline_actions(props)
    prod = production_deploy(pipe.actions)
    if prod is None:
        return []
    if any(a.category == "Approval" and a.position < prod.position for a in pipe.actions):
        return []
    if pipe.uncertain:
        return []
    return [f"no manual approval before production deploy {prod.stage_name}/{prod.name}"]


def _scan_rule(kind: str):
    words = SCAN_KINDS[kind]

    def check(props, ctx):
        pipe = pipeline_actions(props)
        scans = [a for a in pipe.actions if a.category in SCAN_CATEGORIES and a.name_tokens() & words]
        prod = production_deploy(pipe.actions)
        if not scans:
            if pipe.uncertain:
                return []
            return [f"no {kind.upper()} scan action (a Build/Test/Invoke action, stage or CodeBuild project named with "
                    f"one of: {', '.join(sorted(words))})"]
        if prod is not None and not any(a.position < prod.position for a in scans):
            return [f"the {kind.upper()} scan runs after the production deploy {prod.stage_name}/{prod.name}"]
        return []

    return check


for _kind, _what in (
    ("sast", "static application security testing (SAST, e.g. Semgrep)"),
    ("secrets", "secret scanning (e.g. gitleaks)"),
    ("sca", "software composition analysis of dependencies (SCA, e.g. OSV-Scanner, Trivy)"),
    ("dast", "dynamic application security testing against staging (DAST, e.g. OWASP ZAP)"),
):
    resource_rule(
        f"pipeline-{_kind}-scan", MANDATORY, (CODEPIPELINE,),
        f"Pipelines run {_what} in a Build/Test/Invoke action before the production deploy "
        f"(recognized by action, stage or CodeBuild project name; see policies/pack/README.md)",
        no_equivalent="no managed control checks pipeline scan stages",
    )(_scan_rule(_kind))
del _kind, _what


@resource_rule(
    "pipeline-artifact-store-kms", MANDATORY, (CODEPIPELINE,),
    "Pipeline artifact stores are encrypted with a customer-managed KMS key referenced by key ARN "
    "(aliases do not resolve across accounts)",
    checkov=("CKV_AWS_219",),
)
def pipeline_artifact_store_kms(props, ctx):
    stores = props.get("artifactStores")
    if is_unknown(stores):
        return []
    out = []
    for i, store in enumerate(d.as_list(stores)):
        key = get(store, "encryptionKey")
        kid = get(key, "id")
        if is_unknown(key) or is_unknown(kid):
            continue
        where = d.text_of(get(store, "region")) or f"#{i}"
        if not is_set(kid):
            out.append(f"artifact store {where} has no customer-managed encryptionKey")
        elif isinstance(kid, str) and ("alias/" in kid or not kid.startswith("arn:")):
            out.append(f"artifact store {where} references key {kid!r}; use the key ARN (aliases and ids do not work cross-account)")
    return out


# ---------------------------------------------------------------------------
# Image Builder, AMIs
# ---------------------------------------------------------------------------

@resource_rule(
    "imagebuilder-image-scanning", MANDATORY, (IB_IMAGE, IB_PIPELINE),
    "Image Builder images and pipelines enable image scanning (imageScanningConfiguration.imageScanningEnabled) "
    "and keep image tests on (imageTestsConfiguration)",
    no_equivalent="AWS Config cannot see Image Builder scanning settings",
)
def imagebuilder_image_scanning(props, ctx):
    out = []
    scan = props.get("imageScanningConfiguration")
    enabled = get(scan, "imageScanningEnabled")
    if not is_unknown(enabled) and is_truthy(enabled) is not True:
        out.append("imageScanningConfiguration.imageScanningEnabled is not true (Inspector CVE scanning off)")
    tests = get(props, "imageTestsConfiguration", "imageTestsEnabled")
    if is_truthy(tests) is False:
        out.append("imageTestsConfiguration.imageTestsEnabled is false")
    return out


@resource_rule(
    "imagebuilder-ami-not-public", MANDATORY, (IB_DISTRIBUTION, AMI_LAUNCH_PERMISSION),
    "AMI launch permissions are never public (no userGroups 'all' / group 'all'); share with the organization or OUs",
    no_equivalent="mirrors the EC2 declarative policy image_block_public_access",
)
def imagebuilder_ami_not_public(props, ctx):
    if ctx.resource_type == AMI_LAUNCH_PERMISSION:
        return ["launch permission grants group 'all' (public AMI)"] if props.get("group") == "all" else []
    out = []
    for dist in d.as_list(props.get("distributions")):
        groups = d.as_list(get(dist, "amiDistributionConfiguration", "launchPermission", "userGroups"))
        if any(isinstance(g, str) and g.lower() == "all" for g in groups):
            out.append(f"distribution to {d.text_of(get(dist, 'region')) or '?'} makes the AMI public (userGroups 'all')")
    return out


# ---------------------------------------------------------------------------
# CodeDeploy
# ---------------------------------------------------------------------------

ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")


def _cfn_value(value: Any) -> Any:
    """A template value for the rules: intrinsics are decided at deploy time, so UNKNOWN."""
    if d.is_intrinsic(value) or (isinstance(value, Mapping) and "Fn::If" in value):
        return UNKNOWN
    if isinstance(value, list):
        return [_cfn_value(v) for v in value]
    return value


def deployment_groups(resource_type: str, props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, camelCase props) of the deployment groups a resource declares, templates included."""
    if resource_type == CODEDEPLOY_GROUP:
        return [("", props)]
    out = []
    for logical, spec in template_resources(props.get("templateBody")).items():
        if spec.get("Type") != "AWS::CodeDeploy::DeploymentGroup":
            continue
        p = spec.get("Properties") or {}
        group: dict[str, Any] = {}
        arc = p.get("AutoRollbackConfiguration")
        if arc is not None:
            group["autoRollbackConfiguration"] = UNKNOWN if not isinstance(arc, Mapping) or "Fn::If" in arc else {
                "enabled": _cfn_value(arc.get("Enabled")), "events": _cfn_value(arc.get("Events"))}
        alc = p.get("AlarmConfiguration")
        if alc is not None:
            group["alarmConfiguration"] = UNKNOWN if not isinstance(alc, Mapping) or "Fn::If" in alc else {
                "enabled": _cfn_value(alc.get("Enabled")),
                # A conditional entry (Fn::If) is decided per stack instance: rules_codedeploy counts those.
                "alarms": _cfn_value([UNKNOWN if isinstance(a, Mapping) and "Fn::If" in a else a.get("Name") if isinstance(a, Mapping) else a
                                      for a in d.as_list(alc.get("Alarms"))])}
        out.append((f"template deployment group {logical}: ", group))
    return out


@resource_rule(
    "codedeploy-auto-rollback", MANDATORY, (CODEDEPLOY_GROUP, CFN_STACK, CFN_STACKSET),
    "Deployment groups (also inside StackSet templates) roll back automatically on DEPLOYMENT_FAILURE and "
    "DEPLOYMENT_STOP_ON_ALARM",
    config_rule=("CODEDEPLOY_AUTO_ROLLBACK_MONITOR_ENABLED",),
)
def codedeploy_auto_rollback(props, ctx):
    out = []
    for label, group in deployment_groups(ctx.resource_type, props):
        conf = group.get("autoRollbackConfiguration")
        if is_unknown(conf):
            continue
        enabled, events = get(conf, "enabled"), get(conf, "events")
        if is_unknown(enabled) or is_unknown(events):
            continue
        if is_truthy(enabled) is not True:
            out.append(f"{label}autoRollbackConfiguration is not enabled")
            continue
        missing = [e for e in ROLLBACK_EVENTS if e not in d.as_list(events)]
        if missing and not any(is_unknown(e) for e in d.as_list(events)):
            out.append(f"{label}auto-rollback does not cover {', '.join(missing)}")
    return out


@resource_rule(
    "codedeploy-alarms", MANDATORY, (CODEDEPLOY_GROUP, CFN_STACK, CFN_STACKSET),
    "Deployment groups (also inside StackSet templates) monitor CloudWatch alarms (alarmConfiguration enabled, "
    "1 to 10 alarms) so a bad deploy stops",
    config_rule=("CODEDEPLOY_AUTO_ROLLBACK_MONITOR_ENABLED",),
)
def codedeploy_alarms(props, ctx):
    out = []
    for label, group in deployment_groups(ctx.resource_type, props):
        conf = group.get("alarmConfiguration")
        if is_unknown(conf):
            continue
        enabled, alarms = get(conf, "enabled"), get(conf, "alarms")
        if is_unknown(enabled) or is_unknown(alarms):
            continue
        if is_truthy(enabled) is not True:
            out.append(f"{label}alarmConfiguration is not enabled")
        if any(is_unknown(a) for a in d.as_list(alarms)):
            continue
        n = len(d.as_list(alarms))
        if n == 0:
            out.append(f"{label}no alarms are monitored")
        elif n > 10:
            out.append(f"{label}{n} alarms; AWS allows at most 10 per deployment group")
    return out


# ---------------------------------------------------------------------------
# Exemption hygiene (findings produced by blueprint.crossguard.exemptions, never waivable)
# ---------------------------------------------------------------------------

META_RULES: dict[str, tuple[str, str]] = {
    "policy-exemption-expired": (MANDATORY, "A policy_exemptions entry is past its expires date: it waives nothing and must be renewed or removed"),
    "policy-exemption-unknown-rule": (MANDATORY, "A policy_exemptions entry names a rule that does not exist (or cannot be waived)"),
    "policy-exemption-unused": (ADVISORY, "A policy_exemptions entry matches no finding: remove it"),
    "policy-exemption-waived": (ADVISORY, "A finding waived by a policy_exemptions entry, listed so reviewers see every waiver in effect (policy pack only; the offline plan marks the finding itself 'waived')"),
    "crossguard-stack-config": (MANDATORY, "The policy pack could not read the stack's secure-org config (limits, break-glass roles, exemptions)"),
}


def by_name() -> dict[str, Rule]:
    return {r.name: r for r in RULES}


def resource_rules() -> list[Rule]:
    return [r for r in RULES if r.kind == "resource"]


def stack_rules() -> list[Rule]:
    return [r for r in RULES if r.kind == "stack"]


from blueprint.crossguard import rules_codedeploy  # noqa: E402,F401  (registers its rules)
from blueprint.crossguard import rules_images  # noqa: E402,F401  (registers its rules)
from blueprint.crossguard import rules_compute, rules_logs, rules_org  # noqa: E402,F401  (register their rules)
