"""The principalmapper bridge answers simple, hand-built requests the way AWS does.

Self-contained: only ``blueprint.access.types`` and the bridge, never the evaluator.
"""

from __future__ import annotations

import pytest

from blueprint.access.types import ACCOUNT_ROOT, ANONYMOUS, SERVICE, Policy, Principal, Request, Resource
from tests.access.pmapper_bridge import Unsupported, pmapper_context, pmapper_decision

ORG = "o-ourorg1234"
A = "111111111111"  # workload account
B = "222222222222"  # another member account
X = "999999999999"  # outside the organization
ROLE_A = f"arn:aws:iam::{A}:role/app"
ROLE_B = f"arn:aws:iam::{B}:role/reader"
ROLE_X = f"arn:aws:iam::{X}:role/stranger"
BUCKET_A = "arn:aws:s3:::acme-a-data"
OBJECT_A = f"{BUCKET_A}/report.csv"

FULL_ACCESS = Policy("scp FullAWSAccess", {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
RCP_FULL_ACCESS = Policy("rcp RCPFullAWSAccess", {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action="*", resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="*", resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def grant(principal, action="s3:GetObject", resource=OBJECT_A, effect="Allow", **extra) -> dict:
    return {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource, **extra}


def role(arn=ROLE_A, *statements: dict, account=None, org=ORG, **kw) -> Principal:
    account = account or arn.split(":")[4]
    policies = [Policy(f"inline {arn.rsplit('/', 1)[-1]}", doc(*statements))] if statements else []
    return Principal(arn=arn, account=account, org_id=org, identity_policies=policies, **kw)


def bucket_object(policy: dict | None = None, account=A, **kw) -> Resource:
    return Resource(arn=OBJECT_A, account=account, org_id=ORG, region="us-east-1", kind="s3-object",
                    policy=Policy("bucket policy acme-a-data", policy) if policy is not None else None, **kw)


def decide(principal, resource, action="s3:GetObject", **context) -> bool:
    return pmapper_decision(Request(principal, action, resource, context))


# ------------------------------------------------------------------ identity policies


def test_identity_allow():
    assert decide(role(ROLE_A, allow("s3:GetObject", f"{BUCKET_A}/*")), bucket_object())


def test_no_identity_policy_is_implicit_deny():
    assert not decide(role(ROLE_A), bucket_object())
    assert not decide(role(ROLE_A, allow("s3:PutObject", f"{BUCKET_A}/*")), bucket_object())


def test_identity_explicit_deny_beats_allow():
    p = role(ROLE_A, allow("s3:*"), deny("s3:GetObject", f"{BUCKET_A}/*"))
    assert not decide(p, bucket_object())


# ------------------------------------------------------------------ SCPs


def scp_levels(*account_level: dict) -> list[list[Policy]]:
    """Root and OU levels carry FullAWSAccess; the account level whatever is given."""
    return [[FULL_ACCESS], [FULL_ACCESS], [Policy("scp acct", doc(*account_level))]]


def test_scp_allowing_everything_does_not_grant():
    assert not decide(role(ROLE_A, scps=scp_levels(allow())), bucket_object())
    assert decide(role(ROLE_A, allow(), scps=scp_levels(allow())), bucket_object())


def test_scp_deny_at_one_level():
    levels = [[FULL_ACCESS], [FULL_ACCESS, Policy("scp deny-s3-reads", doc(deny("s3:Get*")))], [FULL_ACCESS]]
    assert not decide(role(ROLE_A, allow(), scps=levels), bucket_object())
    assert decide(role(ROLE_A, allow(), scps=levels), bucket_object(), action="s3:PutObject")


def test_scp_level_missing_an_allow():
    levels = [[FULL_ACCESS], [Policy("scp ec2-only", doc(allow("ec2:*")))], [FULL_ACCESS]]
    assert not decide(role(ROLE_A, allow(), scps=levels), bucket_object())
    assert decide(role(ROLE_A, allow(), scps=levels), bucket_object(), action="ec2:DescribeInstances")


def test_scps_do_not_apply_to_service_linked_roles():
    slr = f"arn:aws:iam::{A}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    levels = [[FULL_ACCESS, Policy("scp deny-all", doc(deny()))]]
    assert decide(role(slr, allow(), scps=levels, service_linked=True), bucket_object())
    assert not decide(role(ROLE_A, allow(), scps=levels), bucket_object())
    # principalmapper decides service-linked-ness from the role name; a model that disagrees is not comparable.
    with pytest.raises(Unsupported, match="service-linked"):
        decide(role(slr, allow(), scps=levels), bucket_object())


# ------------------------------------------------------------------ RCPs (our extension)

ORG_ONLY = Policy("rcp org-only", doc(grant(
    "*", action="s3:*", resource="*", effect="Deny",
    Condition={"StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG},
               "BoolIfExists": {"aws:PrincipalIsAWSService": "false"}})))


def test_rcp_denies_principal_outside_the_org():
    bucket = bucket_object(doc(grant({"AWS": ROLE_X}), grant({"AWS": ROLE_B})),
                           rcps=[[RCP_FULL_ACCESS, ORG_ONLY], [RCP_FULL_ACCESS]])
    stranger = role(ROLE_X, allow(), org=None)
    insider = role(ROLE_B, allow())
    assert not decide(stranger, bucket)
    assert decide(insider, bucket)
    # Without the RCP the bucket policy alone would have let the stranger in.
    assert decide(stranger, bucket_object(doc(grant({"AWS": ROLE_X}))))


def test_rcp_level_missing_an_allow():
    bucket = bucket_object(rcps=[[RCP_FULL_ACCESS], [Policy("rcp kms-only", doc(grant("*", "kms:*", "*")))]])
    assert not decide(role(ROLE_A, allow()), bucket)


def test_rcps_do_not_apply_to_service_linked_roles():
    slr = f"arn:aws:iam::{A}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig"
    bucket = bucket_object(rcps=[[RCP_FULL_ACCESS, Policy("rcp deny-all", doc(grant("*", "*", "*", "Deny")))]])
    assert not decide(role(slr, allow()), bucket)
    assert decide(role(slr, allow(), service_linked=True), bucket)


# ------------------------------------------------------------------ resource-based policies


def test_cross_account_bucket_needs_both_sides():
    reader = role(ROLE_B, allow("s3:GetObject", f"{BUCKET_A}/*"))
    assert decide(reader, bucket_object(doc(grant({"AWS": ROLE_B}))))
    assert decide(reader, bucket_object(doc(grant({"AWS": f"arn:aws:iam::{B}:root"}))))
    assert not decide(reader, bucket_object())  # no bucket policy
    assert not decide(reader, bucket_object(doc(grant({"AWS": ROLE_X}))))  # policy names someone else
    assert not decide(role(ROLE_B), bucket_object(doc(grant({"AWS": ROLE_B}))))  # no identity side


def test_same_account_resource_policy_alone_allows():
    assert decide(role(ROLE_A), bucket_object(doc(grant({"AWS": ROLE_A}))))
    assert decide(role(ROLE_A), bucket_object(doc(grant("*"))))
    assert decide(role(ROLE_A), bucket_object(doc(grant({"AWS": "*"}))))  # normalised to "*"
    # Naming the account delegates to IAM: the identity side must then allow.
    assert not decide(role(ROLE_A), bucket_object(doc(grant({"AWS": f"arn:aws:iam::{A}:root"}))))


def test_resource_policy_deny_wins():
    bucket = bucket_object(doc(grant("*", "s3:*", f"{BUCKET_A}/*", "Deny",
                                     Condition={"Bool": {"aws:SecureTransport": "false"}})))
    assert decide(role(ROLE_A, allow()), bucket)
    assert not decide(role(ROLE_A, allow()), bucket, **{"aws:SecureTransport": False})


def test_org_condition_on_resource_policy():
    bucket = bucket_object(doc(grant("*", Condition={"StringEquals": {"aws:PrincipalOrgID": ORG}})))
    assert decide(role(ROLE_B, allow()), bucket)
    assert not decide(role(ROLE_X, allow(), org=None), bucket)


def test_kms_key_policy_is_required_even_in_the_same_account():
    key = f"arn:aws:kms:us-east-1:{A}:key/1234"

    def kms_key(policy):
        return Resource(arn=key, account=A, org_id=ORG, region="us-east-1", kind="kms-key",
                        policy=Policy("key policy k", policy) if policy is not None else None)

    user = role(ROLE_A, allow("kms:Decrypt", key))
    assert not decide(user, kms_key(None), "kms:Decrypt")
    assert not decide(user, kms_key(doc(grant({"AWS": f"arn:aws:iam::{A}:role/other"}, "kms:*", "*"))), "kms:Decrypt")
    assert decide(user, kms_key(doc(grant({"AWS": f"arn:aws:iam::{A}:root"}, "kms:*", "*"))), "kms:Decrypt")
    assert decide(role(ROLE_A), kms_key(doc(grant({"AWS": ROLE_A}, "kms:Decrypt", "*"))), "kms:Decrypt")
    assert not decide(role(ROLE_A), kms_key(doc(grant({"AWS": f"arn:aws:iam::{A}:root"}, "kms:*", "*"))),
                      "kms:Decrypt")


def test_trust_policy_governs_assume_role_only():
    target = f"arn:aws:iam::{A}:role/target"
    trust = Policy("trust target", doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                        "Action": "sts:AssumeRole"}))
    res = Resource(arn=target, account=A, org_id=ORG, kind="iam-role", policy=trust)
    deployer = role(ROLE_A, allow(["iam:PassRole", "sts:AssumeRole"], target))
    assert decide(deployer, res, "iam:PassRole")
    assert not decide(deployer, res, "sts:AssumeRole")
    trusting = Resource(arn=target, account=A, org_id=ORG, kind="iam-role", policy=Policy(
        "trust target", doc({"Effect": "Allow", "Principal": {"AWS": ROLE_A}, "Action": "sts:AssumeRole"})))
    assert decide(role(ROLE_A), trusting, "sts:AssumeRole")


def test_sns_uppercase_actions_do_not_match_everything():
    topic = Resource(arn=f"arn:aws:sns:us-east-1:{A}:alerts", account=A, org_id=ORG, region="us-east-1",
                     kind="sns-topic", policy=Policy("topic policy alerts", doc(
                         grant({"AWS": ROLE_B}, "SNS:Subscribe", f"arn:aws:sns:us-east-1:{A}:alerts"))))
    subscriber = role(ROLE_B, allow("sns:*"))
    assert decide(subscriber, topic, "sns:Subscribe")
    assert not decide(subscriber, topic, "sns:Publish")


# ------------------------------------------------------------------ boundary and session policy


def test_permissions_boundary_implicit_deny():
    boundary = Policy("boundary workload", doc(allow(["ec2:*", "logs:*"])))
    assert not decide(role(ROLE_A, allow(), boundary=boundary), bucket_object())
    assert decide(role(ROLE_A, allow(), boundary=boundary), bucket_object(), "logs:PutLogEvents")
    # The boundary grants nothing by itself.
    assert not decide(role(ROLE_A, boundary=boundary), bucket_object(), "logs:PutLogEvents")


def test_session_policy_implicit_deny():
    session = Policy("session narrow", doc(allow("s3:PutObject")))
    assert not decide(role(ROLE_A, allow(), session_policy=session), bucket_object())
    assert decide(role(ROLE_A, allow(), session_policy=session), bucket_object(), "s3:PutObject")


def test_resource_policy_bypassing_the_boundary_is_unsupported():
    # principalmapper answers Allow here; AWS limits a resource policy naming the role ARN by the boundary.
    boundary = Policy("boundary workload", doc(allow("ec2:*")))
    with pytest.raises(Unsupported, match="boundary"):
        decide(role(ROLE_A, boundary=boundary), bucket_object(doc(grant({"AWS": ROLE_A}))))
    session = Policy("session narrow", doc(allow("ec2:*")))
    with pytest.raises(Unsupported, match="session"):
        decide(role(ROLE_A, session_policy=session), bucket_object(doc(grant({"AWS": ROLE_A}))))


# ------------------------------------------------------------------ condition keys


def test_mfa_condition_via_context():
    p = role(ROLE_A, allow("s3:GetObject", "*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"},
                                                           "NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}))
    assert not decide(p, bucket_object())
    assert decide(p, bucket_object(), **{"aws:MultiFactorAuthPresent": True, "aws:MultiFactorAuthAge": 300})
    assert not decide(p, bucket_object(), **{"aws:MultiFactorAuthPresent": True, "aws:MultiFactorAuthAge": 7200})
    assert not decide(p, bucket_object(), **{"aws:MultiFactorAuthPresent": False, "aws:MultiFactorAuthAge": 300})


def test_json_boolean_in_a_deny_condition_still_denies():
    p = role(ROLE_A, allow(), deny("*", "*", Condition={"Bool": {"aws:SecureTransport": False}}))
    assert decide(p, bucket_object())
    assert not decide(p, bucket_object(), **{"aws:SecureTransport": "false"})


def test_derived_condition_keys():
    req = Request(role(ROLE_B), "s3:GetObject", bucket_object(keys={"s3:prefix": "x/"}),
                  {"aws:SourceVpce": "vpce-1", "AWS:REQUESTEDREGION": "eu-west-1"})
    ctx = {k.lower(): v for k, v in pmapper_context(req).items()}
    assert ctx == {
        "aws:principalarn": ROLE_B, "aws:principalaccount": B, "aws:principalorgid": ORG,
        "aws:principalisawsservice": "false", "aws:securetransport": "true",
        "aws:requestedregion": "eu-west-1", "aws:resourceaccount": A, "aws:resourceorgid": ORG,
        "s3:prefix": "x/", "aws:sourcevpce": "vpce-1",
    }
    no_org = Request(role(ROLE_X, org=None), "s3:GetObject", bucket_object(), {"aws:ResourceOrgID": None})
    ctx = {k.lower() for k in pmapper_context(no_org)}
    assert "aws:principalorgid" not in ctx and "aws:resourceorgid" not in ctx


def test_principal_tags_reach_conditions_and_resource_variables():
    p = role(ROLE_A, allow("s3:GetObject", f"{BUCKET_A}/${{aws:PrincipalTag/team}}/*"), tags={"team": "pay"})
    assert decide(p, Resource(arn=f"{BUCKET_A}/pay/x", account=A, kind="s3-object"))
    assert not decide(p, Resource(arn=f"{BUCKET_A}/ops/x", account=A, kind="s3-object"))


# ------------------------------------------------------------------ what the bridge refuses


@pytest.mark.parametrize("principal", [
    Principal(arn="cloudtrail.amazonaws.com", kind=SERVICE),
    Principal(arn=f"arn:aws:iam::{A}:root", kind=ACCOUNT_ROOT, account=A, org_id=ORG),
    Principal(arn="*", kind=ANONYMOUS),
])
def test_principals_without_a_node_are_unsupported(principal):
    with pytest.raises(Unsupported) as exc:
        decide(principal, bucket_object(doc(grant({"Service": "cloudtrail.amazonaws.com"}))))
    assert "principalmapper only models IAM users and roles" in exc.value.reason


@pytest.mark.parametrize("statement, reason", [
    ({"Effect": "Deny", "NotPrincipal": {"AWS": ROLE_A}, "Action": "s3:*", "Resource": "*"}, "NotPrincipal"),
    (grant("*", Condition={"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}}), "policy variable"),
    (grant("*", Condition={"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}}), "IpAddressIfExists"),
    (grant("*", Condition={"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "3600"}}), "NumericLessThanIfExists"),
    (grant("*", Condition={"ForAnyValue:NumericEquals": {"x:n": "1"}}), "ForAnyValue:NumericEquals"),
    (grant("*", Condition={"StringNotLike": {"aws:SourceVpc": "vpc-1*"}}), "StringNotLike"),
    (grant("*", Condition={"StringEqualz": {"aws:SourceVpc": "vpc-1"}}), "not modelled"),
    (grant("*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00"}}), "TypeError"),
    (grant("*", resource="arn:aws:s3:::ACME-A-DATA/*"), "case"),
])
def test_constructs_principalmapper_gets_wrong_are_unsupported(statement, reason):
    with pytest.raises(Unsupported, match=reason):
        decide(role(ROLE_A, allow()), bucket_object(doc(statement)))


def test_removing_a_key_principalmapper_always_infers_is_unsupported():
    with pytest.raises(Unsupported, match="aws:SecureTransport"):
        decide(role(ROLE_A, allow()), bucket_object(), **{"aws:SecureTransport": None})
