"""``blueprint.access.evaluator`` decides requests the way AWS documents it.

One test (or parametrized group) per rule; each quotes the AWS documentation sentence it
checks, with the page title. Every test asserts a concrete decision, and most assert both
sides (the request that must be allowed and the one that must be denied).
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from blueprint.access.conditions import globs_test
from blueprint.access.evaluator import (
    GuardrailRequest, arn_like, condition_holds, conditions_hold, evaluate, glob_match, guardrail_decision, request_context,
)
from blueprint.access.types import (
    ACCOUNT_ROOT, ALLOW, ANONYMOUS, BOUNDARY, DENY, IDENTITY, LAYERS, RCP, RESOURCE, SCP, SERVICE, SESSION,
    Decision, Policy, Principal, Request, Resource,
)

ORG = "o-ourorg1234"
OTHER_ORG = "o-theirs5678"
A = "111111111111"  # workload account
B = "222222222222"  # another member account
X = "999999999999"  # outside the organization
ROLE_A = f"arn:aws:iam::{A}:role/app"
ADMIN_A = f"arn:aws:iam::{A}:role/admin"
ROLE_B = f"arn:aws:iam::{B}:role/reader"
ROLE_X = f"arn:aws:iam::{X}:role/stranger"
BUCKET = "arn:aws:s3:::acme-a-data"
OBJECT = f"{BUCKET}/report.csv"
KEY = f"arn:aws:kms:eu-west-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TARGET = f"arn:aws:iam::{A}:role/deployer"


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def grant(principal: Any, action: Any = "s3:GetObject", resource: Any = OBJECT, effect: str = "Allow", **extra: Any) -> dict:
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource, **extra}


FULL = Policy("scp FullAWSAccess", doc(allow()))
RCP_FULL = Policy("rcp RCPFullAWSAccess", doc(grant("*", "*", "*")))


def role(arn: str = ROLE_A, *statements: dict, org: str | None = ORG, **kw: Any) -> Principal:
    policies = [Policy(f"inline {arn.rsplit('/', 1)[-1]}", doc(*statements))] if statements else []
    return Principal(arn=arn, account=arn.split(":")[4], org_id=org, identity_policies=policies, **kw)


def obj(policy: dict | None = None, account: str = A, **kw: Any) -> Resource:
    return Resource(arn=OBJECT, account=account, org_id=ORG, region="eu-west-1", kind="s3-object",
                    policy=Policy("bucket policy acme-a-data", policy) if policy is not None else None, **kw)


def key(policy: dict | None, account: str = A, **kw: Any) -> Resource:
    return Resource(arn=KEY, account=account, org_id=ORG, region="eu-west-1", kind="kms-key",
                    policy=Policy("key policy data-key", policy) if policy is not None else None, **kw)


def trusted_role(trust: dict, arn: str = TARGET, **kw: Any) -> Resource:
    return Resource(arn=arn, account=arn.split(":")[4], org_id=ORG, kind="iam-role", policy=Policy("trust deployer", trust), **kw)


def decide(principal: Principal, resource: Resource, action: str = "s3:GetObject", **context: Any) -> Decision:
    return evaluate(Request(principal, action, resource, context))


def layer(d: Decision, name: str) -> str:
    return next(lr.outcome for lr in d.layers if lr.layer == name)


READ = allow("s3:GetObject", OBJECT)


# ----------------------------------------------------------------------------- 1. explicit deny
def _everything_allows(stop: str | None) -> tuple[Principal, Resource]:
    d = {"Sid": "Stop", **deny("s3:GetObject")}
    p = role(ROLE_A, READ, *([d] if stop == IDENTITY else []),
             scps=[[FULL], [FULL, *([Policy("scp stop", doc(d))] if stop == SCP else [])]],
             boundary=Policy("boundary", doc(allow("s3:*"), *([d] if stop == BOUNDARY else []))),
             session_policy=Policy("session", doc(allow("s3:*"), *([d] if stop == SESSION else []))))
    rcp_stop = [Policy("rcp stop", doc({"Sid": "Stop", **grant("*", effect="Deny")}))] if stop == RCP else []
    res_stop = [{"Sid": "Stop", **grant("*", effect="Deny")}] if stop == RESOURCE else []
    return p, obj(doc(grant({"AWS": ROLE_A}), *res_stop), rcps=[[RCP_FULL, *rcp_stop]])


@pytest.mark.parametrize("where", LAYERS)
def test_an_explicit_deny_in_any_layer_overrides_every_allow(where):
    """"An explicit deny in any of these policies overrides the allow."
    — Policy evaluation for requests within a single account"""
    assert decide(*_everything_allows(None)).decision == ALLOW
    d = decide(*_everything_allows(where))
    assert (d.decision, d.layer, d.sid) == (DENY, where, "Stop")
    assert d.why().startswith(f"DENY ({where} ") and d.why().endswith(" Stop)")
    assert layer(d, where) == "deny" and [lr.layer for lr in d.layers] == list(LAYERS)


# ----------------------------------------------------------------------------- 2. SCPs
def test_every_scp_level_needs_an_allow():
    """"For a permission to be allowed for a specific account, there must be an explicit Allow
    statement at every level from the root through each OU in the direct path to the account
    (including the target account itself)." — SCP evaluation"""
    guard = Policy("scp deny-leave-org", doc(deny("organizations:LeaveOrganization")))
    p = role(ROLE_A, READ, scps=[[FULL], [guard], [FULL]])  # FullAWSAccess detached from the OU
    d = decide(p, obj())
    assert (d.decision, d.layer, d.policy, d.sid) == (DENY, SCP, "scp deny-leave-org", None)
    assert "level 2 of 3" in next(lr.note for lr in d.layers if lr.layer == SCP)
    p.scps[1].append(FULL)
    assert decide(p, obj()).decision == ALLOW


