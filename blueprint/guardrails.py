"""From stack config to the exact set of guardrail policies per target, before any resource exists.

This is pure: it needs no Pulumi runtime, so the limits are checked (and packing decided)
at config-load time. The components only register what this returns.
"""

from __future__ import annotations

import json

from dataclasses import dataclass, field
from typing import Any

from blueprint import packer, policies
from blueprint.config import ENVIRONMENTS, StackConfig
from blueprint.baseline.account_template import SCP_EXEMPT_ROLE_PATTERNS as BASELINE_ROLES
from blueprint.policies import POLICY_DIR, Deferred

ACCOUNT_ID_STANDIN = "0" * 12  # account ids are always twelve digits
ORG_ID_STANDIN = "o-" + "x" * 32  # org ids are o- plus 10 to 32 characters
ORG_ID = Deferred("org_id", ORG_ID_STANDIN)

# Roles AWS and the platform itself rely on: never editable from inside a member account.
STACKSET_EXEC = "arn:aws:iam::*:role/stacksets-exec-*"
SSO_ROLES = "arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*"
# Every role the platform itself names (audit, alert forwarder, baseline, importer): team
# names may not start with this prefix, so no team role falls under it.
PLATFORM_ROLES = "arn:aws:iam::*:role/secure-org-*"
# Team break-glass and exempt roles live under these paths, in the team's own accounts.
# Only exempt principals may create or change a role under /secure-org/ (critical_role_arns),
# so the path is the exemption, named once, whatever the number of teams.
TEAM_ROLE_PATHS = {"break_glass": "/secure-org/break-glass/", "exempt": "/secure-org/exempt/"}
TEAM_BREAK_GLASS = f"arn:aws:iam::*:role{TEAM_ROLE_PATHS['break_glass']}*"
TEAM_EXEMPT = f"arn:aws:iam::*:role{TEAM_ROLE_PATHS['exempt']}*"
PLATFORM_PATH = "arn:aws:iam::*:role/secure-org/*"


