"""The deployed organization as the access model sees it: accounts, policy layers, roles, resources.

Built from the recorded plan by :mod:`blueprint.access.build`. It answers two questions
for the evaluator: "who is this principal?" (its account, identity policies, boundary
and SCP chain) and "what is this resource?" (its account, resource policy and RCP chain).
Deploy-time values (account ids, the org id) are the plan's stand-ins; :meth:`OrgModel.symbolic`
shows them as ``<account:payments-prod>`` and ``<org-id>`` to people.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from blueprint.access.types import ACCOUNT_ROOT, ANONYMOUS, ROLE, SERVICE, Policy, Principal, Resource

MANAGED_DIR = Path(__file__).resolve().parents[2] / "policies" / "aws-managed"
FULL_AWS_ACCESS = Policy("FullAWSAccess", {"Version": "2012-10-17", "Statement": [
    {"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"}]})
RCP_FULL_AWS_ACCESS = Policy("RCPFullAWSAccess", {"Version": "2012-10-17", "Statement": [
    {"Sid": "RCPFullAWSAccess", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})
# Services whose resources RCPs govern ("Resource control policies (RCPs)", AWS Organizations
# User Guide, list of supported services).
RCP_SERVICES = frozenset({"s3", "sts", "kms", "sqs", "secretsmanager", "ecr", "aoss", "cognito-idp", "logs", "dynamodb"})
ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


@dataclass
class Account:
    id: str
    key: str  # config key: "tooling", "payments-prod", or "management"
    name: str
    ou: str  # OU path, "" for the management account
    chain: list[str]  # target ids from the root down to the account itself
    team: str | None = None
    environment: str | None = None
    decommissioned: bool = False  # listed in its team's decommission: in the Suspended OU, being closed


@dataclass
class Role:
    arn: str
    account: str
    name: str
    trust: dict[str, Any] | None
    inline: list[Policy] = field(default_factory=list)
    managed: list[str] = field(default_factory=list)  # policy ARNs
    boundary: str | None = None  # policy ARN
    source: str = ""  # plan URN or "stackset <name> in <account>/<region>"


@dataclass
class Thing:
    """A resource the model knows: where it lives and who may touch it by its own policy."""

    arn: str
    account: str
    region: str | None
    kind: str
    policy: Policy | None = None
    source: str = ""


class OrgModel:
    def __init__(self, org_id: str, management: str, root_id: str):
        self.org_id, self.management, self.root_id = org_id, management, root_id
        self.accounts: dict[str, Account] = {}  # id -> account
        self.by_key: dict[str, Account] = {}
        self.scps: dict[str, list[Policy]] = {}  # target id -> attached SCPs (FullAWSAccess added)
        self.rcps: dict[str, list[Policy]] = {}
        self.roles: dict[str, Role] = {}  # role ARN -> role
        self.policies: dict[str, Policy] = {}  # managed policy ARN -> document
        self.things: dict[str, Thing] = {}  # resource ARN -> thing
        self.buckets: dict[str, str] = {}  # bucket name -> ARN
        self.role_names: dict[tuple[str, str], str] = {}  # (account, role name) -> ARN
        self.labels: dict[str, str] = {}  # ARN -> how people know it (synthetic principals)
        self._lazy: list[Callable[[str], None]] = []  # per-account loaders (StackSet templates)
        self._loaded: set[str] = set()

    # -- building -------------------------------------------------------------
    def add_account(self, acct: Account) -> None:
        self.accounts[acct.id] = acct
        self.by_key[acct.key] = acct

    def add_role(self, role: Role) -> None:
        self.roles[role.arn] = role
        self.role_names[(role.account, role.name)] = role.arn

    def add_thing(self, thing: Thing) -> None:
        self.things[thing.arn] = thing
        if thing.kind == "s3-bucket":
            self.buckets[thing.arn.split(":::", 1)[1]] = thing.arn

    def on_account(self, loader: Callable[[str], None]) -> None:
        """Register a per-account loader, run the first time an account is looked at."""
        self._lazy.append(loader)

    def load(self, account: str) -> None:
        if account in self._loaded:
            return
        self._loaded.add(account)
        for loader in self._lazy:
            loader(account)

    def load_all(self) -> None:
        for acct in list(self.accounts):
            self.load(acct)

    # -- layers ----------------------------------------------------------------
    def _chain(self, account: str, attached: dict[str, list[Policy]], full: Policy) -> list[list[Policy]]:
        acct = self.accounts.get(account)
        if acct is None or account == self.management:
            return []  # SCPs and RCPs never apply to the management account (or outside the org)
        return [[full, *attached.get(target, [])] for target in acct.chain]

    def scp_chain(self, account: str) -> list[list[Policy]]:
        return self._chain(account, self.scps, FULL_AWS_ACCESS)

    def rcp_chain(self, account: str) -> list[list[Policy]]:
        return self._chain(account, self.rcps, RCP_FULL_AWS_ACCESS)

    def managed_policy(self, arn: str) -> Policy:
        if arn in self.policies:
            return self.policies[arn]
        if ":iam::aws:policy/" in arn:
            return aws_managed(arn.split(":policy/", 1)[1])
        raise KeyError(f"managed policy {arn} is neither in the plan nor in policies/aws-managed/")

    # -- principals and resources ---------------------------------------------
    def role(self, arn: str) -> Role | None:
        acct = _account_of(arn)
        if acct:
            self.load(acct)
        return self.roles.get(arn)

    def principal(self, arn: str) -> Principal:
        """The principal behind an ARN (or a service principal name)."""
        if arn.endswith(".amazonaws.com"):
            return Principal(arn, SERVICE, label=f"service:{arn}")
        if arn == "*":
            return Principal(arn, ANONYMOUS, label="anonymous")
        acct = _account_of(arn)
        in_org = acct in self.accounts
        if arn.endswith(":root"):
            return Principal(arn, ACCOUNT_ROOT, account=acct, org_id=self.org_id if in_org else None,
                             scps=self.scp_chain(acct) if in_org else [], label=self.symbolic(arn))
        role = self.role(arn)
        if role is None:
            raise KeyError(f"no role {self.symbolic(arn)} in the plan")
        policies = list(role.inline) + [self.managed_policy(a) for a in role.managed]
        service_linked = ":role/aws-service-role/" in arn
        return Principal(
            arn, ROLE, account=acct, org_id=self.org_id if in_org else None,
            identity_policies=policies,
            boundary=self.managed_policy(role.boundary) if role.boundary else None,
            scps=[] if service_linked or not in_org else self.scp_chain(acct),
            service_linked=service_linked, label=self.label(arn),
        )

    def resource(self, arn: str, account: str | None = None, region: str | None = None, action: str = "") -> Resource:
        """The resource behind an ARN: its policy and RCPs, wherever the model knows them.

        A role's trust policy is its resource policy only for the STS calls that assume it
        (``iam:PassRole`` and the IAM API are decided by identity policies alone).
        """
        parts = arn.split(":", 5)
        if len(parts) < 6:
            return Resource(arn, account=account, region=region, label=arn)
        service, arn_region, arn_account, rest = parts[2], parts[3], parts[4], parts[5]
        kind, policy, owner = f"{service}", None, arn_account or account
        if service == "s3":
            bucket = rest.split("/", 1)[0]
            kind = "s3-object" if "/" in rest else "s3-bucket"
            thing = self.things.get(f"arn:aws:s3:::{bucket}")
            if thing is not None:
                owner, policy, region = thing.account, thing.policy, region or thing.region
        else:
            if owner:
                self.load(owner)
            thing = self.things.get(arn)
            if service == "iam" and rest.startswith("role/"):
                kind = "iam-role"
                role = self.roles.get(arn)
                if role and role.trust and action.lower().startswith("sts:"):
                    policy = Policy(f"trust policy of {self.label(arn)}", role.trust)
            elif thing is not None:
                kind, policy = thing.kind, thing.policy
            elif service == "kms" and rest.startswith("key/"):
                kind = "kms-key"
        in_org = owner in self.accounts
        return Resource(
            arn, account=owner or None, org_id=self.org_id if in_org else None, region=arn_region or region,
            kind=kind, policy=policy,
            # RCPs govern by the action's service too: sts:AssumeRole on a role (an iam ARN).
            rcps=self.rcp_chain(owner) if in_org and (service in RCP_SERVICES or action.split(":")[0].lower() in RCP_SERVICES) else [],
            label=self.label(arn),
        )

    def exists(self, arn: str) -> bool | None:
        """Whether the plan creates the resource behind ``arn``; None where the model does not track the type."""
        parts = arn.split(":", 5)
        if len(parts) < 6:
            return None
        service, account, rest = parts[2], parts[4], parts[5]
        if account:
            self.load(account)
        if service == "s3":
            return rest.split("/", 1)[0] in self.buckets
        if service == "iam" and rest.startswith("role/"):
            return arn in self.roles
        if service == "logs" and rest.startswith("log-group:"):
            return arn.split(":log-stream:", 1)[0].removesuffix(":*") in self.things
        if service == "codepipeline":
            return arn.split("/", 1)[0] in self.things
        tracked = {"kms": "key/", "sns": "", "lambda": "function:", "events": "", "codebuild": "project/"}
        if service in tracked and rest.startswith(tracked[service]):
            return arn in self.things
        return None

    # -- naming for people -------------------------------------------------------
    def account_label(self, account_id: str) -> str:
        acct = self.accounts.get(account_id)
        return acct.key if acct else account_id

    def symbolic(self, text: str) -> str:
        """Deploy-time values as placeholders: ``<account:tooling>``, ``<org-id>``."""
        out = ACCOUNT_ID.sub(lambda m: f"<account:{self.account_label(m.group(0))}>" if m.group(0) in self.accounts else m.group(0), text)
        return out.replace(self.org_id, "<org-id>") if self.org_id else out

    def label(self, arn: str) -> str:
        """``payments-prod:role/payments-deploy`` for IAM ARNs; symbolic ARNs otherwise."""
        if arn in self.labels:
            return self.labels[arn]
        m = re.fullmatch(r"arn:aws:iam::([0-9]{12}):(.*)", arn)
        if m and m.group(1) in self.accounts:
            return f"{self.account_label(m.group(1))}:{m.group(2)}"
        return self.symbolic(arn)

    def resolve_label(self, text: str) -> str:
        """The inverse of :meth:`label` and :meth:`symbolic`, for ``make explain`` input."""
        text = text.replace("<org-id>", self.org_id)

        def acct(key: str) -> str:
            if key not in self.by_key:
                raise KeyError(f"unknown account {key!r} (known: {', '.join(sorted(self.by_key))})")
            return self.by_key[key].id

        text = re.sub(r"<account:([^>]+)>", lambda m: acct(m.group(1)), text)
        m = re.fullmatch(r"([A-Za-z0-9_-]+):((?:role|policy|root|user)\b.*)", text)
        if m and not text.startswith("arn:") and not text.endswith(".amazonaws.com"):
            return f"arn:aws:iam::{acct(m.group(1))}:{m.group(2)}"
        return text


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


@lru_cache(maxsize=None)
def aws_managed(name: str) -> Policy:
    """An AWS managed policy from ``policies/aws-managed/`` (the statements our flows rely on)."""
    path = MANAGED_DIR / f"{name.replace('/', '--')}.json"
    if not path.exists():
        raise KeyError(f"AWS managed policy {name} is not in policies/aws-managed/ (add the statements the flows need)")
    doc = json.loads(path.read_text())
    doc.pop("_note", None)
    return Policy(f"AWS managed {name}", doc)
