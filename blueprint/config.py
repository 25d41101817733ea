"""Typed stack configuration: the single source of truth for one AWS Organization.

A stack file (``Pulumi.<stack>.yaml``) holds one organization. Every key under the
project namespace is validated here, *before* any resource is registered, and all
problems are reported together, each naming the file and key path. Validation is strict:
no value is converted (``true`` is not 1, ``"5"`` is not 5), keys outside the known
namespaces are errors (config_namespaces), and names derived from config are held to
AWS's limits (limits).
"""

from __future__ import annotations

import difflib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from blueprint import config_namespaces, limits
from blueprint.config_errors import ConfigError, close_match, describe, fmt_path, inner_model
from blueprint.config_namespaces import PROJECT
from blueprint.config_values import IsoDate, ServicePrincipal, exact_int
from blueprint.pipeline_config import Pipeline

ENVIRONMENTS = ("dev", "test", "prod")
ROOT = "Root"
MAX_OU_DEPTH = 5  # AWS Organizations nests OUs at most five levels deep.

# Public commercial regions. Kept as data so a typo such as "us-east1" is caught offline.
AWS_REGIONS = frozenset(
    """
    us-east-1 us-east-2 us-west-1 us-west-2 af-south-1 ap-east-1 ap-east-2 ap-south-1
    ap-south-2 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5
    ap-southeast-6 ap-southeast-7 ap-northeast-1 ap-northeast-2 ap-northeast-3 ca-central-1
    ca-west-1 eu-central-1 eu-central-2 eu-west-1 eu-west-2 eu-west-3 eu-south-1 eu-south-2
    eu-north-1 il-central-1 me-south-1 me-central-1 mx-central-1 sa-east-1
    """.split()
)

# Service principals the later capabilities (baseline, pipelines, image factory) need.
DEFAULT_SERVICE_PRINCIPALS = (
    "access-analyzer.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "config-multiaccountsetup.amazonaws.com",
    "config.amazonaws.com",
    "guardduty.amazonaws.com",
    "imagebuilder.amazonaws.com",
    "inspector2.amazonaws.com",
    "malware-protection.guardduty.amazonaws.com",
    "member.org.stacksets.cloudformation.amazonaws.com",
    "ram.amazonaws.com",
    "securityhub.amazonaws.com",
    "sso.amazonaws.com",
)

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
ROLE_RE = re.compile(r"^[\w+=,.@-]{1,64}$")


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never pass silently.

    Types are strict too, but per validation (``parse`` validates with ``strict=True``), so
    the pipeline's models are held to it as well and code may still build models directly.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


def _email(value: str) -> str:
    if not EMAIL_RE.match(value):
        raise ValueError(f"{value!r} is not a valid email address")
    return value.lower()


def _region(value: str) -> str:
    if value not in AWS_REGIONS:
        close = difflib.get_close_matches(value, sorted(AWS_REGIONS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"{value!r} is not an AWS region{hint}")
    return value


def _role(value: str) -> str:
    if not ROLE_RE.match(value):
        raise ValueError(f"{value!r} is not a valid IAM role name")
    return value


def _environment(value: str) -> str:
    if value not in ENVIRONMENTS:
        raise ValueError(f"{value!r} is not one of {', '.join(ENVIRONMENTS)}")
    return value


def _name(value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(
            f"{value!r} must be 3-32 characters of lower-case letters, digits and '-', "
            "starting with a letter"
        )
    return value


Email = Annotated[str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})]
Region = Annotated[str, AfterValidator(_region), WithJsonSchema({"type": "string", "enum": sorted(AWS_REGIONS)})]
RoleName = Annotated[str, AfterValidator(_role)]
Environment = Annotated[str, AfterValidator(_environment), WithJsonSchema({"type": "string", "enum": list(ENVIRONMENTS)})]
Name = Annotated[str, AfterValidator(_name)]
OuPath = Annotated[str, Field(description="OU path from the root, e.g. 'Workloads/Prod', or 'Root'")]


class PolicyLimit(Strict):
    max_chars: int = Field(gt=0, description="Largest minified document AWS accepts")
    max_per_target: int = Field(gt=0, le=50, description="Policies of this type per root, OU or account")


class PolicyLimits(Strict):
    """Defaults are the AWS values in force since 2026-05-15; older orgs may set 5120 / 5."""

    service_control_policy: PolicyLimit = PolicyLimit(max_chars=10240, max_per_target=10)
    resource_control_policy: PolicyLimit = PolicyLimit(max_chars=5120, max_per_target=5)
    tag_policy: PolicyLimit = PolicyLimit(max_chars=10000, max_per_target=10)
    declarative_policy_ec2: PolicyLimit = PolicyLimit(max_chars=10000, max_per_target=10)


