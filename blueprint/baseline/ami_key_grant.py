"""The golden-AMI key grant for Auto Scaling, made in every account by the baseline StackSet.

Auto Scaling's service-linked role has a fixed IAM policy, so an Auto Scaling group cannot
launch from a golden AMI encrypted under the factory's key unless the consuming account grants
that role on the key ("Client.InternalError: Client error on launch"). CloudFormation has no
KMS grant type, so a small custom resource (functions/ami_key_grant, inlined) makes it. The
factory's key ARNs arrive as one StackSet parameter, so the template is the same for every
team; with no factory (empty list) nothing here is created.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from blueprint.images import naming

REPO = Path(__file__).resolve().parents[2]
HANDLER_PATH = REPO / "functions" / "ami_key_grant" / "handler.py"
INLINE_CODE_LIMIT = 4_096
FUNCTION_NAME = f"{naming.PREFIX}-ami-key-grant"
LOG_GROUP = f"/aws/lambda/{FUNCTION_NAME}"
CONDITION = "HasGoldenAmiKeys"
PARAMETER = "GoldenAmiKeyArns"
PARAMETER_SPEC: dict[str, Any] = {
    "Type": "CommaDelimitedList",
    "Default": "",
    "Description": "The image factory's golden-AMI key ARNs (one per region); empty when there is no factory",
}
KEY_ARN_RE = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$"


def handler_source() -> str:
    code = HANDLER_PATH.read_text(encoding="utf-8")
    if len(code) >= INLINE_CODE_LIMIT:
        raise ValueError(f"{HANDLER_PATH.name} is {len(code)} characters; inline code must stay under {INLINE_CODE_LIMIT}")
    return code


def conditions() -> dict[str, Any]:
    return {CONDITION: {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": PARAMETER}]}, ""]}]}}


def resources(log_retention_days: int) -> dict[str, Any]:
    code = handler_source()
    sub = lambda s: {"Fn::Sub": s}  # noqa: E731
    grantee = sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{naming.AUTOSCALING_ROLE}")
    policy = {"Version": "2012-10-17", "Statement": [
        # Only this grant: the Auto Scaling role of this account, on the factory's keys.
        {"Sid": "GrantAutoScaling", "Effect": "Allow", "Action": ["kms:CreateGrant"], "Resource": {"Ref": PARAMETER},
         "Condition": {"StringEquals": {"kms:GranteePrincipal": grantee}}},
        {"Sid": "RetireOwnGrant", "Effect": "Allow", "Action": ["kms:RetireGrant"], "Resource": {"Ref": PARAMETER}},
        {"Sid": "AutoScalingServiceLinkedRole", "Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole"],
         "Resource": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"),
         "Condition": {"StringEquals": {"iam:AWSServiceName": "autoscaling.amazonaws.com"}}},
        {"Sid": "OwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{LOG_GROUP}:*")},
    ]}
    c = {"Condition": CONDITION}
    return {
        "AmiKeyGrantLogGroup": {**c, "Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
                                "Properties": {"LogGroupName": LOG_GROUP, "RetentionInDays": log_retention_days}},
        "AmiKeyGrantRole": {**c, "Type": "AWS::IAM::Role", "Properties": {
            # Named by region (IAM is global); the AMI key's policy admits exactly this prefix.
            "RoleName": sub(f"{naming.KEY_GRANT_ROLE_PREFIX}${{AWS::Region}}"),
            "Description": "Grants Auto Scaling's service-linked role use of the golden-AMI key",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
                 "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]},
            "Policies": [{"PolicyName": "ami-key-grant", "PolicyDocument": policy}]}},
        "AmiKeyGrantFunction": {**c, "Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": FUNCTION_NAME,
            "Description": "Custom::GoldenAmiKeyGrant: Auto Scaling may use the golden-AMI key",
            "Runtime": "python3.13", "Handler": "index.handler", "Timeout": 60, "MemorySize": 128,
            "Role": {"Fn::GetAtt": ["AmiKeyGrantRole", "Arn"]},
            "LoggingConfig": {"LogGroup": {"Ref": "AmiKeyGrantLogGroup"}, "LogFormat": "Text"},
            "Code": {"ZipFile": code}}},
        "AmiKeyGrant": {**c, "Type": "Custom::GoldenAmiKeyGrant", "Properties": {
            "ServiceToken": {"Fn::GetAtt": ["AmiKeyGrantFunction", "Arn"]},
            "ServiceTimeout": 120,
            "KeyArns": {"Ref": PARAMETER},
            "CodeSha256": hashlib.sha256(code.encode()).hexdigest()}},
    }
