"""An independent second opinion on access decisions: principalmapper's local policy simulation.

``pmapper_decision(request)`` answers the question ``blueprint.access.evaluator`` answers
(may ``request.principal`` perform ``request.action`` on ``request.resource``?) with the
local simulator of PyPI ``principalmapper`` 1.1.5 (NCC Group's PMapper), code nobody here
wrote. The bridge only translates our data model into principalmapper's and calls
``local_check_authorization_full``; it never decides anything itself, except for the one
extension principalmapper lacks (resource control policies, below).

Translation
-----------
* ``Principal`` (kind ``role``) -> ``principalmapper.common.Node`` for the role: its identity
  policies as ``attached_policies``, its permissions boundary, its tags (principalmapper
  derives ``aws:PrincipalTag/*`` from them).
* ``Principal.scps`` -> principalmapper's SCP structure ``List[List[Policy]]``: one inner
  list per level (root, each OU, the account); every level needs an Allow, a Deny anywhere
  wins. ``None`` (SCPs not applied) when the list is empty or the role is service-linked.
* ``Principal.session_policy`` -> ``session_policy`` (a document).
* ``Resource.policy`` / ``Resource.account`` -> ``resource_policy`` / ``resource_owner``.
  principalmapper skips resource-side checks entirely when no resource policy is given,
  which would let a cross-account request through on identity policies alone; the bridge
  therefore passes an empty policy (``{"Statement": []}``) when the resource lives in
  another account (or is a KMS key, whose key policy is mandatory) and has none. A role's
  trust policy is only passed for ``sts:AssumeRole*``/``sts:TagSession``/
  ``sts:SetSourceIdentity``: principalmapper would otherwise demand that the trust policy
  allow e.g. ``iam:PassRole`` because the resource is an ``iam`` ARN.
* Condition keys: what ``blueprint.access.types`` says the evaluator derives
  (``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalOrgID`` when the caller is
  in an organization, ``aws:PrincipalIsAWSService`` = "false", ``aws:SecureTransport`` =
  "true", ``aws:RequestedRegion`` = resource region, ``aws:ResourceAccount``,
  ``aws:ResourceOrgID``), then ``Resource.keys``, then ``Request.context`` (a ``None``
  value removes a key). principalmapper then adds what it infers itself for keys still
  missing (``aws:CurrentTime``, ``aws:EpochTime``, ``aws:userid``, ``aws:PrincipalTag/*``).
  Values are passed as AWS sees them: strings ("true"/"false" for booleans, decimal
  strings for numbers) or lists of strings.

Our extension: resource control policies
----------------------------------------
principalmapper predates RCPs. The bridge evaluates ``Resource.rcps`` exactly the way
principalmapper evaluates SCP levels, with principalmapper's own statement matcher
(``policy_has_matching_statement``) and the same condition keys: a matching Deny in any
RCP denies, and every level must have a matching Allow. RCPs are not applied to
service-linked roles (AWS exempts them, as for SCPs). The RCP verdict is ANDed with
principalmapper's verdict.

Faithful normalisations (to work around principalmapper defects, not to change meaning)
---------------------------------------------------------------------------------------
* JSON booleans/numbers in ``Condition`` values are turned into strings, as AWS does
  (principalmapper compares ``value == 'true'`` and ``ast.literal_eval(value)``, so a JSON
  ``false`` never matches and a JSON number raises).
* ``"Principal": {"AWS": "*"}`` in a resource policy becomes ``"Principal": "*"`` (the same
  in AWS); principalmapper only recognises the bare string as naming the caller, so a
  same-account ``{"AWS": "*"}`` grant would otherwise need an identity policy too.
* Service prefixes of ``Action``/``NotAction`` in resource policies (and of the requested
  action) are lower-cased (action
  names are case-insensitive in AWS). principalmapper's resource-policy matcher has a bug
  for items starting with ``SNS``/``SQS``: it compares the requested action with itself, so
  ``"SNS:Subscribe"`` would match any action at all.

Unsupported
-----------
``Unsupported`` is raised, with a reason, for what principalmapper cannot model or is known
to get wrong, so a cross-check can list the request as skipped instead of reporting a false
disagreement: service principals, account root, anonymous callers, ``NotPrincipal``,
policy variables in condition values, condition operators it mis-evaluates, keys it always
re-infers being removed, a same-account resource policy naming the role whose Allow
principalmapper lets bypass the boundary or session policy, a role named
``AWSServiceRoleFor*`` that is not marked ``service_linked`` (principalmapper skips SCPs
by name), and crashes inside principalmapper.
"""

from __future__ import annotations

