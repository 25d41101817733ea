"""Custom::GoldenAmiKeyGrant (functions/ami_key_grant) against moto (KMS create/retire grant, IAM).

moto does not evaluate key policies or cross-account access, so the key lives in the same
moto account; what is tested is the handler's choice of key, grantee, operations, name, the
idempotent service-linked role and the Delete path. CloudFormation's response URL is faked.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import boto3
import pytest
from moto import mock_aws

from functions.ami_key_grant import handler as h

REGION = "eu-west-1"
ACCOUNT = "123456789012"
CTX = SimpleNamespace(invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:secure-org-ami-key-grant")


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    sent = []
    monkeypatch.setattr(h, "send", lambda event, status, reason, pid: sent.append((status, reason, pid)))
    with mock_aws():
        yield sent


def event(kind, keys, physical=None):
    e = {"RequestType": kind, "StackId": "s", "RequestId": "r", "LogicalResourceId": "AmiKeyGrant",
         "ResponseURL": "https://example.invalid", "ResourceProperties": {"KeyArns": keys}}
    if physical:
        e["PhysicalResourceId"] = physical
    return e


def test_key_for_picks_this_regions_key():
    keys = [f"arn:aws:kms:us-east-1:{ACCOUNT}:key/a", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/b"]
    assert h.key_for(keys, REGION).endswith("key/b")
    assert h.key_for(keys, "ap-south-1") is None and h.key_for([""], REGION) is None


def test_create_grants_autoscaling_on_the_regions_key_and_delete_retires(aws):
    key = boto3.client("kms", REGION).create_key()["KeyMetadata"]["Arn"]
    h.handler(event("Create", [f"arn:aws:kms:us-east-1:{ACCOUNT}:key/other", key]), CTX)
    [(status, _, physical)] = aws
    assert status == "SUCCESS" and physical.startswith("grant:|") and key in physical
    [grant] = boto3.client("kms", REGION).list_grants(KeyId=key)["Grants"]
    assert grant["Name"] == h.NAME
    assert grant["GranteePrincipal"] == f"arn:aws:iam::{ACCOUNT}:role/{h.ROLE}"
    assert set(grant["Operations"]) == set(h.OPS) and "RetireGrant" not in grant["Operations"]
    # The service-linked role exists now; a second Create (update) tolerates it.
    assert boto3.client("iam").get_role(RoleName="AWSServiceRoleForAutoScaling")
    h.handler(event("Update", [key], physical), CTX)
    assert aws[-1][0] == "SUCCESS"
    h.handler(event("Delete", [key], aws[-1][2]), CTX)
    assert aws[-1] == ("SUCCESS", "ok", aws[-2][2])
    # Real KMS returns the original grant for a repeated Name, so Update keeps one grant; moto
    # mints a new one each time, so check the grant the stack last recorded is gone.
    retired = aws[-1][2].split("|")[-1]
    assert retired not in {g["GrantId"] for g in boto3.client("kms", REGION).list_grants(KeyId=key)["Grants"]}


def test_region_without_a_key_is_a_no_op(aws):
    h.handler(event("Create", [f"arn:aws:kms:us-east-1:{ACCOUNT}:key/other"]), CTX)
    assert aws == [("SUCCESS", "ok", "none")]
    h.handler(event("Delete", [], "none"), CTX)
    assert aws[-1] == ("SUCCESS", "ok", "none")


def test_failure_is_reported_to_cloudformation(aws):
    # A key that does not exist: KMS refuses, and CloudFormation hears FAILED (never a hang).
    h.handler(event("Create", [f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"]), CTX)
    [(status, reason, physical)] = aws
    # (moto raises a KeyError where real KMS answers NotFoundException: either way, FAILED.)
    assert status == "FAILED" and reason and physical == "failed"


def test_response_is_a_put_to_the_presigned_url(monkeypatch):
    seen = {}

    def urlopen(req, timeout):
        seen.update(url=req.full_url, method=req.get_method(), body=json.loads(req.data))

    monkeypatch.setattr(h.urllib.request, "urlopen", urlopen)
    h.send(event("Create", []), "SUCCESS", "ok", "none")
    assert seen["method"] == "PUT" and seen["body"]["Status"] == "SUCCESS" and seen["body"]["PhysicalResourceId"] == "none"
