"""Patch an instance Inspector finds vulnerable (inlined as Code.ZipFile by the baseline).

EventBridge sends each "Inspector2 Finding" on an EC2 instance of this account. At or above
THRESHOLD, the instance runs AWS-RunPatchBaseline (Install) through Systems Manager Run
Command; below it, or not an instance, nothing happens. Malformed events raise ValueError.
"""
import os

import boto3
from botocore.config import Config

ORDER = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
CFG = Config(retries={"max_attempts": 5, "mode": "standard"})
DOCUMENT = "AWS-RunPatchBaseline"


def at_or_above(severity, threshold):
    return severity in ORDER and ORDER.index(severity) >= ORDER.index(threshold)


def instances(detail):
    out = []
    for r in detail.get("resources") or []:
        if isinstance(r, dict) and r.get("type") == "AWS_EC2_INSTANCE" and str(r.get("id", "")).startswith("i-"):
            out.append(r["id"])
    return out


def decide(event, threshold, ssm):
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        raise ValueError("expected an EventBridge 'Inspector2 Finding' event with a detail object")
    if threshold not in ORDER:
        raise ValueError(f"THRESHOLD must be one of {ORDER[1:]}, got {threshold!r}")
    d = event["detail"]
    sev, ids = d.get("severity"), instances(d)
    if d.get("status", "ACTIVE") != "ACTIVE" or not ids or not at_or_above(sev, threshold):
        return {"action": "NONE", "severity": sev, "instances": ids}
    cmd = ssm.send_command(
        DocumentName=DOCUMENT, InstanceIds=ids, Parameters={"Operation": ["Install"], "RebootOption": ["RebootIfNeeded"]},
        Comment=f"secure-org: {sev} Inspector finding"[:100], MaxErrors="0", TimeoutSeconds=600)
    return {"action": "PATCH", "severity": sev, "instances": ids, "command": cmd["Command"]["CommandId"]}


def handler(event, context):
    return decide(event, os.environ.get("THRESHOLD", "HIGH"), boto3.client("ssm", config=CFG))