import collections
import collections.abc
import copy
import hashlib
import re
from typing import Any

# principalmapper 1.1.5 does ``from collections import Mapping, MutableMapping, OrderedDict``
# (principalmapper/util/case_insensitive_dict.py); those ABCs left ``collections`` in Python 3.10.
for _name in ("Mapping", "MutableMapping"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from principalmapper.common import Node  # noqa: E402
from principalmapper.common import Policy as PmPolicy  # noqa: E402
from principalmapper.querying.local_policy_simulation import (  # noqa: E402
    ResourcePolicyEvalResult,
    policy_has_matching_statement,
    resource_policy_authorization,
)
from principalmapper.querying.query_interface import (  # noqa: E402
    _infer_condition_keys,
    _prepare_condition_context,
    local_check_authorization_full,
)
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

from blueprint.access.types import ROLE, SERVICE, Request  # noqa: E402

__all__ = ["Unsupported", "pmapper_decision", "pmapper_context", "TRUST_POLICY_ACTIONS"]

# Requests for which a role's trust policy is the resource-based policy.
TRUST_POLICY_ACTIONS = (
    "sts:assumerole",
    "sts:assumerolewithsaml",
    "sts:assumerolewithwebidentity",
    "sts:tagsession",
    "sts:setsourceidentity",
    "sts:setcontext",
)

# Keys principalmapper's _infer_condition_keys sets whenever they are absent: we cannot remove them.
_ALWAYS_INFERRED = ("aws:currenttime", "aws:epochtime", "aws:userid", "aws:securetransport",
                    "aws:principalaccount", "aws:principalarn")

# Condition operators principalmapper evaluates as AWS does (modulo the checks in _check_condition).
_OPERATORS = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike",
    "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
    "Bool", "Null", "BinaryEquals",
    "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals",
    "DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals",
    "DateGreaterThan", "DateGreaterThanEquals",
    "IpAddress", "NotIpAddress",
}
# ...IfExists forms it gets right. Numeric*/Date* compare the operator name exactly, so their
# IfExists forms never match; IpAddressIfExists falls into the NotIpAddress branch.
_IFEXISTS_OK = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Bool",
}
# Set operators: its Numeric*/Date* helpers also compare the operator name exactly, so
# ForAnyValue:/ForAllValues: forms of them are mis-evaluated too.
_SET_OK = {
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
    "StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike",
    "Bool", "BinaryEquals",
}


class Unsupported(Exception):
    """principalmapper cannot model this request (or is known to get it wrong); ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------------------- condition keys


def _aws_value(value: Any) -> Any:
    """A context or policy value as AWS sees it: a string, or a list of strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_aws_value(v) for v in value]
    return value


def pmapper_context(request: Request) -> dict[str, Any]:
    """The condition keys the bridge hands to principalmapper (before its own inference).

    Keys are compared case-insensitively: a later source replaces an earlier one whatever
    the spelling. ``None`` in ``Resource.keys`` or ``Request.context`` removes the key.
    """
    p, r = request.principal, request.resource
    merged: dict[str, tuple[str, Any]] = {}  # lower-case key -> (key as written, value)

    def put(key: str, value: Any) -> None:
        merged[key.lower()] = (key, value)

    put("aws:PrincipalArn", p.arn)
    if p.account:
        put("aws:PrincipalAccount", p.account)
    if p.org_id:
        put("aws:PrincipalOrgID", p.org_id)
    put("aws:PrincipalIsAWSService", "false")
    put("aws:SecureTransport", "true")
    if r.region:
        put("aws:RequestedRegion", r.region)
    if r.account:
        put("aws:ResourceAccount", r.account)
    if r.org_id:
        put("aws:ResourceOrgID", r.org_id)
    for source in (r.keys, request.context):
        for key, value in source.items():
            put(key, value)

    removed = [k for k, (_, v) in merged.items() if v is None]
    for key in removed:
        if key in _ALWAYS_INFERRED or key.startswith("aws:principaltag/"):
            raise Unsupported(f"principalmapper always infers {merged[key][0]}; it cannot be absent")
    return {k: _aws_value(v) for k, v in merged.values() if v is not None}


# ---------------------------------------------------------------------------- documents