def test_management_account_and_service_linked_roles_are_not_subject_to_scps():
    """"SCPs apply to principals in member accounts, including each AWS account root user. [...]
    The only exceptions are principals in the organization management account and service-linked
    roles." — Processing the request context"""
    deny_all = [[Policy("scp deny-all", doc(deny()))]]
    assert decide(role(ROLE_A, READ, scps=deny_all), obj()).layer == SCP
    mgmt = decide(role(ROLE_A, READ, scps=[]), obj())
    assert mgmt.decision == ALLOW and layer(mgmt, SCP) == "not-applicable"
    slr = decide(role(ROLE_A, READ, scps=deny_all, service_linked=True), obj())
    assert slr.decision == ALLOW and layer(slr, SCP) == "not-applicable"
    root = Principal(arn=f"arn:aws:iam::{A}:root", kind=ACCOUNT_ROOT, account=A, org_id=ORG, scps=deny_all)
    assert decide(root, obj()).layer == SCP  # the member account's root user is subject to them


def test_scps_never_apply_to_service_principals():
    """"SCPs apply to principals in member accounts" — Processing the request context
    (an AWS service principal belongs to no member account)."""
    svc = Principal(arn="cloudtrail.amazonaws.com", kind=SERVICE, scps=[[Policy("scp deny-all", doc(deny()))]])
    d = decide(svc, obj(doc(grant({"Service": "cloudtrail.amazonaws.com"}, "s3:PutObject"))), "s3:PutObject")
    assert d.decision == ALLOW and layer(d, SCP) == "not-applicable"


# ----------------------------------------------------------------------------- 3. RCPs
ORG_ONLY = Policy("rcp org-only-access", doc(
    {"Sid": "EnforceOrgIdentities", **grant("*", "s3:*", "*", "Deny"),
     "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG}, "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}},
    {"Sid": "EnforceConfusedDeputyProtection", **grant("*", "s3:*", "*", "Deny"),
     "Condition": {"StringNotEqualsIfExists": {"aws:SourceOrgID": ORG}, "Null": {"aws:SourceAccount": "false"},
                   "Bool": {"aws:PrincipalIsAWSService": "true"}}}))


def test_rcps_deny_principals_outside_the_organization():
    """"RCPs apply to resources in member accounts and impact the effective permissions for
    principals, including the AWS account root user, regardless of whether the principals belong
    to your organization." — Processing the request context"""
    shared = doc(grant({"AWS": [ROLE_X, ROLE_B]}))
    stranger = role(ROLE_X, READ, org=OTHER_ORG)
    d = decide(stranger, obj(shared, rcps=[[RCP_FULL, ORG_ONLY]]))
    assert (d.decision, d.layer, d.sid) == (DENY, RCP, "EnforceOrgIdentities")
    assert decide(stranger, obj(shared)).decision == ALLOW  # without the RCP both sides allow
    assert decide(role(ROLE_B, READ), obj(shared, rcps=[[RCP_FULL, ORG_ONLY]])).decision == ALLOW


def test_rcps_do_not_apply_to_management_account_resources_nor_service_linked_roles():
    """"RCPs don't apply to resources in the organization management account and to calls made by
    service-linked roles." — Processing the request context"""
    stranger = role(ROLE_X, READ, org=OTHER_ORG)
    shared = doc(grant({"AWS": ROLE_X}))
    d = decide(stranger, obj(shared, rcps=[]))  # the model gives management-account resources no RCPs
    assert d.decision == ALLOW and layer(d, RCP) == "not-applicable"
    slr = role(ROLE_X, READ, org=OTHER_ORG, service_linked=True)
    assert decide(slr, obj(shared, rcps=[[RCP_FULL, ORG_ONLY]])).decision == ALLOW


def test_every_rcp_level_needs_an_allow_and_rcps_cover_service_principals():
    """"If the enforcement code does not find any applicable Allow statements in the RCPs, the
    enforcement code returns a final decision of Deny." — How AWS enforcement code logic
    evaluates requests to allow or deny access. The org-only RCP's confused-deputy statement
    stops a service acting for another organization."""
    p = role(ROLE_A, READ)
    assert decide(p, obj(rcps=[[RCP_FULL], [ORG_ONLY]])).layer == RCP
    svc = Principal(arn="cloudtrail.amazonaws.com", kind=SERVICE)
    bucket = doc(grant({"Service": "cloudtrail.amazonaws.com"}, "s3:PutObject"))
    ours = decide(svc, obj(bucket, rcps=[[RCP_FULL, ORG_ONLY]]), "s3:PutObject", **{"aws:SourceOrgID": ORG, "aws:SourceAccount": A})
    theirs = decide(svc, obj(bucket, rcps=[[RCP_FULL, ORG_ONLY]]), "s3:PutObject", **{"aws:SourceOrgID": OTHER_ORG, "aws:SourceAccount": X})
    assert ours.decision == ALLOW
    assert (theirs.decision, theirs.layer, theirs.sid) == (DENY, RCP, "EnforceConfusedDeputyProtection")


# ----------------------------------------------------------------------------- 4. identity, boundary, session
def test_without_any_allow_the_request_is_implicitly_denied():
    """"By default, all requests are implicitly denied with the exception of the AWS account root
    user, which has full access." — How AWS enforcement code logic evaluates requests"""
    d = decide(role(ROLE_A), obj())
    assert (d.decision, d.layer) == (DENY, IDENTITY) and layer(d, IDENTITY) == "implicit-deny"
    root = Principal(arn=f"arn:aws:iam::{A}:root", kind=ACCOUNT_ROOT, account=A)
    assert decide(root, obj()).decision == ALLOW


