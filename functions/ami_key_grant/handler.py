"""Custom::GoldenAmiKeyGrant (inlined as Code.ZipFile): Auto Scaling may use the golden-AMI key.

Auto Scaling's service-linked role has a fixed IAM policy, so it can launch from an AMI
encrypted under another account's key only through a grant made in the consuming account.
Create/Update: ensure the role exists, then grant it on this region's factory key (named, so
a retry returns the same grant). Delete retires the grant. No key for this region: no-op.
"""
import json
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

CFG = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 3, "mode": "standard"})
ROLE = "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
NAME = "secure-org-golden-ami-autoscaling"
OPS = ["Encrypt", "Decrypt", "ReEncryptFrom", "ReEncryptTo", "GenerateDataKey",
       "GenerateDataKeyWithoutPlaintext", "DescribeKey", "CreateGrant"]


def key_for(keys, region):
    """This region's key among the factory's (ARNs carry their region); None if there is none."""
    mine = [k for k in keys if k and k.split(":")[3] == region]
    return mine[0] if mine else None


def ensure_role(iam):
    try:
        iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    except ClientError as e:
        # IAM says InvalidInput "has been taken" when the role exists (moto: EntityAlreadyExists).
        if e.response["Error"]["Code"] not in ("InvalidInput", "EntityAlreadyExists"):
            raise


def grant(event, region, account, session=boto3):
    props = event.get("ResourceProperties", {})
    key = key_for(props.get("KeyArns") or [], region)
    old = event.get("PhysicalResourceId", "")
    kms = session.client("kms", region_name=region, config=CFG)
    if event["RequestType"] == "Delete" or key is None:
        if old.startswith("grant:"):
            _, key_arn, grant_id = old.split("|") if "|" in old else (None, None, None)
            if grant_id:
                try:
                    kms.retire_grant(KeyId=key_arn, GrantId=grant_id)
                except ClientError as e:
                    if e.response["Error"]["Code"] not in ("NotFoundException", "InvalidGrantIdException"):
                        raise
        return "none" if key is None and event["RequestType"] != "Delete" else old
    ensure_role(session.client("iam", config=CFG))
    grantee = f"arn:aws:iam::{account}:role/{ROLE}"
    got = kms.create_grant(KeyId=key, GranteePrincipal=grantee, Operations=OPS, Name=NAME)
    return f"grant:|{key}|{got['GrantId']}"


def send(event, status, reason, physical_id):
    body = json.dumps({"Status": status, "Reason": reason[:1000], "PhysicalResourceId": physical_id,
                       "StackId": event["StackId"], "RequestId": event["RequestId"],
                       "LogicalResourceId": event["LogicalResourceId"], "Data": {}}).encode()
    req = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                 headers={"Content-Type": "", "Content-Length": str(len(body))})
    urllib.request.urlopen(req, timeout=10)


def handler(event, context):
    region = context.invoked_function_arn.split(":")[3]
    account = context.invoked_function_arn.split(":")[4]
    try:
        physical = grant(event, region, account)
        send(event, "SUCCESS", "ok", physical)
    except Exception as e:  # noqa: BLE001  (CloudFormation must always get an answer)
        send(event, "FAILED", f"{type(e).__name__}: {e}", event.get("PhysicalResourceId") or "failed")
