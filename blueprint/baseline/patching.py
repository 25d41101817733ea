"""Patching in every account, from the baseline StackSet: the seed's Inspector + Systems Manager loop.

* A State Manager association runs AWS-RunPatchBaseline (Install, reboot if needed) weekly on
  every managed instance of the account and region.
* An Inspector finding on an EC2 instance at or above PatchSeverityThreshold patches that
  instance at once: EventBridge invokes functions/patch_on_finding (inlined), which sends
  AWS-RunPatchBaseline through Run Command. The threshold is filtered in the function so the
  rule's pattern stays constant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HANDLER_PATH = REPO / "functions" / "patch_on_finding" / "handler.py"
INLINE_CODE_LIMIT = 4_096
FUNCTION_NAME = "secure-org-patch-on-finding"
ROLE_PREFIX = "secure-org-patch-on-finding-"
LOG_GROUP = f"/aws/lambda/{FUNCTION_NAME}"
ASSOCIATION_NAME = "secure-org-patch-baseline"
DOCUMENT = "AWS-RunPatchBaseline"
PARAMETER = "PatchSeverityThreshold"
PARAMETER_SPEC: dict[str, Any] = {
    "Type": "String", "Default": "HIGH", "AllowedValues": ["LOW", "MEDIUM", "HIGH", "CRITICAL"],
    "Description": "Inspector EC2 findings at or above this severity patch the instance (AWS-RunPatchBaseline)",
}
EVENT_PATTERN = {
    "source": ["aws.inspector2"],
    "detail-type": ["Inspector2 Finding"],
    "detail": {"status": ["ACTIVE"], "resources": {"type": ["AWS_EC2_INSTANCE"]}},
}


def handler_source() -> str:
    code = HANDLER_PATH.read_text(encoding="utf-8")
    if len(code) >= INLINE_CODE_LIMIT:
        raise ValueError(f"{HANDLER_PATH.name} is {len(code)} characters; inline code must stay under {INLINE_CODE_LIMIT}")
    return code


def resources(log_retention_days: int) -> dict[str, Any]:
    sub = lambda s: {"Fn::Sub": s}  # noqa: E731
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "PatchInstances", "Effect": "Allow", "Action": ["ssm:SendCommand"], "Resource": [
            # AWS-owned documents have no account in their ARN; "*" matches the empty one.
            sub(f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:*:document/{DOCUMENT}"),
            sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*")]},
        {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{LOG_GROUP}:*")},
    ]}
    return {
        "PatchBaselineAssociation": {"Type": "AWS::SSM::Association", "Properties": {
            "AssociationName": ASSOCIATION_NAME, "Name": DOCUMENT,
            "Targets": [{"Key": "InstanceIds", "Values": ["*"]}],
            "Parameters": {"Operation": ["Install"], "RebootOption": ["RebootIfNeeded"]},
            "ScheduleExpression": "cron(0 3 ? * SUN *)", "ComplianceSeverity": "HIGH",
            "MaxConcurrency": "20%", "MaxErrors": "10%"}},
        "PatchOnFindingLogGroup": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
                                   "Properties": {"LogGroupName": LOG_GROUP, "RetentionInDays": log_retention_days}},
        "PatchOnFindingRole": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": sub(f"{ROLE_PREFIX}${{AWS::Region}}"),
            "Description": "Patches instances Inspector finds vulnerable",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]},
            "Policies": [{"PolicyName": "patch-on-finding", "PolicyDocument": policy}]}},
        "PatchOnFindingFunction": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": FUNCTION_NAME,
            "Description": "Inspector EC2 finding at or above the threshold: AWS-RunPatchBaseline on the instance",
            "Runtime": "python3.13", "Handler": "index.handler", "Timeout": 60, "MemorySize": 128,
            "Role": {"Fn::GetAtt": ["PatchOnFindingRole", "Arn"]},
            "Environment": {"Variables": {"THRESHOLD": {"Ref": PARAMETER}}},
            "LoggingConfig": {"LogGroup": {"Ref": "PatchOnFindingLogGroup"}, "LogFormat": "Text"},
            "Code": {"ZipFile": handler_source()}}},
        "PatchOnFindingRule": {"Type": "AWS::Events::Rule", "Properties": {
            "Description": "Inspector EC2 findings: patch the instance",
            "EventPattern": EVENT_PATTERN,
            "Targets": [{"Id": "patch", "Arn": {"Fn::GetAtt": ["PatchOnFindingFunction", "Arn"]},
                         "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 3600}}]}},
        "PatchOnFindingInvoke": {"Type": "AWS::Lambda::Permission", "Properties": {
            "FunctionName": {"Ref": "PatchOnFindingFunction"}, "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com", "SourceArn": {"Fn::GetAtt": ["PatchOnFindingRule", "Arn"]},
            "SourceAccount": {"Ref": "AWS::AccountId"}}},
    }