class OrganizationConfig(Strict):
    name: Name = Field(description="Short name of this organization, used in resource names")
    home_region: Region
    allowed_regions: list[Region] = Field(min_length=1)
    account_email: str = Field(
        description="Template for account root emails; {account} becomes the account name",
        examples=["aws+{account}@example.com"],
    )
    org_access_role: RoleName = "OrganizationAccountAccessRole"
    service_access_principals: list[ServicePrincipal] = Field(default_factory=lambda: list(DEFAULT_SERVICE_PRINCIPALS))
    environment_ous: dict[Environment, OuPath] = Field(
        default_factory=lambda: {"dev": "Workloads/Dev", "test": "Workloads/Test", "prod": "Workloads/Prod"},
        description="Which OU each team environment's account is placed in",
    )
    suspended_ou: OuPath = "Suspended"
    policy_limits: PolicyLimits = PolicyLimits()
    quotas: dict[str, Annotated[int, Field(gt=0)]] = Field(
        default_factory=dict,
        description="Raised AWS quotas, by id from policies/quotas.yaml (e.g. organizations-accounts: 1500); the rest use AWS defaults",
    )

    @field_validator("account_email")
    @classmethod
    def _template(cls, value: str) -> str:
        if "{account}" not in value:
            raise ValueError("must contain '{account}' so every account gets its own email")
        _email(value.replace("{account}", "x"))
        return value

    @field_validator("service_access_principals")
    @classmethod
    def _unique_principals(cls, value: list[str]) -> list[str]:
        dupes = sorted({p for p in value if value.count(p) > 1})
        if dupes:
            raise ValueError(f"lists {', '.join(dupes)} more than once")
        return value

    @model_validator(mode="after")
    def _home_allowed(self) -> "OrganizationConfig":
        if self.home_region not in self.allowed_regions:
            raise ValueError(f"home_region {self.home_region!r} must be one of allowed_regions")
        return self


class OrganizationalUnit(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _-]{0,127}$")]
    children: list["OrganizationalUnit"] = Field(default_factory=list)


class SharedAccount(Strict):
    name: Name
    ou: OuPath
    email: Email | None = Field(default=None, description="Overrides organization.account_email")


class SharedAccounts(Strict):
    log_archive: SharedAccount
    security: SharedAccount
    tooling: SharedAccount
    image_factory: SharedAccount


class Team(Strict):
    name: Name
    owner_email: Email
    cost_center: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{2,32}$")]
    environments: list[Environment] = Field(min_length=1)
    break_glass_roles: list[RoleName] = Field(
        default_factory=list, description="Team break-glass roles, at IAM path /secure-org/break-glass/ in the team's accounts (exempt by path)"
    )
    exempt_roles: list[RoleName] = Field(
        default_factory=list, description="Team automation roles exempt from guardrails, at IAM path /secure-org/exempt/ (exempt by path)"
    )
    account_emails: dict[Environment, Email] = Field(
        default_factory=dict, description="Per-environment overrides of organization.account_email"
    )
    previous_names: list[Name] = Field(
        default_factory=list,
        description="Earlier team names, oldest first: the first is the team's identity (every resource name and account key), "
        "so a rename keeps every account and resource and changes only tags and descriptions",
    )
    decommission: list[Environment] = Field(
        default_factory=list,
        description="Environments whose account is being closed on purpose (see README)",
    )
    pipeline: Pipeline | None = Field(default=None, description="The team's delivery pipeline in the tooling account")

    @property
    def key(self) -> str:
        """The team's identity: its first name. Resource names and account keys derive from it, never from ``name``."""
        return self.previous_names[0] if self.previous_names else self.name

    @property
    def names(self) -> list[str]:
        """Every name the team has had, current first (the values its ``team`` tag may take)."""
        return list(dict.fromkeys([self.name, *reversed(self.previous_names)]))

    @field_validator("name", "previous_names")
    @classmethod
    def _not_platform_prefix(cls, value: Any) -> Any:
        # The guardrails protect every secure-org-* role, rule, topic, function and log group.
        for name in [value] if isinstance(value, str) else value:
            if name.startswith(PROJECT):
                raise ValueError(f"{name!r} starts with {PROJECT!r}, the prefix reserved for the platform's own resources (e.g. use 'org-{name[len(PROJECT):].strip('-') or 'team'}')")
        return value

    @field_validator("environments")
    @classmethod
    def _unique_envs(cls, value: list[str]) -> list[str]:
        dupes = sorted({e for e in value if value.count(e) > 1})
        if dupes:
            raise ValueError(f"lists {', '.join(dupes)} more than once")
        return value