def _normalise(document: dict, *, resource_policy: bool = False) -> dict:
    """A copy with condition values as strings and (resource policies) lower-case action prefixes."""
    doc = copy.deepcopy(document)
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = doc["Statement"] = [statements]
    for st in statements:
        for block, keys in (st.get("Condition") or {}).items():
            for key, value in list(keys.items()):
                keys[key] = _aws_value(value)
        if resource_policy:
            principal = st.get("Principal")
            if isinstance(principal, dict) and "*" in _listify(principal.get("AWS", [])):
                st["Principal"] = "*"  # equivalent in AWS; principalmapper only treats "*" as naming the caller
            for field in ("Action", "NotAction"):
                if field in st:
                    st[field] = [_lower_prefix(a) for a in _listify(st[field])]
    return doc


def _listify(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _lower_prefix(action: str) -> str:
    service, sep, name = action.partition(":")
    return f"{service.lower()}{sep}{name}"


def _check_condition(where: str, condition: dict, context: CaseInsensitiveDict) -> None:
    """Raise Unsupported for condition blocks principalmapper is known to mis-evaluate."""
    for block, keys in condition.items():
        qualifier, _, op = block.rpartition(":")
        if_exists = op.endswith("IfExists")
        base = op[: -len("IfExists")] if if_exists else op
        if base not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
            raise Unsupported(f"{where}: condition operator {block} is not modelled by principalmapper")
        if if_exists and base not in _IFEXISTS_OK:
            raise Unsupported(f"{where}: principalmapper mis-evaluates {block}")
        if qualifier and base not in _SET_OK:
            raise Unsupported(f"{where}: principalmapper mis-evaluates {block}")
        for key, value in keys.items():
            if any(isinstance(v, str) and "${" in v for v in _listify(value)):
                raise Unsupported(f"{where}: policy variable in a condition value ({block} {key}); "
                                  "principalmapper compares it literally")
            if base == "StringNotLike" and not if_exists and not qualifier and key not in context:
                raise Unsupported(f"{where}: principalmapper treats StringNotLike on an absent key "
                                  f"({key}) as no match; AWS matches")


def _wildcard(pattern: str, flags: int = 0) -> re.Pattern:
    return re.compile("^" + ".*".join(".".join(map(re.escape, part.split("?"))) for part in pattern.split("*")) + "$",
                      flags)


def _check_document(where: str, document: dict, context: CaseInsensitiveDict, *, resource: str,
                    resource_policy: bool = False) -> None:
    for st in _listify(document.get("Statement", [])):
        for field in ("Resource", "NotResource"):
            for pattern in _listify(st.get(field, [])):
                if ("${" not in pattern and _wildcard(pattern, re.IGNORECASE).match(resource)
                        and not _wildcard(pattern).match(resource)):
                    raise Unsupported(f"{where}: {field} {pattern} matches {resource} only ignoring case; "
                                      "principalmapper matches ARNs case-insensitively, AWS does not")
        if "NotPrincipal" in st:
            raise Unsupported(f"{where}: NotPrincipal is not modelled faithfully by principalmapper "
                              "(it matches the role ARN, AWS matches the role session)")
        if resource_policy and "Principal" not in st:
            raise Unsupported(f"{where}: statement without Principal")
        if not resource_policy and "Principal" in st and st["Principal"] != "*":
            raise Unsupported(f"{where}: principalmapper ignores Principal in this policy type")
        _check_condition(where, st.get("Condition") or {}, context)


# ---------------------------------------------------------------------------- the decision


def _node(request: Request) -> Node:
    p = request.principal
    if p.kind == SERVICE:
        raise Unsupported(f"service principal {p.arn}: principalmapper only models IAM users and roles")
    if p.kind != ROLE or ":role/" not in p.arn:
        raise Unsupported(f"{p.kind} principal {p.arn}: principalmapper only models IAM users and roles")
    role_id = "AROA" + hashlib.sha256(p.arn.encode()).hexdigest()[:17].upper()
    policies = [PmPolicy(p.arn, pol.name, _normalise(pol.document)) for pol in p.identity_policies]
    boundary = None
    if p.boundary is not None:
        boundary = PmPolicy(f"arn:aws:iam::{p.account}:policy/boundary", p.boundary.name,
                            _normalise(p.boundary.document))
    return Node(p.arn, role_id, policies, None, {"Version": "2012-10-17", "Statement": []}, None, 0, False,
                False, boundary, False, dict(p.tags))


def _resource_policy(request: Request) -> tuple[dict | None, str | None]:
    p, r = request.principal, request.resource
    policy = r.policy.document if r.policy is not None else None
    is_trust = r.kind == "iam-role" or (r.arn.split(":")[2:3] == ["iam"] and ":role/" in r.arn)
    if is_trust and request.action.lower() not in TRUST_POLICY_ACTIONS:
        policy = None  # a trust policy only governs assuming the role
    if r.account is None:
        if policy is not None:
            raise Unsupported(f"resource {r.name} has a resource policy but no owning account")
        return None, None
    if policy is None and (r.account != p.account or r.kind == "kms-key"):
        policy = {"Version": "2012-10-17", "Statement": []}  # nothing grants on the resource side
    if policy is None:
        return None, None
    return _normalise(policy, resource_policy=True), r.account


def pmapper_decision(request: Request) -> bool:
    """True when principalmapper (plus our RCP extension) allows the request.

    Raises ``Unsupported`` when principalmapper cannot model the request.
    """
    p, r = request.principal, request.resource
    action = _lower_prefix(request.action)
    node = _node(request)
    context = CaseInsensitiveDict(pmapper_context(request))
    full_context = _prepare_condition_context(copy.deepcopy(context))
    full_context.update(_infer_condition_keys(node, full_context))

    if p.scps and not p.service_linked and p.arn.rsplit("/", 1)[-1].startswith("AWSServiceRoleFor"):
        raise Unsupported(f"principalmapper treats {p.arn} as service-linked (by its name) and skips SCPs, "
                          "but the principal is not marked service_linked")
    resource_policy, owner = _resource_policy(request)
    scps = None
    if p.scps and not p.service_linked:
        scps = [[PmPolicy(f"arn:aws:organizations::scp/{i}/{j}", pol.name, _normalise(pol.document))
                 for j, pol in enumerate(level)] for i, level in enumerate(p.scps)]
    rcps = [] if p.service_linked else [[_normalise(pol.document) for pol in level] for level in r.rcps]
    session = _normalise(p.session_policy.document) if p.session_policy is not None else None

    checks: list[tuple[str, dict]] = [(f"identity {pol.name}", pol.document) for pol in p.identity_policies]
    for layer, pol in (("boundary", p.boundary), ("session", p.session_policy)):
        if pol is not None:
            checks.append((f"{layer} {pol.name}", pol.document))
    checks += [(f"scp {pol.name}", pol.document) for level in (p.scps if scps is not None else []) for pol in level]
    checks += [(f"rcp {pol.name}", pol.document) for level in ([] if p.service_linked else r.rcps) for pol in level]
    for where, document in checks:
        _check_document(where, document, full_context, resource=r.arn)
    if resource_policy is not None:
        where = f"resource {r.policy.name}" if r.policy is not None else "resource (no policy)"
        _check_document(where, resource_policy, full_context, resource=r.arn, resource_policy=True)

    try:
        allowed = local_check_authorization_full(node, action, r.arn, context, resource_policy, owner,
                                                 scps, session)
        if allowed and resource_policy is not None and owner == p.account:
            _check_boundary_bypass(node, action, r.arn, resource_policy, owner, session, full_context)
        rcp_ok = _rcps_allow(rcps, action, r.arn, full_context)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, SyntaxError) as exc:
        raise Unsupported(f"principalmapper failed: {type(exc).__name__}: {exc}") from exc
    return allowed and rcp_ok