def test_a_permissions_boundary_limits_identity_policies():
    """"An entity's permissions boundary allows it to perform only the actions that are allowed by
    both its identity-based policies and its permissions boundaries." — Permissions boundaries for
    IAM entities"""
    bounded = role(ROLE_A, allow("s3:*"), boundary=Policy("boundary ec2-only", doc(allow("ec2:*"))))
    d = decide(bounded, obj())
    assert (d.decision, d.layer, d.policy) == (DENY, BOUNDARY, "boundary ec2-only")
    assert decide(role(ROLE_A, allow("s3:*"), boundary=Policy("b", doc(allow("s3:Get*")))), obj()).decision == ALLOW


def test_a_session_policy_limits_the_session():
    """"When you do this and pass session policies, the resulting session's permissions are the
    intersection of the IAM entity's identity-based policy and the session policies."
    — Processing the request context"""
    p = role(ROLE_A, allow("s3:*"), session_policy=Policy("session read-only", doc(allow("s3:GetObject"))))
    assert decide(p, obj()).decision == ALLOW
    d = decide(p, obj(), "s3:PutObject")
    assert (d.decision, d.layer, d.policy) == (DENY, SESSION, "session read-only")


# ----------------------------------------------------------------------------- 5. resource-based policies
def test_same_account_identity_or_resource_policy_is_enough():
    """"If either the identity-based policy or the resource-based policy within the same account
    allows the request and the other doesn't, the request is still allowed." — Policy evaluation
    for requests within a single account"""
    assert decide(role(ROLE_A), obj(doc(grant({"AWS": ROLE_A})))).decision == ALLOW
    assert decide(role(ROLE_A, READ), obj(doc(grant({"AWS": ADMIN_A})))).decision == ALLOW
    assert decide(role(ROLE_A), obj(doc(grant({"AWS": ADMIN_A})))).layer == IDENTITY


def test_a_grant_to_the_account_only_delegates_to_iam():
    """"You can specify AWS account identifiers in the Principal element of a resource-based policy
    [...]. This delegates authority to the account." — AWS JSON policy elements: Principal"""
    for account in (A, f"arn:aws:iam::{A}:root"):
        bucket = obj(doc(grant({"AWS": account})))
        assert decide(role(ROLE_A), bucket).layer == IDENTITY
        assert decide(role(ROLE_A, READ), bucket).decision == ALLOW


def test_cross_account_needs_both_sides():
    """"For principals in other accounts, they must also have identity-based permissions in their
    account that allow them to access your resource." — AWS JSON policy elements: Principal"""
    assert decide(role(ROLE_B), obj(doc(grant({"AWS": ROLE_B})))).layer == IDENTITY
    only_iam = decide(role(ROLE_B, READ), obj(doc(grant({"AWS": ADMIN_A}))))
    assert (only_iam.decision, only_iam.layer) == (DENY, RESOURCE)
    assert decide(role(ROLE_B, READ), obj()).layer == RESOURCE  # no bucket policy at all
    assert decide(role(ROLE_B, READ), obj(doc(grant({"AWS": ROLE_B})))).decision == ALLOW
    assert decide(role(ROLE_B, READ), obj(doc(grant({"AWS": B})))).decision == ALLOW


def test_a_grant_to_the_role_arn_is_limited_by_boundary_and_session_policy():
    """"When you specify a role principal in a resource-based policy, the effective permissions for
    the principal are limited by any policy types that limit permissions for the role. This includes
    session policies and permissions boundaries." — AWS JSON policy elements: Principal"""
    bucket = obj(doc(grant({"AWS": ROLE_A})))
    d = decide(role(ROLE_A, boundary=Policy("boundary ec2-only", doc(allow("ec2:*")))), bucket)
    assert (d.decision, d.layer) == (DENY, BOUNDARY)
    d = decide(role(ROLE_A, session_policy=Policy("session ec2", doc(allow("ec2:*")))), bucket)
    assert (d.decision, d.layer) == (DENY, SESSION)
    assert decide(role(ROLE_A, boundary=Policy("b", doc(allow("s3:*")))), bucket).decision == ALLOW


def test_a_wildcard_or_session_grant_is_not_limited_by_boundary_or_session_policy():
    """"Identity-based policy types, such as permissions boundaries or session policies, do not
    limit permissions granted using the aws:PrincipalArn condition key with a wildcard(*) in the
    Principal element, unless the identity-based policies contain an explicit deny." — AWS JSON
    policy elements: Principal. "If a resource-based policy grants permission directly to the IAM
    user or the session principal that is making the request, then an implicit deny in an
    identity-based policy, a permissions boundary, or a session policy does not impact the final
    decision." — How AWS enforcement code logic evaluates requests to allow or deny access"""
    bounded = role(ROLE_A, boundary=Policy("boundary ec2-only", doc(allow("ec2:*"))))
    star = obj(doc(grant("*", Condition={"ArnEquals": {"aws:PrincipalArn": ROLE_A}})))
    assert decide(bounded, star).decision == ALLOW
    session = obj(doc(grant({"AWS": f"arn:aws:sts::{A}:assumed-role/app/build-42"})))
    assert decide(bounded, session, **{"aws:userid": "AROAEXAMPLE:build-42"}).decision == ALLOW
    assert decide(bounded, session, **{"aws:userid": "AROAEXAMPLE:other"}).layer == IDENTITY
    explicit = role(ROLE_A, boundary=Policy("b", doc(allow("ec2:*"), {"Sid": "No", **deny("s3:*")})))
    assert decide(explicit, star).sid == "No"


