"""Principals a flow needs that the plan does not create: people and worst cases.

A flow may name a principal by ARN (a role the plan creates) or by one of these:

``team-admin:<account>``
    A team's own administrator in one of its accounts: an Identity Center role with
    ``AdministratorAccess``. Whatever a team can do in its account, this can; so a
    forbidden flow from it holds only if the guardrails (SCPs, RCPs, resource policies)
    stop it.
``team-app:<account>:<team>``
    The worst role a team's IaC can create: any permissions (``Action "*"``), but under the
    team's mandatory permissions boundary. What it may do is exactly what the boundary and
    the guardrails allow, whatever the team writes.
``sso-for:<role ARN>``
    The Identity Center role that a duty role's trust policy admits (its ``aws:PrincipalArn``
    pattern made concrete), allowed to call ``sts:AssumeRole``.
``person:<role ARN>``
    A role outside the plan that config names (break-glass operators, the auditor), allowed
    to call ``sts:AssumeRole``.
``path-admin:<account>:<path>/<name>``
    An administrator role under an IAM path in one account (``path-admin:<acct>:secure-org/break-glass/x``):
    the role the platform creates for a team under an exempt path.
``outsider``
    An administrator in an AWS account outside the organization.
"""

from __future__ import annotations

from blueprint.access.model import OrgModel, Role
from blueprint.access.types import Policy

OUTSIDER_ACCOUNT = "999999999999"
SSO_PATH = "aws-reserved/sso.amazonaws.com/"
ANYTHING = Policy("worst case: any permissions the team writes", {"Version": "2012-10-17", "Statement": [
    {"Sid": "AnyPermission", "Effect": "Allow", "Action": "*", "Resource": "*"}]})
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ASSUME = Policy("identity policy allowing sts:AssumeRole", {"Version": "2012-10-17", "Statement": [
    {"Sid": "AssumeRoles", "Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "*"}]})


class UnknownActor(KeyError):
    pass


def resolve(model: OrgModel, spec: str) -> str:
    """The principal ARN (or service name) for a flow's principal spec; registers synthetic roles."""
    if spec.startswith("arn:") or spec.endswith(".amazonaws.com") or spec == "*":
        return spec
    kind, _, rest = spec.partition(":")
    if kind == "team-admin":
        arn = f"arn:aws:iam::{rest}:role/{SSO_PATH}AWSReservedSSO_TeamAdministrator_0123456789abcdef"
        _register(model, arn, rest, managed=[ADMIN], label=f"{model.account_label(rest)}:team administrator (Identity Center)")
        return arn
    if kind == "team-app":
        account, _, team = rest.partition(":")
        arn = f"arn:aws:iam::{account}:role/{team}-app-worstcase"
        boundary = f"arn:aws:iam::{account}:policy/{team}-workload-boundary"
        model.load(account)
        if boundary not in model.policies:
            raise UnknownActor(f"{spec}: no {team}-workload-boundary in {model.account_label(account)}")
        _register(model, arn, account, inline=[ANYTHING], boundary=boundary)
        return arn
    if kind == "sso-for":
        return _sso_for(model, rest)
    if kind == "person":
        _register(model, rest, rest.split(":")[4], inline=[ASSUME])
        return rest
    if kind == "path-admin":
        account, _, path_name = rest.partition(":")
        arn = f"arn:aws:iam::{account}:role/{path_name}"
        _register(model, arn, account, managed=[ADMIN])
        return arn
    if kind == "outsider":
        arn = f"arn:aws:iam::{OUTSIDER_ACCOUNT}:role/outsider-admin"
        _register(model, arn, OUTSIDER_ACCOUNT, managed=[ADMIN], label="outsider: an administrator outside the organization")
        return arn
    raise UnknownActor(f"unknown principal spec {spec!r}")


def _register(model: OrgModel, arn: str, account: str, inline: list[Policy] | None = None, managed: list[str] | None = None,
              boundary: str | None = None, label: str = "") -> None:
    if arn in model.roles:
        return
    model.load(account)
    name = arn.split(":role/", 1)[1].rsplit("/", 1)[-1]
    model.add_role(Role(arn, account, name, None, list(inline or []), list(managed or []), boundary, source="synthetic"))
    if label:
        model.labels[arn] = label


def _sso_for(model: OrgModel, role_arn: str) -> str:
    role = model.role(role_arn)
    if role is None or not role.trust:
        raise UnknownActor(f"sso-for: no role {model.label(role_arn)}")
    patterns: list[str] = []
    for stmt in role.trust.get("Statement", []):
        for op, pairs in (stmt.get("Condition") or {}).items():
            for key, values in pairs.items():
                if op.startswith("ArnLike") and key.lower() == "aws:principalarn":
                    patterns += values if isinstance(values, list) else [values]
    sso = [p for p in patterns if SSO_PATH in p and "*" not in p]
    if not sso:
        raise UnknownActor(f"sso-for: {model.label(role_arn)} trusts no Identity Center role")
    arn = sso[0].replace("?", "0")
    _register(model, arn, arn.split(":")[4], inline=[ASSUME],
              label=f"{model.account_label(arn.split(':')[4])}:Identity Center role {arn.rsplit('/', 1)[1]}")
    return arn