def _check_boundary_bypass(node: Node, action: str, arn: str, resource_policy: dict, owner: str,
                           session: dict | None, context: CaseInsensitiveDict) -> None:
    """principalmapper returns Allow as soon as a same-account resource policy names the role
    itself (NODE_MATCH), before looking at the boundary and the session policy. In AWS a
    resource policy naming the role ARN (not a role session ARN) is still limited by an
    implicit deny in either. Where that shortcut decided, principalmapper's answer is not
    AWS's: say so rather than disagree falsely."""
    result = resource_policy_authorization(node, owner, resource_policy, action, arn, context)
    if result is not ResourcePolicyEvalResult.NODE_MATCH:
        return
    if node.permissions_boundary is not None and not policy_has_matching_statement(
            node.permissions_boundary, "Allow", action, arn, context):
        raise Unsupported("principalmapper lets a same-account resource policy naming the role (or \"*\") "
                          "bypass the permissions boundary's implicit deny")
    if session is not None and not policy_has_matching_statement(session, "Allow", action, arn, context):
        raise Unsupported("principalmapper lets a same-account resource policy naming the role (or \"*\") "
                          "bypass the session policy's implicit deny")


def _rcps_allow(levels: list[list[dict]], action: str, resource: str, context: CaseInsensitiveDict) -> bool:
    """Our extension: RCP levels evaluated the way principalmapper evaluates SCP levels."""
    for level in levels:
        for doc in level:
            if policy_has_matching_statement(doc, "Deny", action, resource, context):
                return False
    for level in levels:
        if not any(policy_has_matching_statement(doc, "Allow", action, resource, context) for doc in level):
            return False
    return True