def test_principal_element_forms():
    """"The following elements are equivalent: "Principal": "*" / "Principal" : { "AWS" : "*" }"
    and "You cannot use a wildcard to match part of a principal name or ARN." — AWS JSON policy
    elements: Principal. Federated principals name identity providers, never our callers."""
    anon = Principal(arn="*", kind=ANONYMOUS)
    for everyone in ("*", {"AWS": "*"}):
        assert decide(anon, obj(doc(grant(everyone)))).decision == ALLOW
    assert decide(anon, obj(doc(grant({"AWS": A})))).layer == RESOURCE
    fed = obj(doc(grant({"Federated": f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com"})))
    assert decide(role(ROLE_A), fed).layer == IDENTITY
    with pytest.raises(ValueError):
        decide(role(ROLE_A), obj(doc(grant({"AWS": f"arn:aws:iam::{A}:role/app*"}))))
    with pytest.raises(ValueError):
        decide(role(ROLE_A), obj(doc(grant({"Service": "*"}))))


def test_not_principal():
    """"The NotPrincipal element uses "Effect":"Deny" to deny access to all principals except the
    principal specified in the NotPrincipal element." "NotPrincipal must be used with
    "Effect":"Deny". Using it with "Effect":"Allow" is not supported." "The NotPrincipal element
    with a Deny effect will always deny any IAM principal that has a permissions boundary policy
    attached, regardless of the values specified in the NotPrincipal element."
    — AWS JSON policy elements: NotPrincipal"""
    only_admin = {"Sid": "OnlyAdmin", "Effect": "Deny", "NotPrincipal": {"AWS": [f"arn:aws:iam::{A}:root", ADMIN_A]},
                  "Action": "s3:*", "Resource": OBJECT}
    bucket = obj(doc(only_admin))
    assert decide(role(ADMIN_A, READ), bucket).decision == ALLOW
    assert decide(role(ROLE_A, READ), bucket).sid == "OnlyAdmin"
    assert decide(role(ADMIN_A, READ, boundary=Policy("b", doc(allow("s3:*")))), bucket).sid == "OnlyAdmin"
    with pytest.raises(ValueError):
        decide(role(ROLE_A), obj(doc({**only_admin, "Effect": "Allow"})))


# ----------------------------------------------------------------------------- 6. KMS key policies
def test_kms_identity_policies_need_the_key_policy_to_allow_them():
    """"Unless the key policy explicitly allows it, you cannot use IAM policies to allow access to a
    KMS key. Without permission from the key policy, IAM policies that allow permissions have no
    effect." — Key policies in AWS KMS"""
    user = role(ROLE_A, allow("kms:Decrypt", KEY))
    admin_only = doc(grant({"AWS": ADMIN_A}, "kms:*", "*"))
    d = decide(user, key(admin_only), "kms:Decrypt")
    assert (d.decision, d.layer, d.policy) == (DENY, RESOURCE, "key policy data-key")
    assert decide(user, key(None), "kms:Decrypt").layer == RESOURCE
    enable_iam = doc({"Sid": "EnableIamPolicies", **grant({"AWS": f"arn:aws:iam::{A}:root"}, "kms:*", "*")})
    assert decide(user, key(enable_iam), "kms:Decrypt").decision == ALLOW
    assert decide(role(ROLE_A), key(enable_iam), "kms:Decrypt").layer == IDENTITY
    assert decide(role(ROLE_A), key(doc(grant({"AWS": ROLE_A}, "kms:Decrypt", "*"))), "kms:Decrypt").decision == ALLOW


def test_kms_cross_account():
    """"To use an IAM policy to control access to a KMS key, the key policy for the KMS key must give
    the account permission to use IAM policies." — Using IAM policies with AWS KMS; cross-account,
    both sides must allow."""
    shared = key(doc(grant({"AWS": B}, ["kms:Decrypt", "kms:DescribeKey"], "*")))
    assert decide(role(ROLE_B, allow("kms:Decrypt", KEY)), shared, "kms:Decrypt").decision == ALLOW
    assert decide(role(ROLE_B), shared, "kms:Decrypt").layer == IDENTITY
    assert decide(role(ROLE_B, allow("kms:*", "*")), shared, "kms:Encrypt").layer == RESOURCE


# ----------------------------------------------------------------------------- 7. role trust policies
def test_trust_policies_must_allow_the_caller():
    """"IAM role trust policies and KMS key policies are exceptions to this logic, because they must
    explicitly allow access for principals." — How AWS enforcement code logic evaluates requests
    to allow or deny access"""
    assume = allow("sts:AssumeRole", TARGET)
    exact = trusted_role(doc({"Effect": "Allow", "Principal": {"AWS": ROLE_A}, "Action": "sts:AssumeRole",  # no Resource
                              "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}}}))
    assert decide(role(ROLE_A), exact, "sts:AssumeRole").decision == ALLOW
    assert decide(role(ROLE_A, org=OTHER_ORG), exact, "sts:AssumeRole").layer == RESOURCE
    account = trusted_role(doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "sts:AssumeRole"}))
    assert decide(role(ROLE_A), account, "sts:AssumeRole").layer == IDENTITY
    assert decide(role(ROLE_A, assume), account, "sts:AssumeRole").decision == ALLOW
    other = trusted_role(doc({"Effect": "Allow", "Principal": {"AWS": ADMIN_A}, "Action": "sts:AssumeRole"}))
    assert decide(role(ROLE_A, assume), other, "sts:AssumeRole").layer == RESOURCE
    cross = trusted_role(doc({"Effect": "Allow", "Principal": {"AWS": ROLE_B}, "Action": ["sts:AssumeRole", "sts:TagSession"]}))
    assert decide(role(ROLE_B), cross, "sts:AssumeRole").layer == IDENTITY
    assert decide(role(ROLE_B, allow("sts:*", TARGET)), cross, "sts:TagSession").decision == ALLOW
    # The trust policy governs assuming the role, not managing it.
    assert decide(role(ROLE_A, allow("iam:DeleteRole", TARGET)), other, "iam:DeleteRole").decision == ALLOW
    with pytest.raises(ValueError):
        decide(role(ROLE_A), trusted_role(doc({"Effect": "Deny", "NotPrincipal": {"AWS": A}, "Action": "sts:AssumeRole"})), "sts:AssumeRole")


# ----------------------------------------------------------------------------- 8. service principals
def test_service_principals_need_the_resource_policy():
    """"You can specify AWS services in the Principal element of a resource-based policy" — AWS JSON
    policy elements: Principal. A service has no identity policies, so only that can allow it."""
    svc = Principal(arn="cloudtrail.amazonaws.com", kind=SERVICE)
    ok = obj(doc(grant({"Service": "cloudtrail.amazonaws.com"}, "s3:PutObject", Condition={"StringEquals": {"aws:SourceAccount": A}})))
    assert decide(svc, ok, "s3:PutObject", **{"aws:SourceAccount": A}).decision == ALLOW
    assert decide(svc, ok, "s3:PutObject", **{"aws:SourceAccount": X}).layer == RESOURCE
    assert decide(svc, obj(doc(grant({"Service": "config.amazonaws.com"}, "s3:PutObject"))), "s3:PutObject").layer == RESOURCE
    assert decide(svc, obj(), "s3:PutObject").layer == RESOURCE
    service_role = trusted_role(doc({"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    assert decide(svc, service_role, "sts:AssumeRole").decision == ALLOW


# ----------------------------------------------------------------------------- 9. conditions
ARN_X = f"arn:aws:iam::{A}:role/X"
OPERATORS = [
    # (operator, key, policy values, context, expected)
    ("StringEquals", "s", ["a", "b"], {"s": "b"}, True),
    ("StringEquals", "s", "A", {"s": "a"}, False),  # values are case-sensitive
    ("StringNotEquals", "s", ["a", "b"], {"s": "c"}, True),
    ("StringNotEquals", "s", ["a", "b"], {"s": "b"}, False),  # NOR over the values
    ("StringEqualsIgnoreCase", "s", "ABC", {"s": "abc"}, True),
    ("StringNotEqualsIgnoreCase", "s", "ABC", {"s": "abc"}, False),
    ("StringLike", "s", "rep*/q?.csv", {"s": "reports/q1.csv"}, True),
    ("StringLike", "s", "rep*", {"s": "Reports"}, False),
    ("StringNotLike", "s", ["x*", "y*"], {"s": "zeta"}, True),
    ("StringNotLike", "s", ["x*", "y*"], {"s": "yes"}, False),
    ("NumericEquals", "n", "7", {"n": 7}, True),
    ("NumericNotEquals", "n", "7", {"n": "7"}, False),
    ("NumericLessThan", "n", "30", {"n": 7}, True),
    ("NumericLessThanEquals", "n", "7", {"n": 7}, True),
    ("NumericGreaterThan", "n", "30", {"n": 7}, False),
    ("NumericGreaterThanEquals", "n", "7.5", {"n": "8"}, True),
    ("DateEquals", "t", "2025-01-01T00:00:00Z", {"t": "1735689600"}, True),
    ("DateNotEquals", "t", "2025-01-01T00:00:00Z", {"t": "2025-01-01T00:00:00+00:00"}, False),
    ("DateLessThan", "t", "2025-01-01T00:00:00Z", {"t": "2024-12-31T23:59:59Z"}, True),
    ("DateLessThanEquals", "t", "2025-01-01", {"t": "2025-01-01T00:00:01Z"}, False),
    ("DateGreaterThan", "t", "1735689600", {"t": "2025-06-01T00:00:00Z"}, True),
    ("DateGreaterThanEquals", "t", "2025-01-01T00:00:00Z", {"t": 1735689600}, True),
    ("Bool", "b", "false", {"b": False}, True),
    ("Bool", "b", "true", {"b": "false"}, False),
    ("BinaryEquals", "k", "QmluYXJ5VmFsdWU=", {"k": b"BinaryValue"}, True),
    ("BinaryEquals", "k", "QmluYXJ5VmFsdWU=", {"k": "T3RoZXI="}, False),
    ("IpAddress", "ip", "203.0.113.0/24", {"ip": "203.0.113.7"}, True),
    ("IpAddress", "ip", ["2001:db8::/32"], {"ip": "203.0.113.7"}, False),
    ("NotIpAddress", "ip", "203.0.113.0/24", {"ip": "198.51.100.1"}, True),
    ("ArnEquals", "arn", f"arn:aws:iam::{A}:role/X", {"arn": ARN_X}, True),
    ("ArnEquals", "arn", "arn:aws:iam::*:role/?", {"arn": ARN_X}, True),  # ArnEquals takes wildcards too
    ("ArnLike", "arn", "arn:aws:iam::*:role/*", {"arn": ARN_X}, True),
    ("ArnLike", "arn", "arn:aws:*", {"arn": ARN_X}, False),  # six parts, each matched on its own
    ("ArnLike", "arn", "arn:aws:iam::*:role/X", {"arn": f"arn:aws:iam::{A}:x:role/X"}, False),  # * stays in its part
    ("ArnLike", "arn", "arn:aws:iam::*:role/X", {"arn": f"arn:aws:sts::{A}:assumed-role/X/s"}, False),
    ("ArnNotEquals", "arn", "arn:aws:iam::*:role/Y", {"arn": ARN_X}, True),
    ("ArnNotLike", "arn", ["arn:aws:iam::*:role/Y", "arn:aws:iam::*:role/X"], {"arn": ARN_X}, False),
    ("Null", "s", "true", {}, True),
    ("Null", "s", "false", {"s": "x"}, True),
    ("Null", "s", "false", {}, False),
]


@pytest.mark.parametrize("operator,key_,values,ctx,expected", OPERATORS, ids=[f"{o[0]}-{i}" for i, o in enumerate(OPERATORS)])
def test_condition_operators(operator, key_, values, ctx, expected):
    """Each operator of "IAM JSON policy elements: Condition operators" (there: "The ArnEquals and
    ArnLike condition operators behave identically."); "If a single negated matching condition
    operator includes multiple values for a context key, those values are evaluated using a logical
    NOR." — Conditions with multiple context keys or values"""
    assert condition_holds(operator, key_, values, ctx) is expected


MISSING = [
    ("StringEquals", False), ("StringNotEquals", True), ("StringLike", False), ("StringNotLike", True),
    ("NumericLessThan", False), ("NumericNotEquals", True), ("DateGreaterThan", False), ("DateNotEquals", True),
    ("Bool", False), ("IpAddress", False), ("NotIpAddress", True), ("ArnLike", False), ("ArnNotLike", True),
    ("StringEqualsIfExists", True), ("BoolIfExists", True), ("ArnNotLikeIfExists", True),
    ("ForAnyValue:StringEquals", False), ("ForAnyValue:StringNotLike", False), ("ForAllValues:StringEquals", True),
]


@pytest.mark.parametrize("operator,expected", MISSING)
def test_missing_keys(operator, expected):
    """"If the key that you specify in a policy condition is not present in the request context, the
    values do not match and the condition is false. If the policy condition requires that the key is
    not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the condition
    is true. This logic applies to all condition operators except ...IfExists and Null check."
    "The ForAllValues qualifier returns true if there are no context keys in the request or if the
    context key value resolves to a null dataset, such as an empty string."
    — IAM JSON policy elements: Condition operators"""
    value = "arn:aws:iam::*:role/x" if "Arn" in operator else "203.0.113.0/24" if "Ip" in operator else "1" if "Numeric" in operator or "Date" in operator else "x"
    assert condition_holds(operator, "absent:key", value, {"present": "y"}) is expected
    if operator.startswith("ForAllValues"):
        assert condition_holds(operator, "k", value, {"k": []}) is True


def test_set_operators_keys_and_combinations():
    """"If your policy statement has multiple condition operators, the condition operators are
    evaluated using a logical AND." [...] "If a single condition operator includes multiple values
    for a context key, those values are evaluated using a logical OR." — Conditions with multiple
    context keys or values"""
    ctx = {"aws:TagKeys": ["team", "env"], "AWS:RequestedRegion": "eu-west-1"}
    assert condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["team", "env", "owner"], ctx)
    assert not condition_holds("ForAllValues:StringEquals", "aws:TagKeys", ["team"], ctx)
    assert condition_holds("ForAnyValue:StringEquals", "aws:TagKeys", ["env"], ctx)
    assert condition_holds("ForAnyValue:StringNotLike", "aws:TagKeys", ["team"], ctx)
    assert not condition_holds("ForAllValues:StringNotLike", "aws:TagKeys", ["team"], ctx)
    assert condition_holds("StringEquals", "aws:requestedregion", "eu-west-1", ctx)  # keys are case-insensitive
    block = {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}, "ForAnyValue:StringEquals": {"aws:TagKeys": "env"}}
    assert conditions_hold(block, ctx)
    assert not conditions_hold({**block, "Null": {"aws:MultiFactorAuthPresent": "false"}}, ctx)
    with pytest.raises(TypeError):
        condition_holds("StringEquals", "aws:TagKeys", "team", ctx)


@pytest.mark.parametrize("bad", [
    {"StringEqualz": {"s": "x"}}, {"ForAnyValue:Null": {"s": "true"}}, {"NullIfExists": {"s": "true"}},
    {"Null": {"s": "maybe"}}, {"NumericLessThan": {"n": "ten"}}, {"IpAddress": {"ip": "not-an-ip"}}, {"StringEquals": "s"},
])
def test_unknown_operators_and_malformed_conditions_raise(bad):
    """A guardrail must never pass because the evaluator ignored part of it ("Use condition operators
    in the Condition element to match the condition key and value in the policy against values in the
    request context." — IAM JSON policy elements: Condition operators)."""
    with pytest.raises(ValueError):
        conditions_hold(bad, {})
    with pytest.raises(ValueError):
        decide(role(ROLE_A, {**READ, "Condition": bad}), obj())


@pytest.mark.parametrize("stmt", [
    {**READ, "Effect": "Permit"}, {**READ, "Principal": "*"}, {"Effect": "Allow", "Action": "s3:*"},
    {**READ, "NotAction": "s3:PutObject"}, {**READ, "Conditions": {}}, {"Effect": "Allow", "Resource": "*"},
])
def test_unknown_or_misplaced_statement_elements_raise(stmt):
    """"Statements must include either an Action or NotAction element." — IAM JSON policy elements:
    NotAction; identity-based policies take no Principal."""
    with pytest.raises(ValueError):
        decide(role(ROLE_A, stmt), obj())


def test_policy_variables():
    """"If AWS cannot resolve a variable this might cause the entire statement to be invalid."
    "When policy variables reference a condition context key that has no value or is not present in
    an authorization context for a request, the value is effectively null. There is no equal or like
    value." — IAM policy elements: Variables and tags"""
    tagged = role(ROLE_A, allow("s3:GetObject", "arn:aws:s3:::acme-a-data/${aws:PrincipalTag/team}/*"), tags={"team": "payments"})
    mine = Resource(arn=f"{BUCKET}/payments/q1.csv", account=A, kind="s3-object")
    theirs = Resource(arn=f"{BUCKET}/checkout/q1.csv", account=A, kind="s3-object")
    assert decide(tagged, mine).decision == ALLOW and decide(tagged, theirs).decision == DENY
    untagged = role(ROLE_A, allow("s3:GetObject", "arn:aws:s3:::acme-a-data/${aws:PrincipalTag/team}/*"))
    assert decide(untagged, mine).decision == DENY
    by_user = role(ROLE_A, allow("s3:GetObject", "arn:aws:s3:::acme-a-data/${aws:username, 'payments'}/*"))
    assert decide(by_user, mine).decision == ALLOW  # roles have no aws:username: the default applies
    ctx = {"aws:PrincipalAccount": A, "s3:prefix": "home/*", "aws:userid": "AIDAX:bob"}
    assert condition_holds("StringEquals", "aws:ResourceAccount", "${aws:PrincipalAccount}", {**ctx, "aws:ResourceAccount": A})
    assert not condition_holds("StringEquals", "aws:ResourceAccount", "${aws:username}", {**ctx, "aws:ResourceAccount": A})
    assert condition_holds("StringLike", "s3:prefix", "home/${*}", ctx)  # ${*} is a literal asterisk
    assert not condition_holds("StringLike", "s3:prefix", "home/${*}", {"s3:prefix": "home/x"})
    assert condition_holds("StringLike", "s3:prefix", "home/*", {"s3:prefix": "home/x"})
    assert condition_holds("StringNotEquals", "s3:prefix", "${aws:username}", ctx)  # no equal value
    assert condition_holds("StringEquals", "s3:prefix", "${$}{x}", {"s3:prefix": "${x}"})
    with pytest.raises(ValueError):
        condition_holds("StringEquals", "s", "${aws:username, unquoted}", ctx)


# ----------------------------------------------------------------------------- 10. request context
def test_the_standard_request_context():
    """"For IAM roles, the request context returns the ARN of the role, not the ARN of the user that
    assumed the role." — AWS global condition context keys"""
    p = role(ROLE_A, tags={"team": "payments"})
    ctx = request_context(Request(p, "s3:GetObject", obj(), {"aws:SourceAccount": B, "aws:SecureTransport": None}))
    assert ctx["aws:principalarn"] == ROLE_A and ctx["aws:principalaccount"] == A and ctx["aws:principalorgid"] == ORG
    assert ctx["aws:principalisawsservice"] == "false" and ctx["aws:principaltype"] == "AssumedRole"
    assert ctx["aws:principaltag/team"] == "payments" and ctx["aws:requestedregion"] == "eu-west-1"
    assert ctx["aws:resourceaccount"] == A and ctx["aws:resourceorgid"] == ORG and ctx["aws:sourceaccount"] == B
    assert "aws:securetransport" not in ctx and "aws:multifactorauthpresent" not in ctx
    assert ctx["aws:userid"].endswith(":app")
    svc = request_context(Request(Principal(arn="cloudtrail.amazonaws.com", kind=SERVICE), "s3:PutObject", obj()))
    assert svc["aws:principalisawsservice"] == "true" and svc["aws:principalservicename"] == "cloudtrail.amazonaws.com"
    assert "aws:principalarn" not in svc and "aws:principalorgid" not in svc
    outside = request_context(Request(role(ROLE_X, org=None), "s3:GetObject", obj()))
    assert "aws:principalorgid" not in outside
    mfa = role(ROLE_A, allow("s3:*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    assert decide(mfa, obj()).decision == DENY
    assert decide(mfa, obj(), **{"aws:MultiFactorAuthPresent": "true"}).decision == ALLOW


# ----------------------------------------------------------------------------- 11. actions and resources
def test_action_and_resource_matching():
    """"The prefix and the action name are case insensitive." — IAM JSON policy elements: Action.
    "The NotAction element explicitly matches everything except the specified list of actions" and
    NotResource "explicitly matches every resource except those specified"."""
    p = role(ROLE_A, allow("S3:get*", "arn:aws:s3:::acme-a-*/*"))
    assert decide(p, obj()).decision == ALLOW
    assert decide(p, Resource(arn="arn:aws:s3:::ACME-A-data/report.csv", account=A)).decision == DENY  # resources are case-sensitive
    across = role(ROLE_A, allow("kms:Decrypt", "arn:aws:kms:*"))  # a Resource wildcard may span colons
    assert decide(across, key(doc(grant({"AWS": A}, "kms:*", "*"))), "kms:Decrypt").decision == ALLOW
    not_iam = role(ROLE_A, {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"})
    assert decide(not_iam, obj()).decision == ALLOW
    assert decide(not_iam, Resource(arn=TARGET, account=A), "iam:CreateRole").layer == IDENTITY
    not_logs = role(ROLE_A, {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::acme-a-logs/*"})
    assert decide(not_logs, obj()).decision == ALLOW
    assert decide(not_logs, Resource(arn="arn:aws:s3:::acme-a-logs/x", account=A)).layer == IDENTITY
    nothing = role(ROLE_A, {"Effect": "Allow", "Action": "s3:*", "NotResource": "*"})
    assert decide(nothing, obj()).layer == IDENTITY


# ----------------------------------------------------------------------------- guardrails and speed
def test_guardrail_decision_rejects_allow_statements():
    """The deny-list helper (FullAWSAccess assumed attached) refuses what it cannot evaluate."""
    deny_leave = {"Statement": [{"Sid": "NoLeave", **deny("organizations:LeaveOrganization")}]}
    assert guardrail_decision(deny_leave, GuardrailRequest.make("organizations:leaveorganization")).sid == "NoLeave"
    assert not guardrail_decision(deny_leave, GuardrailRequest.make("organizations:DescribeOrganization")).denied
    with pytest.raises(ValueError):
        guardrail_decision({"Statement": [allow()]}, GuardrailRequest.make("s3:GetObject"))


# ----------------------------------------------------------------------------- what is computed once
GLOBS = ["arn:aws:s3:::b/k", "arn:aws:s3:::b/*", "arn:aws:s3:::b/*/x", "arn:aws:s3:::b/?", "*", "arn:aws:iam::*:role/a*",
         "arn:aws:iam::*:role/*", "arn:aws:iam::1:*", "arn:aws:iam::*", "arn:*:iam::1:role/a", "a:b:c:d:e:*f:g*", "a:b*", "ab*b", "a:b:c:d:e:f*f"]
VALUES = ["arn:aws:s3:::b/k", "arn:aws:s3:::b/k/x", "arn:aws:s3:::b/", "arn:aws:iam::1:role/ab", "arn:aws:iam::1:role/a:b",
          "arn:aws:iam::1:x:role/a", "arn:aws:iam::12:role/b", "a:b:c:d:e:f:g", "a:b:c:d:e:xf:gg", "a:bc", "", "ARN:aws:s3:::b/k", "ab", "a:b:c:d:e:f"]


def test_matching_without_a_regex_is_matching_with_one():
    """Globs are tested without compiling a regex where they can be; the answers must not change."""
    rnd = random.Random(7)

    def text(chars: str, n: int, parts: int = 1) -> str:
        return ":".join("".join(rnd.choice(chars) for _ in range(rnd.randrange(n))) for _ in range(parts))
    globs = GLOBS + [text("ab:**?/", 12) for _ in range(120)] + [text("ab**?:", 4, 6) for _ in range(150)]
    values = VALUES + [text("ab:/", 14) for _ in range(100)] + [text("ab:", 4, 6) for _ in range(150)]
    for some in [[g] for g in globs] + [GLOBS, globs[-30:]]:
        for arn in (False, True):
            test = globs_test(some, arn=arn)
            for v in values:
                assert test(v) == any((arn_like if arn else glob_match)(g, v) for g in some), (some, arn, v)


@pytest.mark.parametrize("value", [1, True, "1", "true", 1.0, ["1"], None])
def test_memoized_conditions_tell_values_apart(value):
    """A Condition block is computed once per context values; True, 1 and 1.0 (equal in Python)
    are "true", "1" and "1.0" to a String operator."""
    block = {"StringEquals": {"aws:x": ["1", "true"]}, "StringNotEquals": {"aws:y": "1.0"}}
    p = role(ROLE_A, allow("s3:*", Condition=block))
    for v in (value, 1, True, 1.0, "1", value):
        ctx = {"aws:x": v, "aws:y": v}
        if isinstance(v, list):
            with pytest.raises(TypeError):
                decide(p, obj(), **ctx)
            continue
        assert decide(p, obj(), **ctx).decision == (ALLOW if conditions_hold(block, ctx) else DENY), v
    assert decide(p, obj(), **{"aws:x": 1, "aws:y": 1}).decision == ALLOW
    assert decide(p, obj(), **{"aws:x": 1.0, "aws:y": 1.0}).decision == DENY


def test_documents_alike_compile_alike_but_only_when_they_are_alike():
    """Statements are compiled once per content: a condition key 1 is not the key "1"."""
    good = doc(allow("s3:*", Condition={"StringEquals": {"1": "x"}}))
    bad = doc(allow("s3:*", Condition={"StringEquals": {1: "x"}}))
    assert decide(role(ROLE_A, good["Statement"][0]), obj(), **{"1": "x"}).decision == ALLOW
    with pytest.raises((ValueError, AttributeError)):
        decide(Principal(arn=ROLE_A, account=A, identity_policies=[Policy("inline bad", bad)]), obj())


def test_policies_alike_keep_their_names():
    """Results are shared by policies with the same document; each decision names its own."""
    body = doc({"Sid": "No", **deny("s3:GetObject")}, allow("s3:*"))
    first = decide(role(ROLE_A, scps=[[FULL, Policy("scp one", body)]]), obj())
    second = decide(role(ROLE_A, scps=[[FULL, Policy("scp two", body)]]), obj())
    assert (first.policy, second.policy) == ("scp one", "scp two")
    assert [m.policy for m in second.layers[0].matches] == ["scp two", "scp FullAWSAccess", "scp two"]


def test_guardrail_documents_are_all_checked_even_after_a_deny():
    deny_all = {"Statement": [{"Sid": "All", **deny("*")}]}
    assert guardrail_decision([deny_all], GuardrailRequest.make("s3:GetObject")).sid == "All"
    with pytest.raises(ValueError):
        guardrail_decision([deny_all, {"Statement": [allow()]}], GuardrailRequest.make("s3:GetObject"))