PolicyKind = Literal[
    "service_control_policies", "resource_control_policies", "tag_policies", "declarative_policies"
]


class Guardrails(Strict):
    break_glass_roles: list[RoleName] = Field(min_length=1, description="Exempt from every guardrail")
    exempt_roles: list[RoleName] = Field(
        default_factory=list, description="Platform automation roles exempt from guardrails"
    )
    service_control_policies: dict[OuPath, list[str]] = Field(default_factory=dict)
    resource_control_policies: dict[OuPath, list[str]] = Field(default_factory=dict)
    tag_policies: dict[OuPath, list[str]] = Field(default_factory=dict)
    declarative_policies: dict[OuPath, list[str]] = Field(default_factory=dict)


class LogArchive(Strict):
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "COMPLIANCE"
    object_lock_days: int = Field(default=365, ge=1, le=36500)
    transition_to_glacier_days: int = Field(default=90, ge=30)
    expire_days: int = Field(default=2555, ge=1, description="Delete log objects after this many days (7 years by default)")
    cloudwatch_retention_days: Annotated[
        Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
        BeforeValidator(exact_int),
    ] = 365

    @model_validator(mode="after")
    def _ordering(self) -> "LogArchive":
        if self.expire_days <= self.object_lock_days:
            raise ValueError(f"expire_days ({self.expire_days}) must be longer than object_lock_days ({self.object_lock_days})")
        if self.expire_days <= self.transition_to_glacier_days:
            raise ValueError("expire_days must be longer than transition_to_glacier_days")
        return self


class StackSetRollout(Strict):
    """How fast the per-account baseline rolls out (CloudFormation StackSet operation preferences)."""

    max_concurrent_percentage: int = Field(default=25, ge=1, le=100)
    failure_tolerance_percentage: int = Field(default=10, ge=0, le=100)
    region_concurrency_type: Literal["SEQUENTIAL", "PARALLEL"] = "PARALLEL"


class SecurityBaseline(Strict):
    alert_emails: list[Email] = Field(min_length=1, description="Subscribed to the critical-event SNS topic")
    log_archive: LogArchive = LogArchive()
    rollout: StackSetRollout = StackSetRollout()
    password_min_length: int = Field(default=16, ge=14, le=128)
    audit_role: RoleName = Field(default="SecurityAuditor", description="Role in the security account allowed to assume every account's audit role")
    break_glass_principals: list[RoleName] = Field(
        default_factory=lambda: ["BreakGlassOperator"],
        description="Roles in the management account allowed to assume break-glass roles (with MFA)",
    )


Severity = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
CUSTOM_COMPONENT_DIR = Path(__file__).resolve().parent / "images" / "components"
SEMVER_RE = re.compile(r"^(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})\.(0|[1-9][0-9]{0,5})$")
SSM_NAME_RE = re.compile(r"^/[A-Za-z0-9_.\-/]{1,1010}$")
INSTANCE_TYPE_RE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
COMPONENT_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,126}$")


def _cron6(value: str) -> str:
    # Image Builder takes cron(...) with six fields (minutes hours day-of-month month day-of-week year).
    inner = value[5:-1].split() if value.startswith("cron(") and value.endswith(")") else None
    if inner is None or len(inner) != 6:
        raise ValueError(f"{value!r} must be a six-field cron expression such as 'cron(0 3 ? * SUN *)'")
    return value


def _semver(value: str) -> str:
    if not SEMVER_RE.match(value):
        raise ValueError(f"{value!r} must be a semantic version such as '1.0.0'")
    return value


