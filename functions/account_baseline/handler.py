"""Custom::AccountBaseline (inlined as Code.ZipFile): settings CFN has no type for.

Create/Update: EBS default encryption, IMDSv2 defaults, the Config service-linked role;
Global "true" (home region) adds the account S3 public access block and password policy.
Delete changes nothing: removing the baseline must never turn a protection off.
"""
import json
import logging
import signal
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

log = logging.getLogger()
log.setLevel(logging.INFO)
CFG = Config(connect_timeout=5, read_timeout=15, retries={"max_attempts": 3, "mode": "standard"})


def send_response(event, status, reason, physical_id):
    body = json.dumps({
        "Status": status,
        "Reason": reason[:1000],
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": {},
    }).encode()
    req = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                 headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(req, timeout=30) as resp:
        log.info("sent %s to CloudFormation: HTTP %s", status, resp.status)


def apply(props):
    ec2 = boto3.client("ec2", config=CFG)
    ec2.enable_ebs_encryption_by_default()
    imds = ec2.get_instance_metadata_defaults().get("AccountLevel", {})
    if imds.get("ManagedBy") == "declarative-policy":
        log.info("IMDS defaults are managed by a declarative policy")
    else:
        ec2.modify_instance_metadata_defaults(
            HttpTokens="required", HttpPutResponseHopLimit=2, HttpEndpoint="enabled")
    iam = boto3.client("iam", config=CFG)
    try:
        iam.create_service_linked_role(AWSServiceName="config.amazonaws.com")
    except ClientError as exc:  # it exists: InvalidInput "...has been taken"
        err = exc.response["Error"]
        if err["Code"] != "EntityAlreadyExists" and "taken" not in err.get("Message", ""):
            raise
    if props.get("Global") != "true":
        return
    boto3.client("s3control", config=CFG).put_public_access_block(
        AccountId=props["AccountId"],
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    iam.update_account_password_policy(
        MinimumPasswordLength=int(props.get("PasswordMinLength", 16)),
        RequireSymbols=True, RequireNumbers=True,
        RequireUppercaseCharacters=True, RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True, MaxPasswordAge=90,
        PasswordReusePrevention=24, HardExpiry=False)


def _out_of_time(signum, frame):
    raise TimeoutError("baseline did not finish before the Lambda timeout")


def handler(event, context):
    props = event.get("ResourceProperties", {})
    kind = event.get("RequestType")
    log.info("%s %s %s", kind, event.get("LogicalResourceId"), json.dumps(props))
    physical = event.get("PhysicalResourceId") or "account-baseline-%s-%s" % (
        props.get("AccountId"), boto3.session.Session().region_name)
    status, reason = "SUCCESS", ""
    if context is not None:  # answer FAILED before Lambda times out: CFN never waits
        signal.signal(signal.SIGALRM, _out_of_time)
        signal.alarm(max(1, context.get_remaining_time_in_millis() // 1000 - 10))
    try:
        if kind in ("Create", "Update"):
            apply(props)
        else:
            log.warning("%s: baseline settings deliberately left in place", kind)
    except Exception as exc:
        log.exception("baseline failed")
        status, reason = "FAILED", "%s: %s" % (type(exc).__name__, exc)
    finally:
        if context is not None:
            signal.alarm(0)
    send_response(event, status, reason, physical)
    return {"Status": status, "Reason": reason}