class GuardrailLimitError(Exception):
    """One or more targets whose guardrails cannot fit within AWS limits."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class TargetPolicies:
    kind: str
    target: str  # "Root", an OU path, or "team:<name>" for a team's own accounts
    packed: packer.Packed
    values: dict[str, Any]
    # Deferred account keys to attach to instead of the target (team policies).
    attach_to: list[str] = field(default_factory=list)
    # Earlier targets of the same policies (a renamed team), so a rename keeps them.
    previous_targets: list[str] = field(default_factory=list)

    @property
    def aws_type(self) -> str:
        return policies.AWS_TYPES[self.kind]


def account_id(key: str) -> Deferred:
    return Deferred(f"account:{key}", ACCOUNT_ID_STANDIN)


def _role_arn(name: str) -> str:
    return f"arn:aws:iam::*:role/{name}"


def values_for(cfg: StackConfig, target: str) -> dict[str, Any]:
    """Placeholder values for one target.

    Nothing here depends on the teams: team break-glass and exempt roles are exempted by
    the IAM path they must live under (``/secure-org/break-glass/``, ``/secure-org/exempt/``),
    named once, and ``protect-critical-roles`` lets only exempt principals create or change
    a role under ``/secure-org/``. Onboarding a team therefore never changes a shared guardrail,
    and the Root SCP has the same size for 1 and 1,000 teams.
    """
    g = cfg.guardrails
    org = cfg.organization
    break_glass: list[Any] = [_role_arn(r) for r in sorted(set(g.break_glass_roles))] + [TEAM_BREAK_GLASS]
    exempt: list[Any] = list(break_glass) + [_role_arn(r) for r in sorted(set(g.exempt_roles))] + [TEAM_EXEMPT]
    exempt += [_role_arn(org.org_access_role), STACKSET_EXEC]
    # The platform's own: what may still act in a suspended account (no team role, even exempt).
    platform = [_role_arn(r) for r in sorted(set(g.break_glass_roles) | set(g.exempt_roles))]
    platform += [_role_arn(org.org_access_role), STACKSET_EXEC]
    critical = [_role_arn(org.org_access_role), STACKSET_EXEC, SSO_ROLES] + [_role_arn(r) for r in sorted(set(g.break_glass_roles))]
    critical += list(BASELINE_ROLES) + [PLATFORM_ROLES, PLATFORM_PATH]
    return {
        "allowed_regions": list(org.allowed_regions),
        "home_region": org.home_region,
        "break_glass_principal_arns": _dedupe(break_glass),
        "exempt_principal_arns": _dedupe(exempt),
        "platform_principal_arns": _dedupe(platform),
        # Only for the guardrails the per-account baseline must pass (account S3 public
        # access block, CloudTrail remediation); never a general exemption.
        "baseline_principal_arns": list(BASELINE_ROLES),
        "critical_role_arns": _dedupe(critical),
        "image_factory_account_id": account_id("image_factory"),
        # The pipelines' own roles in the tooling account: the only callers of the platform's
        # functions (the findings importer) besides exempt roles.
        "pipeline_principal_arns": [Deferred("account:tooling", ACCOUNT_ID_STANDIN, "arn:aws:iam::{}:role/*-codepipeline")],
        "org_id": ORG_ID,
        # Constant, so onboarding a team never edits a shared policy; team and cost-center
        # values are pinned per team on the team's own accounts (team_tag_policies).
        "environments": list(ENVIRONMENTS),
    }


def _dedupe(items: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for i in items:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def plan(cfg: StackConfig) -> list[TargetPolicies]:
    """Render and pack every attached guardrail; raise one error listing every target over its limits."""
    out: list[TargetPolicies] = []
    problems: list[str] = []
    for kind in policies.FOLDERS:
        limit = getattr(cfg.organization.policy_limits, policies.LIMIT_FIELDS[kind])
        for target, ids in getattr(cfg.guardrails, kind).items():
            values = values_for(cfg, target)
            units: list[packer.Unit] = []
            try:
                for gid in ids:
                    units.extend(packer.units_from(kind, gid, policies.load(kind, gid), values))
                packed = packer.pack(kind, target, units, limit.max_chars, limit.max_per_target)
            except (packer.PackError, policies.PolicyError) as exc:
                problems.append(str(exc))
                continue
            out.append(TargetPolicies(kind, target, packed, values))
    out.extend(team_tag_policies(cfg))
    if problems:
        raise GuardrailLimitError(problems)
    return out


TEAM_TAGS = POLICY_DIR / "team" / "team-values.json"


def team_tag_policies(cfg: StackConfig) -> list[TargetPolicies]:
    """One tag policy per team, on the team's own accounts: only its team and cost-center values.

    Being per team (not a list of every team at an OU), adding a team only adds policies.
    """
    out = []
    doc = json.loads(TEAM_TAGS.read_text())
    limit = cfg.organization.policy_limits.tag_policy
    for team in cfg.teams:
        # Every name the team has had stays allowed, so nothing tagged before a rename (and no
        # Server deployment group, which selects instances by the team's first name) falls out.
        values = {"team_name": team.names, "cost_center": team.cost_center}
        units = packer.units_from("tag_policies", "team-values", doc, values)
        # Named and attached after the team's identity (its first name): a rename replaces nothing.
        target = f"team:{team.key}"
        packed = packer.pack("tag_policies", target, units, limit.max_chars, limit.max_per_target)
        keys = [f"account:{team.key}-{env}" for env in team.environments]
        out.append(
            TargetPolicies(
                "tag_policies", target, packed, values, attach_to=keys,
                # Targets under the team's other names: a rename applied before names followed the identity.
                previous_targets=[f"team:{n}" for n in team.names if n != team.key],
            )
        )
    return out