class GoldenImage(Strict):
    """One golden AMI: onboarding an image is adding one of these blocks."""

    name: Name
    description: str = Field(default="", max_length=1024)
    version: Annotated[str, AfterValidator(_semver)] = Field(default="1.0.0", description="Recipe version; bump it when components or parent change")
    parent_image_parameter: str = Field(
        description="SSM parameter holding the parent AMI id, e.g. /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    )
    aws_components: list[str] = Field(
        default_factory=lambda: ["update-linux"], description="AWS-managed Image Builder components (latest x.x.x), e.g. update-linux, stig-build-linux-high"
    )
    components: list[str] = Field(default_factory=list, description="Custom components: blueprint/images/components/<name>.yaml (AWSTOE documents)")
    schedule: Annotated[str, AfterValidator(_cron6)] = "cron(0 3 ? * SUN *)"
    severity_threshold: Severity = Field(default="HIGH", description="A scan finding at or above this stops the build and revokes an approved AMI")
    regions: list[Region] = Field(default_factory=list, description="Regions the AMI is distributed to and shared in (default: the home region)")
    instance_types: list[str] = Field(min_length=1, max_length=10, description="Build instance types, e.g. m7i.large")
    keep: int = Field(default=3, ge=1, le=100, description="Newest images kept; older ones are deprecated, then deleted")
    delete_after_days: int = Field(default=90, ge=7, le=3650, description="Deprecated images older than this are deleted (the newest 'keep' never)")
    volume_size_gb: int = Field(default=30, ge=8, le=16384)

    @field_validator("parent_image_parameter")
    @classmethod
    def _ssm_name(cls, value: str) -> str:
        if not SSM_NAME_RE.match(value):
            raise ValueError(f"{value!r} must be an SSM parameter name starting with '/' (letters, digits, '_', '.', '-', '/')")
        return value

    @field_validator("instance_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not INSTANCE_TYPE_RE.match(v)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} is not an EC2 instance type such as 'm7i.large'")
        return value

    @field_validator("aws_components")
    @classmethod
    def _aws_components(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if not COMPONENT_RE.match(v)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} is not an AWS-managed component name such as 'update-linux'")
        return value

    @field_validator("components")
    @classmethod
    def _custom_components(cls, value: list[str]) -> list[str]:
        missing = [v for v in value if not COMPONENT_RE.match(v) or not (CUSTOM_COMPONENT_DIR / f"{v}.yaml").is_file()]
        if missing:
            known = sorted(p.stem for p in CUSTOM_COMPONENT_DIR.glob("*.yaml"))
            raise ValueError(f"no custom component {', '.join(map(repr, missing))} in blueprint/images/components/ (known: {', '.join(known) or 'none'})")
        return value

    @model_validator(mode="after")
    def _components_and_regions(self) -> "GoldenImage":
        if not self.aws_components and not self.components:
            raise ValueError("an image needs at least one component")
        if len(self.aws_components) + len(self.components) > 20:
            raise ValueError("a recipe takes at most 20 components")
        for what, items in (("regions", self.regions), ("components", self.aws_components + self.components)):
            dupes = sorted({i for i in items if items.count(i) > 1})
            if dupes:
                raise ValueError(f"{what} lists {', '.join(dupes)} more than once")
        return self


class ImageFactory(Strict):
    """The golden-AMI factory in the image-factory account, and how strictly AMIs are enforced."""

    images: list[GoldenImage] = Field(min_length=1)
    allowed_amis: dict[OuPath, Literal["enabled", "audit-mode"]] = Field(
        default_factory=dict,
        description="Allowed AMIs enforcement per OU: 'enabled' attaches ec2-baseline, 'audit-mode' ec2-baseline-ami-audit",
    )
    patch_severity_threshold: Severity = Field(default="HIGH", description="Inspector EC2 findings at or above this run AWS-RunPatchBaseline on the instance")
    network_cidr: str = Field(default="10.252.0.0/24", description="The small build VPC (no internet ingress)")

    @field_validator("network_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        import ipaddress

        try:
            net = ipaddress.IPv4Network(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 CIDR block such as '10.252.0.0/24'") from None
        if not 16 <= net.prefixlen <= 26:
            raise ValueError(f"{value!r}: the build VPC must be between /16 and /26 (two subnets are carved from it)")
        return value

    @field_validator("images")
    @classmethod
    def _unique(cls, value: list[GoldenImage]) -> list[GoldenImage]:
        names = [i.name for i in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"image {', '.join(map(repr, dupes))} is defined more than once")
        return value


class PolicyExemption(Strict):
    """A waiver of one policy-as-code rule for matching resources, with a reason and an end date.

    An expired exemption no longer waives anything and is itself reported as a finding.
    """

    rule: Annotated[str, Field(min_length=3, description="Rule name, e.g. 's3-bucket-sse-kms'")]
    resource: Annotated[str, Field(min_length=1, description="Resource name or fnmatch pattern, e.g. 'org-baseline-*'")]
    reason: Annotated[str, Field(min_length=15, description="Why this is acceptable; shown to reviewers")]
    expires: IsoDate


# Formats are checked in _cross_check, so that every problem is reported at once, in words.
EXISTING_ID_FORMATS = {
    "organization": (re.compile(r"^o-[a-z0-9]{10,32}$"), "'o-' and 10 to 32 lowercase letters or digits, e.g. 'o-a1b2c3d4e5'"),
    "ou": (re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$"), "'ou-', the root's 4 to 32 characters, '-' and 8 to 32 more, e.g. 'ou-ab12-cdef3456'"),
    "account": (re.compile(r"^[0-9]{12}$"), "twelve digits, quoted in YAML, e.g. '123456789012'"),
}


class ExistingResources(Strict):
    """An organization that already exists: ids to adopt (Pulumi ``import``) on the first ``pulumi up``.

    After that first run the ids are in the state; leaving them in config is harmless.
    """

    organization_id: str | None = Field(default=None, description="The existing organization, e.g. o-a1b2c3d4e5")
    organizational_units: dict[OuPath, str] = Field(default_factory=dict, description="OU path -> existing OU id, e.g. ou-ab12-cdef3456")
    accounts: dict[str, str] = Field(
        default_factory=dict, description="Account key (log_archive, security, tooling, image_factory, <team>-<env>) -> existing account id"
    )


class StackConfig(Strict):
    """Everything under the ``secure-org:`` namespace of one stack file."""

    organization: OrganizationConfig
    organizational_units: list[OrganizationalUnit]
    shared_accounts: SharedAccounts
    guardrails: Guardrails
    security_baseline: SecurityBaseline
    teams: list[Team] = Field(default_factory=list)
    policy_exemptions: list[PolicyExemption] = Field(default_factory=list)
    image_factory: ImageFactory | None = Field(default=None, description="The golden-AMI factory (images, scan gate, Allowed AMIs per OU)")
    existing: ExistingResources = Field(default_factory=ExistingResources, description="Existing organization, OUs and accounts to adopt (import) instead of creating")

    # ---- derived views -------------------------------------------------
    def ou_paths(self) -> list[str]:
        out: list[str] = []

        def walk(nodes: list[OrganizationalUnit], prefix: str) -> None:
            for node in nodes:
                path = f"{prefix}{node.name}"
                out.append(path)
                walk(node.children, path + "/")

        walk(self.organizational_units, "")
        return out

    def accounts(self) -> list["AccountSpec"]:
        """Every member account the stack manages, shared ones first, in config order."""
        org = self.organization
        specs: list[AccountSpec] = []
        for role in ("log_archive", "security", "tooling", "image_factory"):
            acct: SharedAccount = getattr(self.shared_accounts, role)
            email = acct.email or org.account_email.replace("{account}", acct.name).lower()
            specs.append(AccountSpec(key=role, name=acct.name, email=email, ou=acct.ou, role=role))
        for team in self.teams:
            for env in team.environments:
                name = f"{team.name}-{env}"
                email = team.account_emails.get(env) or org.account_email.replace("{account}", name).lower()
                closing = env in team.decommission
                specs.append(
                    AccountSpec(
                        # The key follows the team's identity, so a rename keeps the account.
                        key=f"{team.key}-{env}",
                        name=name,
                        email=email,
                        ou=org.suspended_ou if closing else org.environment_ous[env],
                        role="workload",
                        team=team.key,
                        team_name=team.name,
                        environment=env,
                        # Keys under the team's other names (a rename applied before keys followed the identity).
                        aliases=tuple(f"{n}-{env}" for n in team.names if n != team.key),
                        decommission=closing,
                    )
                )
        return specs


class AccountSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    email: str
    ou: str
    role: str
    team: str | None = None  # the team's identity (Team.key), which names its resources
    team_name: str | None = None  # the team's current name, for tags and descriptions
    environment: str | None = None
    aliases: tuple[str, ...] = ()
    decommission: bool = False


# ---------------------------------------------------------------------------
# Loading and error reporting
# ---------------------------------------------------------------------------

# ConfigError and the wording of pydantic's errors live in config_errors.


@lru_cache(maxsize=None)
def _adapter(adapter_type: Any) -> TypeAdapter:
    return TypeAdapter(adapter_type)


def _section_errors(name: str, raw: Any, adapter_type: Any) -> tuple[Any, list[tuple[str, str]]]:
    try:
        # strict: a value of the wrong type is an error, never converted (true is not 1).
        return _adapter(adapter_type).validate_python(raw, strict=True), []
    except ValidationError as exc:
        model = adapter_type if isinstance(adapter_type, type) else inner_model(adapter_type)
        problems = []
        for err in exc.errors():
            loc, msg = describe(dict(err), model)
            problems.append((fmt_path((name, *loc)), msg))
        return None, problems


def parse(raw: dict[str, Any], source: str, problems: list[tuple[str, str]] | None = None) -> StackConfig:
    """Validate the project's config keys (namespace already stripped) and cross-check them.

    Sections and list items are validated independently so that one broken team
    does not hide the errors of the next; cross-checks run over whatever parsed.
    ``problems`` found before (e.g. in other namespaces) are reported with these.
    """
    problems = list(problems or [])
    sections = {k: f for k, f in StackConfig.model_fields.items()}
    for key in raw:
        if key not in sections:
            problems.append((f"{PROJECT}:{key}", f"unknown key{close_match(key, sections)}"))

    parsed: dict[str, Any] = {}
    for key, field in sections.items():
        if key not in raw:
            if field.is_required():
                problems.append((key, "is required"))
            continue
        value = raw[key]
        if key in ("teams", "organizational_units") and isinstance(value, list):
            items = []
            item_type = Team if key == "teams" else OrganizationalUnit
            for i, item in enumerate(value):
                ok, errs = _section_errors(f"{key}[{i}]", item, item_type)
                problems.extend(errs)
                items.append(ok)
            parsed[key] = items
        else:
            ok, errs = _section_errors(key, value, field.annotation)
            problems.extend(errs)
            parsed[key] = ok

    problems.extend(_cross_check(parsed))
    if problems:
        raise ConfigError(source, problems)
    return StackConfig(**parsed)


def _cross_check(p: dict[str, Any]) -> list[tuple[str, str]]:
    """Checks that span sections: references, uniqueness, depth."""
    problems: list[tuple[str, str]] = []
    ous = p.get("organizational_units")
    known_ous: set[str] | None = None
    if ous is not None and all(o is not None for o in ous):
        known_ous = set()

        def walk(nodes: list[OrganizationalUnit], prefix: str, loc: str, depth: int) -> None:
            seen: set[str] = set()
            for i, node in enumerate(nodes):
                here = f"{loc}[{i}]"
                path = f"{prefix}{node.name}"
                if node.name in seen:
                    problems.append((here + ".name", f"OU {path!r} is defined twice under the same parent"))
                seen.add(node.name)
                if depth > MAX_OU_DEPTH:
                    problems.append((here, f"OU {path!r} is nested {depth} levels deep; AWS allows {MAX_OU_DEPTH}"))
                known_ous.add(path)
                walk(node.children, path + "/", here + ".children", depth + 1)

        walk(ous, "", "organizational_units", 1)

    def check_ou(ref: str, loc: str, allow_root: bool = False) -> None:
        if known_ous is None or (allow_root and ref == ROOT) or ref in known_ous:
            return
        close = difflib.get_close_matches(ref, sorted(known_ous), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append((loc, f"unknown OU {ref!r}{hint}"))

    org: OrganizationConfig | None = p.get("organization")
    if org is not None and org.quotas:
        from blueprint.offline.quotas import catalogue  # local import: quotas reads a data file

        known = catalogue()
        for qid in org.quotas:
            if qid not in known:
                close = difflib.get_close_matches(qid, sorted(known), n=1)
                problems.append((f"organization.quotas.{qid}", f"no quota {qid!r} in policies/quotas.yaml{f' (did you mean {close[0]!r}?)' if close else ''}"))
    if org is not None:
        for env, ref in org.environment_ous.items():
            check_ou(ref, f"organization.environment_ous.{env}")
        check_ou(org.suspended_ou, "organization.suspended_ou")

    shared: SharedAccounts | None = p.get("shared_accounts")
    if shared is not None:
        for role in SharedAccounts.model_fields:
            check_ou(getattr(shared, role).ou, f"shared_accounts.{role}.ou")

    rails: Guardrails | None = p.get("guardrails")
    if rails is not None:
        from blueprint import policies  # local import: policies depends on this module

        for kind in PolicyKind.__args__:  # type: ignore[attr-defined]
            available = policies.available(kind)
            for target, ids in getattr(rails, kind).items():
                check_ou(target, f"guardrails.{kind}.{target}", allow_root=True)
                for j, gid in enumerate(ids):
                    if gid not in available:
                        close = difflib.get_close_matches(gid, sorted(available), n=1)
                        hint = f" (did you mean {close[0]!r}?)" if close else ""
                        problems.append(
                            (f"guardrails.{kind}.{target}[{j}]", f"no guardrail {gid!r} in policies/{policies.FOLDERS[kind]}/{hint}")
                        )

    factory: ImageFactory | None = p.get("image_factory")
    if factory is not None:
        problems.extend(_image_factory_checks(factory, org, rails, check_ou))

    existing: ExistingResources | None = p.get("existing")
    if existing is not None:

        def check_id(kind: str, value: str, loc: str) -> None:
            pattern, words = EXISTING_ID_FORMATS[kind]
            if not pattern.match(value):
                problems.append((loc, f"{value!r} is not an AWS {kind} id: expected {words}"))

        if existing.organization_id is not None:
            check_id("organization", existing.organization_id, "existing.organization_id")
        for path, ou_id in existing.organizational_units.items():
            check_ou(path, f"existing.organizational_units.{path}")
            check_id("ou", ou_id, f"existing.organizational_units.{path}")
        for key, acct_id in existing.accounts.items():
            check_id("account", acct_id, f"existing.accounts.{key}")
        keys = {"log_archive", "security", "tooling", "image_factory"}
        # An account is adopted under its key (the team's first name) or any later name of the team.
        keys |= {f"{n}-{env}" for t in p.get("teams") or [] if t is not None for n in t.names for env in t.environments}
        for key in existing.accounts:
            if key not in keys:
                close = difflib.get_close_matches(key, sorted(keys), n=1)
                problems.append((f"existing.accounts.{key}", f"no account {key!r} in this stack{f' (did you mean {close[0]!r}?)' if close else ''}"))
        dupes = sorted({i for i in existing.accounts.values() if list(existing.accounts.values()).count(i) > 1})
        for i in dupes:
            problems.append(("existing.accounts", f"account id {i} is given for more than one account"))

    teams = p.get("teams") or []
    seen_names: dict[str, str] = {}
    seen_emails: dict[str, str] = {}
    seen_teams: dict[str, int] = {}

    def claim(table: dict[str, str], value: str, loc: str, what: str) -> None:
        if value in table:
            problems.append((loc, f"duplicate {what} {value!r} (already used by {table[value]})"))
        else:
            table[value] = loc

    if shared is not None:
        for role in SharedAccounts.model_fields:
            acct = getattr(shared, role)
            claim(seen_names, acct.name, f"shared_accounts.{role}.name", "account name")
            if acct.email or org is not None:
                email = acct.email or org.account_email.replace("{account}", acct.name).lower()  # pyright: ignore[reportOptionalMemberAccess] (org is set when email is not)
                claim(seen_emails, email, f"shared_accounts.{role}", "account email")
                problems.extend(limits.account_problems(acct.name, email, f"shared_accounts.{role}", not acct.email, None))
    for i, team in enumerate(teams):
        if team is None:
            continue
        # Every name a team has had stays its own: resource names derive from the first one, so a
        # new team may not take an old name of another (their accounts and roles would collide).
        for n in team.names:
            if n in seen_teams and seen_teams[n] != i:
                where = "name" if n == team.name else "previous_names"
                other = teams[seen_teams[n]]
                why = "" if other.name == n else "; a team keeps every name it has had, so pick another"
                problems.append((f"teams[{i}].{where}", f"duplicate team {n!r} (already {'a name of ' if why else ''}teams[{seen_teams[n]}]{why})"))
            seen_teams.setdefault(n, i)
        if team.pipeline is not None and not {"test", "prod"} <= set(team.environments):
            problems.append((f"teams[{i}].pipeline", "a pipeline deploys to staging (test) and prod: add both environments"))
        closing = sorted({"test", "prod"} & set(team.decommission))
        if team.pipeline is not None and closing:
            problems.append((f"teams[{i}].decommission", f"lists {', '.join(closing)}, where the team's pipeline deploys: remove the "
                             "pipeline: block first (its artifacts, keys and logs are left behind, not deleted), then decommission "
                             "(README \"Renaming, moving and closing accounts\")"))
        for env in team.decommission + list(team.account_emails):
            if env not in team.environments:
                problems.append((f"teams[{i}]", f"{env!r} is configured but not in environments"))
        for j, env in enumerate(team.environments):
            name = f"{team.name}-{env}"
            claim(seen_names, name, f"teams[{i}].environments[{j}]", "account name")
            if org is not None:
                email = team.account_emails.get(env) or org.account_email.replace("{account}", name).lower()
                claim(seen_emails, email, f"teams[{i}].environments[{j}]", "account email")
                own = env in team.account_emails
                problems.extend(limits.account_problems(name, email, f"teams[{i}].account_emails.{env}" if own else f"teams[{i}].environments[{j}]",
                                                        not own, team.name))
    # Names AWS derives from team and image names (roles, permission sets, buckets...).
    problems.extend(limits.team_problems(teams))
    problems.extend(limits.image_problems(factory))
    return problems


# Which declarative guardrail carries each Allowed-AMIs mode (both set allowed_images_settings).
ALLOWED_AMIS_GUARDRAIL = {"enabled": "ec2-baseline", "audit-mode": "ec2-baseline-ami-audit"}


def _image_factory_checks(factory: "ImageFactory", org: "OrganizationConfig | None", rails: "Guardrails | None", check_ou: Any) -> list[tuple[str, str]]:
    """Image regions are allowed regions; each OU's Allowed-AMIs mode matches what is attached there."""
    problems: list[tuple[str, str]] = []
    if org is not None:
        for i, image in enumerate(factory.images):
            for j, region in enumerate(image.regions):
                if region not in org.allowed_regions:
                    problems.append((f"image_factory.images[{i}].regions[{j}]", f"{region!r} is not one of organization.allowed_regions"))
    if rails is not None:
        from blueprint.images.naming import EXEMPT_ROLES

        missing = [r for r in EXEMPT_ROLES if r not in rails.exempt_roles]
        if missing:
            problems.append(("guardrails.exempt_roles", f"the image factory needs {', '.join(map(repr, missing))} here "
                             "(the scan gate writes /golden-ami/* and revokes AMIs; lifecycle deletes old images)"))
    for ou, mode in factory.allowed_amis.items():
        check_ou(ou, f"image_factory.allowed_amis.{ou}")
        if rails is None:
            continue
        attached = set(rails.declarative_policies.get(ou, []))
        want = ALLOWED_AMIS_GUARDRAIL[mode]
        others = sorted(attached & (set(ALLOWED_AMIS_GUARDRAIL.values()) - {want}))
        if want not in attached or others:
            problems.append((f"image_factory.allowed_amis.{ou}",
                             f"is {mode!r}, so guardrails.declarative_policies.{ou} must attach {want!r}"
                             + (f" instead of {', '.join(map(repr, others))}" if others else "")))
    return problems


# ---------------------------------------------------------------------------
# Sources: a stack file on disk (offline plan, tests) or the Pulumi runtime
# ---------------------------------------------------------------------------

def namespace_values(flat: dict[str, Any], source: str) -> dict[str, Any]:
    """Strip ``secure-org:`` from keys and decode JSON-encoded objects as Pulumi passes them."""
    out, problems = _decoded(flat)
    if problems:
        raise ConfigError(source, problems)
    return out


def _decoded(flat: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The project's keys, decoded, and the problems of those that are not valid JSON (left out)."""
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, value in flat.items():
        ns, _, name = key.partition(":")
        if ns != PROJECT:
            continue
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                problems.append((name, f"is not valid JSON: {exc}"))
                continue
        out[name] = value
    return out, problems


def load_flat(flat: dict[str, Any], source: str) -> StackConfig:
    """Validate a whole flat config (``namespace:key`` -> value): namespaces, then the project's keys."""
    problems = config_namespaces.check(flat, list(StackConfig.model_fields))
    # A key that is not valid JSON is reported once, and the other sections are still validated.
    raw, undecoded = _decoded(flat)
    problems += undecoded
    # The management provider deploys in aws:region, and StackSets are managed there; the access
    # and quota models take that to be the home region, so the two must agree.
    region, org = flat.get("aws:region"), raw.get("organization")
    home = org.get("home_region") if isinstance(org, dict) else None
    if region is None and isinstance(home, str):
        problems.append(("aws:region", f"is required: the management account's provider (and every StackSet it manages) works "
                         f"in aws:region; set it to organization.home_region, e.g. aws:region: {home}"))
    elif isinstance(region, str) and region in AWS_REGIONS and isinstance(home, str) and region != home:
        problems.append(("aws:region", f"is {region!r} but organization.home_region is {home!r}: the management account's "
                         "provider (and every StackSet it manages) works in aws:region, so set both to the same region"))
    try:
        return parse(raw, source, problems)
    except ConfigError as exc:
        if not undecoded:
            raise
        bad = {key for key, _ in undecoded}  # already reported as invalid JSON, not as missing
        raise ConfigError(source, [(k, m) for k, m in exc.problems if not (k in bad and m == "is required")]) from None


def load_file(path: str | Path) -> StackConfig:
    """A stack file read as Pulumi reads it (config_yaml), then validated."""
    from blueprint.config_yaml import stack_config

    path = Path(path)
    return load_flat(stack_config(path), path.name)


def load_runtime() -> StackConfig:
    """Read the stack config the Pulumi engine (or the mock runtime) hands the program."""
    import pulumi
    from pulumi.runtime import config as rc

    flat = {**rc.get_config_env(), **rc.CONFIG.get()}
    source = f"Pulumi.{pulumi.get_stack()}.yaml"
    return load_flat(flat, source)


def json_schema() -> dict[str, Any]:
    """JSON Schema of a whole stack file, for editors (yaml-language-server)."""
    inner = StackConfig.model_json_schema()
    defs = inner.pop("$defs", {})
    props = {f"{PROJECT}:{k}": v for k, v in inner["properties"].items()}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "secure-org Pulumi stack file",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                # The AWS provider's and Pulumi's own keys are listed, so a typo is flagged there too.
                "properties": {**props, **{k: {} for k in sorted(config_namespaces.known_keys())},
                               "aws:region": {"type": "string", "enum": sorted(AWS_REGIONS)}},
                "required": [f"{PROJECT}:{k}" for k in inner.get("required", [])],
                "additionalProperties": False,
            },
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "environment": {},
        },
        "additionalProperties": False,
        "$defs": defs,
    }
