"""The vocabulary of the access model: principals, resources, requests and decisions.

These are plain data so that the evaluator (``blueprint.access.evaluator``), the model of
the deployed organization (``blueprint.access.model``), the flow catalogue
(``blueprint.access.flows``) and the independent cross-check in the tests all speak the
same language. Account ids and the org id are whatever the plan recorded (offline: stable
stand-ins); ``blueprint.access.model`` renders them symbolically for people.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALLOW = "ALLOW"
DENY = "DENY"

# Layers, in the order a person reads them.
SCP = "scp"
RCP = "rcp"
IDENTITY = "identity"
BOUNDARY = "boundary"
SESSION = "session"
RESOURCE = "resource"
LAYERS = (SCP, RCP, IDENTITY, BOUNDARY, SESSION, RESOURCE)

# Principal kinds.
ROLE = "role"  # an IAM role (its session acts)
SERVICE = "service"  # an AWS service principal, e.g. "cloudtrail.amazonaws.com"
ACCOUNT_ROOT = "root"  # an account's root user
ANONYMOUS = "anonymous"  # nobody signed the request


@dataclass(frozen=True)
class Policy:
    """One policy document and a name a person can find it by."""

    name: str  # e.g. "scp acme-scp-root-1", "inline payments-codepipeline-policy", "key policy payments-artifact-key"
    document: dict[str, Any]


@dataclass
class Principal:
    arn: str  # role ARN (arn:aws:iam::ACCT:role/PATH/NAME), account root ARN, or the service principal name
    kind: str = ROLE
    account: str | None = None  # None for services and anonymous callers
    org_id: str | None = None  # the caller's organization; None outside any
    identity_policies: list[Policy] = field(default_factory=list)
    boundary: Policy | None = None
    session_policy: Policy | None = None
    # SCP levels that apply to the caller: root, each OU down the chain, the account.
    # Each level is the list of SCPs attached there (FullAWSAccess included, as a document).
    # Empty: not subject to SCPs (management account, service-linked roles, services).
    scps: list[list[Policy]] = field(default_factory=list)
    service_linked: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    label: str = ""  # symbolic name for people, e.g. "rh-tooling:role/payments-codepipeline"

    @property
    def name(self) -> str:
        return self.label or self.arn


@dataclass
class Resource:
    arn: str
    account: str | None = None  # owning account; None when no account owns it ("*", AWS-owned)
    org_id: str | None = None
    region: str | None = None
    kind: str = ""  # "s3-object", "s3-bucket", "kms-key", "iam-role", "sns-topic", "lambda-function", "event-bus", ...
    # The resource-based policy: bucket, key, topic, Lambda, bus policy, or a role's trust policy.
    policy: Policy | None = None
    # RCP levels of the owning account, as for Principal.scps. Empty: RCPs do not apply
    # (management account, or a service RCPs do not cover).
    rcps: list[list[Policy]] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)  # resource-specific condition keys
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.arn


@dataclass
class Request:
    principal: Principal
    action: str
    resource: Resource
    # Condition keys the flow sets or overrides (aws:MultiFactorAuthPresent, aws:SourceArn,
    # aws:SourceAccount, aws:SecureTransport, kms:ViaService, ...). The evaluator derives the
    # standard ones (aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalOrgID, ...) itself.
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    """A statement that matched the request."""

    layer: str
    policy: str
    sid: str | None
    effect: str  # "Allow" or "Deny"


@dataclass
class LayerResult:
    layer: str
    outcome: str  # "allow", "deny" (explicit), "implicit-deny", "not-applicable"
    matches: list[Match] = field(default_factory=list)
    note: str = ""


@dataclass
class Decision:
    decision: str  # ALLOW or DENY
    layer: str | None = None  # the deciding layer
    policy: str | None = None  # the deciding policy, where one statement decided
    sid: str | None = None
    reason: str = ""
    layers: list[LayerResult] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOW

    def why(self) -> str:
        """``ALLOW`` or ``DENY (<layer> <policy> <Sid>)``, the last line of ``make explain``."""
        if self.allowed:
            return ALLOW
        parts = [p for p in (self.layer, self.policy, self.sid) if p]
        return f"{DENY} ({' '.join(parts)})" if parts else DENY
