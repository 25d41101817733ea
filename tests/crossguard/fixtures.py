"""Failing and passing fixtures for every rule, with props in the engine's camelCase.

RESOURCE_CASES: (rule, resource type, props, context overrides, should fail?)
STACK_CASES:    (rule, [Resource, ...], settings, should fail?)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from blueprint.crossguard.rules import Resource, Settings

ACCT = "111122223333"
OTHER = "444455556666"
ORG = "o-abc123def4"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SETTINGS = Settings(break_glass_roles=frozenset({"BreakGlassAdmin", "PaymentsIncident"}))


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(effect="Allow", action="sts:AssumeRole", resource=None, principal=None, condition=None, sid=None, **extra) -> dict:
    s: dict[str, Any] = {"Effect": effect}
    if action is not None:
        s["Action"] = action
    if sid:
        s["Sid"] = sid
    if principal is not None:
        s["Principal"] = principal
    if resource is not None:
        s["Resource"] = resource
    if condition is not None:
        s["Condition"] = condition
    s.update(extra)
    return s


def role(trust: str, name="app-role", **props) -> dict:
    return {"name": name, "assumeRolePolicy": trust, **props}


def template(resources: dict) -> dict:
    return {"templateBody": json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}), "name": "baseline"}


@dataclass
class Case:
    rule: str
    type: str
    props: dict
    fails: bool
    ctx: dict = field(default_factory=dict)  # protect, account_id, settings
    id: str = ""

    def __str__(self) -> str:
        return f"{self.rule}:{'fail' if self.fails else 'pass'}:{self.id}"


ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ROLE_ATTACH = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
STACKSET = "aws:cloudformation/stackSet:StackSet"
KEY = "aws:kms/key:Key"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
BUS_POLICY = "aws:cloudwatch/eventBusPolicy:EventBusPolicy"
LAMBDA_PERM = "aws:lambda/permission:Permission"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
ACL_V2 = "aws:s3/bucketAclV2:BucketAclV2"
LOGGING = "aws:s3/bucketLogging:BucketLogging"
PROJECT = "aws:codebuild/project:Project"
PIPELINE = "aws:codepipeline/pipeline:Pipeline"
DEPLOY_GROUP = "aws:codedeploy/deploymentGroup:DeploymentGroup"
TOPIC = "aws:sns/topic:Topic"
TRAIL = "aws:cloudtrail/trail:Trail"
ACCOUNT = "aws:organizations/account:Account"
ORGANIZATION = "aws:organizations/organization:Organization"
ORG_POLICY = "aws:organizations/policy:Policy"
ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
OU = "aws:organizations/organizationalUnit:OrganizationalUnit"
IMAGE = "aws:imagebuilder/image:Image"
IMAGE_PIPELINE = "aws:imagebuilder/imagePipeline:ImagePipeline"
DISTRIBUTION = "aws:imagebuilder/distributionConfiguration:DistributionConfiguration"
AMI_PERM = "aws:ec2/amiLaunchPermission:AmiLaunchPermission"

ORG_COND = {"StringEquals": {"aws:PrincipalOrgID": ORG}}

# --- realistic building blocks -------------------------------------------------

GOOD_PROJECT = {
    "name": "payments-sast",
    "serviceRole": f"arn:aws:iam::{ACCT}:role/payments-build",
    "encryptionKey": KEY_ARN,
    "artifacts": {"type": "CODEPIPELINE"},
    "environment": {
        "computeType": "BUILD_GENERAL1_SMALL",
        "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
        "type": "LINUX_CONTAINER",
        "privilegedMode": False,
        "environmentVariables": [
            {"name": "SEVERITY_THRESHOLD", "value": "HIGH", "type": "PLAINTEXT"},
            {"name": "SONAR_TOKEN", "value": "/ci/payments/sonar-token", "type": "PARAMETER_STORE"},
            {"name": "SECRETS_SCANNER", "value": "gitleaks", "type": "PLAINTEXT"},
            {"name": "TOKEN_PARAMETER", "value": "/ci/payments/token", "type": "PLAINTEXT"},
            {"name": "SOURCE_COMMIT", "value": "0123456789abcdef0123456789abcdef01234567", "type": "PLAINTEXT"},
        ],
    },
    "logsConfig": {"cloudwatchLogs": {"status": "ENABLED", "groupName": "/codebuild/payments"}},
    "source": {"type": "CODEPIPELINE", "buildspec": "buildspec-sast.yml"},
}


def project(**changes) -> dict:
    p = json.loads(json.dumps(GOOD_PROJECT))
    for path, value in changes.items():
        cur = p
        keys = path.split("__")
        for k in keys[:-1]:
            cur = cur.setdefault(k, {})
        if value is None:
            cur.pop(keys[-1], None)
        else:
            cur[keys[-1]] = value
    return p


def action(name, category, provider="CodeBuild", run_order=1, **config) -> dict:
    owner = "AWS"
    a = {"name": name, "category": category, "owner": owner, "provider": provider, "version": "1", "runOrder": run_order}
    if config:
        a["configuration"] = config
    return a


def stage(name, *actions) -> dict:
    return {"name": name, "actions": list(actions)}


SOURCE = stage("Source", action("Source", "Source", "CodeStarSourceConnection", ConnectionArn="arn:aws:codeconnections:eu-west-1:123456789012:connection/x", FullRepositoryId="acme/app"))
SCANS = stage(
    "Scan",
    action("SAST", "Test", ProjectName="payments-sast"),
    action("SecretsScan", "Test", ProjectName="payments-secrets"),
    action("SCA", "Test", ProjectName="payments-sca"),
)
BUILD = stage("Build", action("Build", "Build", ProjectName="payments-build"))
STAGING = stage("DeployStaging", action("DeployStaging", "Deploy", "CodeDeploy", ApplicationName="payments", DeploymentGroupName="payments-staging"))
DAST = stage("Dast", action("ZapBaseline", "Test", ProjectName="payments-dast"))
APPROVAL = stage("Approve", action("ApproveProduction", "Approval", "Manual", CustomData="Promote to prod?"))
PROD = stage("DeployProd", action("DeployProd", "Deploy", "CodeDeploy", ApplicationName="payments", DeploymentGroupName="payments-prod"))
STORE = {"location": "acme-payments-artifacts", "type": "S3", "encryptionKey": {"id": KEY_ARN, "type": "KMS"}}


def pipeline(*stages, stores=None) -> dict:
    return {"name": "payments", "pipelineType": "V2", "roleArn": f"arn:aws:iam::{ACCT}:role/pipeline",
            "artifactStores": stores if stores is not None else [STORE], "stages": list(stages)}


GOOD_PIPELINE = pipeline(SOURCE, SCANS, BUILD, STAGING, DAST, APPROVAL, PROD)
GOOD_DEPLOY_GROUP = {
    "appName": "payments",
    "deploymentGroupName": "payments-prod",
    "serviceRoleArn": f"arn:aws:iam::{ACCT}:role/codedeploy",
    "deploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
    "alarmConfiguration": {"enabled": True, "alarms": ["payments-prod-5xx", "payments-prod-latency"]},
}
GOOD_TRAIL = {
    "name": "org-trail", "s3BucketName": "acme-org-logs", "enableLogFileValidation": True, "kmsKeyId": KEY_ARN,
    "isMultiRegionTrail": True, "includeGlobalServiceEvents": True, "isOrganizationTrail": True,
    "cloudWatchLogsGroupArn": f"arn:aws:logs:eu-west-1:{ACCT}:log-group:/trail:*",
}

TLS_DENY = stmt("Deny", "s3:*", [f"arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"], {"AWS": "*"},
                {"Bool": {"aws:SecureTransport": "false"}}, sid="DenyInsecureTransport")
ACCESS_LOG_GRANT = stmt("Allow", "s3:PutObject", "arn:aws:s3:::bkt/*", {"Service": "logging.s3.amazonaws.com"},
                        {"StringEquals": {"aws:SourceAccount": ACCT}}, sid="S3ServerAccessLogs")

BREAK_GLASS_TEMPLATE_ROLE = {
    "Type": "AWS::IAM::Role",
    "Properties": {
        "RoleName": "BreakGlassAdmin",
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ManagementAccountId}:root"}},
            "Condition": {"ArnEquals": {"aws:PrincipalArn": {"Ref": "BreakGlassTrustedPrincipalArns"}},
                          "Bool": {"aws:MultiFactorAuthPresent": "true"}}}]},
        "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess"}],
        "Tags": [{"Key": "break-glass", "Value": "true"}],
    },
}


def tmpl_role(trust_principal, condition=None, managed=None, name="Ops", policies=None) -> dict:
    s = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": trust_principal}
    if condition:
        s["Condition"] = condition
    props = {"RoleName": name, "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [s]}}
    if managed:
        props["ManagedPolicyArns"] = managed
    if policies:
        props["Policies"] = policies
    return {"Type": "AWS::IAM::Role", "Properties": props}


C = Case
RESOURCE_CASES: list[Case] = [
    # --- trust: public principal
    C("iam-trust-no-public-principal", ROLE, role(doc(stmt(principal={"AWS": "*"}))), True, id="aws-star"),
    C("iam-trust-no-public-principal", ROLE, role(doc(stmt(principal="*", condition={"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG}}))), True, id="ifexists-is-not-scoping"),
    C("iam-trust-no-public-principal", ROLE, role(doc(stmt(principal="*", condition={"StringNotEquals": {"aws:PrincipalOrgID": ORG}}))), True, id="negated-is-not-scoping"),
    C("iam-trust-no-public-principal", STACKSET, template({"R": tmpl_role("*")}), True, id="template"),
    C("iam-trust-no-public-principal", ROLE, role(doc(stmt(principal={"AWS": "*"}, condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/deployer"}}))), True, id="any-account-arn"),
    C("iam-trust-no-public-principal", ROLE, role(doc(stmt(principal={"AWS": "*"}, condition=ORG_COND))), False, id="org-condition"),
    C("iam-trust-no-public-principal", ROLE, role(doc(stmt(principal={"Service": "codebuild.amazonaws.com"}, condition={"StringEquals": {"aws:SourceAccount": ACCT}}))), False, id="service"),
    # --- trust: cross-account pinned
    C("iam-trust-cross-account-pinned", ROLE, role(doc(stmt(principal={"AWS": f"arn:aws:iam::{OTHER}:root"}))), True, {"account_id": ACCT}, id="root"),
    C("iam-trust-cross-account-pinned", ROLE, role(doc(stmt(principal={"AWS": [OTHER]}))), True, {"account_id": ACCT}, id="bare-account"),
    C("iam-trust-cross-account-pinned", ROLE, role(doc(stmt(principal={"AWS": f"arn:aws:iam::{OTHER}:root"},
                                                             condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:role/*"}}))), True, {"account_id": ACCT}, id="wildcard-arn"),
    C("iam-trust-cross-account-pinned", ROLE, role(doc(stmt(principal={"AWS": f"arn:aws:iam::{OTHER}:root"}))), True, id="account-unknown"),
    C("iam-trust-cross-account-pinned", STACKSET, template({"R": tmpl_role({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ToolingAccountId}:root"}})}), True, id="template-root"),
    C("iam-trust-cross-account-pinned", ROLE, role(doc(stmt(principal={"AWS": f"arn:aws:iam::{OTHER}:root"},
                                                             condition={"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:role/payments-pipeline"}}))), False, {"account_id": ACCT}, id="pinned-condition"),
    C("iam-trust-cross-account-pinned", ROLE, role(doc(stmt(principal={"AWS": f"arn:aws:iam::{OTHER}:role/payments-pipeline"}))), False, {"account_id": ACCT}, id="exact-role-principal"),
    C("iam-trust-cross-account-pinned", ROLE, role(doc(stmt(principal={"AWS": f"arn:aws:iam::{ACCT}:root"}))), False, {"account_id": ACCT}, id="same-account"),
    C("iam-trust-cross-account-pinned", STACKSET, template({"B": BREAK_GLASS_TEMPLATE_ROLE}), False, id="template-pinned-by-ref"),
    C("iam-trust-cross-account-pinned", ROLE, role(doc(stmt(principal={"AWS": f"arn:aws:iam::{OTHER}:root"}, condition={"ArnLike": {"aws:PrincipalArn": [
        f"arn:aws:iam::{OTHER}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_payments-build-owner_????????????????",
        f"arn:aws:iam::{OTHER}:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_payments-build-owner_????????????????"]}}))), False, id="sso-permission-set"),
    C("iam-trust-cross-account-pinned", ROLE, role(doc(stmt(principal={"AWS": f"arn:aws:iam::{OTHER}:root"}, condition={"ArnLike": {"aws:PrincipalArn":
        f"arn:aws:iam::{OTHER}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_*"}}))), True, id="sso-any-permission-set"),
    # --- trust: OIDC
    C("iam-trust-oidc-subject-pinned", ROLE, role(doc(stmt(action="sts:AssumeRoleWithWebIdentity",
        principal={"Federated": f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"},
        condition={"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}))), True, id="aud-only"),
    C("iam-trust-oidc-subject-pinned", ROLE, role(doc(stmt(action="sts:AssumeRoleWithWebIdentity",
        principal={"Federated": f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"},
        condition={"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}}))), True, id="any-repo"),
    C("iam-trust-oidc-subject-pinned", ROLE, role(doc(stmt(action="sts:AssumeRoleWithWebIdentity",
        principal={"Federated": f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"},
        condition={"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                                    "token.actions.githubusercontent.com:sub": "repo:acme/payments:ref:refs/heads/main"}}))), False, id="pinned"),
    # --- admin star
    C("iam-no-admin-star", ROLE_POLICY, {"role": "ci-deployer", "policy": doc(stmt(action="*", resource="*"))}, True, {"settings": SETTINGS}, id="role-policy"),
    C("iam-no-admin-star", ROLE, role(doc(stmt(principal={"Service": "ec2.amazonaws.com"})), inlinePolicies=[{"name": "all", "policy": doc(stmt(action=["*"], resource=["*"]))}]), True, {"settings": SETTINGS}, id="inline"),
    C("iam-no-admin-star", POLICY, {"policy": doc(stmt(NotAction="iam:*", action=None, resource="*"))}, True, id="not-action"),
    C("iam-no-admin-star", STACKSET, template({"R": tmpl_role({"Service": "lambda.amazonaws.com"}, policies=[{"PolicyName": "x", "PolicyDocument": {"Statement": [{"Fn::If": ["C", {"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Ref": "AWS::NoValue"}]}]}}])}), True, id="template-fn-if"),
    C("iam-no-admin-star", ROLE_POLICY, {"role": "BreakGlassAdmin", "policy": doc(stmt(action="*", resource="*"))}, False, {"settings": SETTINGS}, id="break-glass-by-name"),
    C("iam-no-admin-star", ROLE, role(doc(stmt(principal={"Service": "ec2.amazonaws.com"})), name="incident", tags={"break-glass": "true"},
                                   inlinePolicies=[{"name": "all", "policy": doc(stmt(action="*", resource="*"))}]), False, id="break-glass-by-tag"),
    C("iam-no-admin-star", ROLE_POLICY, {"role": "ci", "policy": doc(stmt(action=["s3:GetObject"], resource="*"))}, False, id="scoped"),
    C("iam-no-admin-star", KEY, {"policy": doc(stmt(principal={"AWS": f"arn:aws:iam::{ACCT}:root"}, action="kms:*", resource="*")), "enableKeyRotation": True}, False, id="kms-key-policy-out-of-scope"),
    # --- wildcard sensitive
    C("iam-no-wildcard-sensitive-actions", POLICY, {"policy": doc(stmt(action=["s3:*"], resource="arn:aws:s3:::bkt/*"))}, True, id="s3-star"),
    C("iam-no-wildcard-sensitive-actions", ROLE_POLICY, {"role": "ci", "policy": doc(stmt(action=["iam:*", "kms:Decrypt"], resource="*"))}, True, id="iam-star"),
    C("iam-no-wildcard-sensitive-actions", ROLE_POLICY, {"role": "ci", "policy": doc(stmt(action=["s3:GetObject", "s3:PutObject", "cloudwatch:*"], resource="*"))}, False, id="specific"),
    C("iam-no-wildcard-sensitive-actions", ROLE_POLICY, {"role": "PaymentsIncident", "policy": doc(stmt(action=["iam:*"], resource="*"))}, False, {"settings": SETTINGS}, id="team-break-glass"),
    C("iam-no-wildcard-sensitive-actions", KEY, {"policy": doc(stmt(principal={"AWS": f"arn:aws:iam::{ACCT}:root"}, action="kms:*", resource="*")), "enableKeyRotation": True}, False, id="kms-key-policy-out-of-scope"),
    C("iam-no-wildcard-sensitive-actions", STACKSET, template({
        "Exec": tmpl_role({"Service": "cloudformation.amazonaws.com"}, policies=[{"PolicyName": "iac", "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": ["lambda:*", "dynamodb:*"], "Resource": {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:*"}},
            {"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PermissionsBoundary": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${Team}-boundary"}}}}]}}])}),
      True, id="template-exec-role"),
    C("iam-no-wildcard-sensitive-actions", STACKSET, template({
        "Boundary": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"ManagedPolicyName": {"Fn::Sub": "${Team}-boundary"},
                     "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": ["lambda:*", "s3:*"], "Resource": "*"}]}}},
        "Exec": tmpl_role({"Service": "cloudformation.amazonaws.com"}, policies=[{"PolicyName": "iac", "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*", "Condition": {"StringEquals": {"iam:PermissionsBoundary": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${Team}-boundary"}}}}]}}])}),
      False, id="template-boundary-by-condition"),
    C("iam-no-wildcard-sensitive-actions", STACKSET, template({
        "Boundary": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}},
        "App": {"Type": "AWS::IAM::Role", "Properties": {"PermissionsBoundary": {"Ref": "Boundary"}, "AssumeRolePolicyDocument": {"Statement": []}}}}),
      False, id="template-boundary-by-ref"),
    C("iam-no-wildcard-sensitive-actions", STACKSET, template({
        "Boundary": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}},
        "App": {"Type": "AWS::IAM::Role", "Properties": {"PermissionsBoundary": {"Ref": "Boundary"}, "ManagedPolicyArns": [{"Ref": "Boundary"}],
                                                          "AssumeRolePolicyDocument": {"Statement": []}}}}),
      True, id="boundary-also-attached-grants"),
    C("iam-no-wildcard-sensitive-actions", POLICY, {"policy": doc(stmt(action=["s3:*"], resource="*")), "tags": {"permissions-boundary": "true"}}, False, id="tagged-boundary"),
    # --- AdministratorAccess
    C("iam-no-administrator-access", ROLE_ATTACH, {"role": "ci-deployer", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, True, {"settings": SETTINGS}, id="attachment"),
    C("iam-no-administrator-access", STACKSET, template({"R": tmpl_role({"Service": "lambda.amazonaws.com"}, managed=[{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AdministratorAccess"}])}), True, {"settings": SETTINGS}, id="template"),
    C("iam-no-administrator-access", ROLE_ATTACH, {"role": "BreakGlassAdmin", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}, False, {"settings": SETTINGS}, id="break-glass"),
    C("iam-no-administrator-access", STACKSET, template({"B": BREAK_GLASS_TEMPLATE_ROLE}), False, id="template-break-glass-tag"),
    C("iam-no-administrator-access", ROLE_ATTACH, {"role": "auditor", "policyArn": "arn:aws:iam::aws:policy/SecurityAudit"}, False, id="other-policy"),
    # --- KMS
    C("kms-key-rotation", KEY, {"enableKeyRotation": False, "description": "k"}, True, id="off"),
    C("kms-key-rotation", KEY, {"description": "k"}, True, id="missing"),
    C("kms-key-rotation", KEY, {"enableKeyRotation": True}, False, id="on"),
    C("kms-key-rotation", KEY, {"customerMasterKeySpec": "RSA_2048", "keyUsage": "SIGN_VERIFY"}, False, id="asymmetric"),
    C("kms-key-policy-no-public-principal", KEY, {"enableKeyRotation": True, "policy": doc(stmt(principal={"AWS": "*"}, action="kms:Decrypt", resource="*"))}, True, id="star"),
    C("kms-key-policy-no-public-principal", "aws:kms/keyPolicy:KeyPolicy", {"keyId": "k", "policy": doc(stmt(principal="*", action="kms:*", resource="*", condition={"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}))}, True, id="via-service-only"),
    C("kms-key-policy-no-public-principal", KEY, {"enableKeyRotation": True, "policy": doc(
        stmt(principal={"AWS": f"arn:aws:iam::{ACCT}:root"}, action="kms:*", resource="*"),
        stmt(principal={"AWS": "*"}, action=["kms:Decrypt"], resource="*", condition={"StringEquals": {"kms:CallerAccount": ACCT, "kms:ViaService": "s3.eu-west-1.amazonaws.com"}}))}, False, id="caller-account"),
    # --- resource policies
    C("resource-policy-no-public-principal", TOPIC_POLICY, {"arn": "t", "policy": doc(stmt(principal={"AWS": "*"}, action="sns:Publish", resource="t"))}, True, id="sns"),
    C("resource-policy-no-public-principal", QUEUE_POLICY, {"queueUrl": "q", "policy": doc(stmt(principal="*", action="sqs:SendMessage", resource="q"))}, True, id="sqs"),
    C("resource-policy-no-public-principal", LAMBDA_PERM, {"function": "f", "action": "lambda:InvokeFunction", "principal": "*"}, True, id="lambda"),
    C("resource-policy-no-public-principal", BUS_POLICY, {"eventBusName": "b", "policy": doc(stmt(principal={"AWS": "*"}, action="events:PutEvents", resource="b", condition=ORG_COND))}, False, id="bus-org"),
    C("resource-policy-no-public-principal", TOPIC_POLICY, {"arn": "t", "policy": doc(stmt(principal={"Service": "events.amazonaws.com"}, action="sns:Publish", resource="t", condition={"StringEquals": {"aws:SourceAccount": ACCT}}),
                                                                                 stmt("Deny", "sns:Publish", "t", {"AWS": "*"}, {"Bool": {"aws:SecureTransport": "false"}}))}, False, id="sns-service-and-deny"),
    C("resource-policy-no-public-principal", LAMBDA_PERM, {"function": "f", "action": "lambda:InvokeFunction", "principal": "*", "principalOrgId": ORG}, False, id="lambda-org"),
    # --- S3 per resource
    C("s3-bucket-policy-tls-only", BUCKET_POLICY, {"bucket": "bkt", "policy": doc(ACCESS_LOG_GRANT)}, True, id="no-deny"),
    C("s3-bucket-policy-tls-only", BUCKET_POLICY, {"bucket": "bkt", "policy": doc(stmt("Deny", "s3:*", "arn:aws:s3:::bkt", {"AWS": "*"}, {"Bool": {"aws:SecureTransport": "false"}}))}, True, id="bucket-arn-only"),
    C("s3-bucket-policy-tls-only", BUCKET, {"bucket": "bkt", "policy": doc(ACCESS_LOG_GRANT)}, True, id="inline"),
    C("s3-bucket-policy-tls-only", BUCKET_POLICY, {"bucket": "bkt", "policy": doc(TLS_DENY, ACCESS_LOG_GRANT)}, False, id="deny"),
    C("s3-bucket-policy-tls-only", BUCKET_POLICY, {"bucket": "bkt", "policy": doc(stmt("Deny", "*", "*", "*", {"Bool": {"aws:SecureTransport": False}}))}, False, id="deny-all-bool"),
    C("s3-bucket-policy-tls-only", BUCKET, {"bucket": "bkt"}, False, id="no-inline-policy"),
    C("s3-bucket-policy-no-public-principal", BUCKET_POLICY, {"bucket": "bkt", "policy": doc(TLS_DENY, stmt(principal="*", action="s3:GetObject", resource="arn:aws:s3:::bkt/*"))}, True, id="public-read"),
    C("s3-bucket-policy-no-public-principal", BUCKET_POLICY, {"bucket": "bkt", "policy": doc(TLS_DENY, ACCESS_LOG_GRANT,
        stmt(principal={"AWS": "*"}, action="s3:GetObject", resource="arn:aws:s3:::bkt/*", condition=ORG_COND))}, False, id="org"),
    C("s3-bucket-public-access-block", PAB, {"bucket": "bkt", "blockPublicAcls": True, "blockPublicPolicy": False, "ignorePublicAcls": True, "restrictPublicBuckets": True}, True, id="one-off"),
    C("s3-bucket-public-access-block", PAB, {"bucket": "bkt"}, True, id="defaults"),
    C("s3-bucket-public-access-block", PAB, {"bucket": "bkt", "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}, False, id="all"),
    C("s3-bucket-versioning-enabled", VERSIONING, {"bucket": "bkt", "versioningConfiguration": {"status": "Suspended"}}, True, id="suspended"),
    C("s3-bucket-versioning-enabled", BUCKET, {"bucket": "bkt", "versioning": {"enabled": False}}, True, id="inline-off"),
    C("s3-bucket-versioning-enabled", VERSIONING, {"bucket": "bkt", "versioningConfiguration": {"status": "Enabled"}}, False, id="enabled"),
    C("s3-bucket-no-public-acl", BUCKET, {"bucket": "bkt", "acl": "public-read"}, True, id="canned"),
    C("s3-bucket-no-public-acl", ACL_V2, {"bucket": "bkt", "accessControlPolicy": {"owner": {"id": "o"}, "grants": [{"permission": "READ", "grantee": {"type": "Group", "uri": "http://acs.amazonaws.com/groups/global/AllUsers"}}]}}, True, id="grant"),
    C("s3-bucket-no-public-acl", ACL_V2, {"bucket": "bkt", "acl": "private"}, False, id="private"),
    # --- CodeBuild
    C("codebuild-not-privileged", PROJECT, project(environment__privilegedMode=True), True, id="no-reason"),
    C("codebuild-not-privileged", PROJECT, project(environment__privilegedMode=True, tags={"privileged-reason": "short"}), True, id="reason-too-short"),
    C("codebuild-not-privileged", PROJECT, project(environment__privilegedMode=True, tags={"privileged-reason": "builds the service's container image with docker"}), False, id="reason"),
    C("codebuild-not-privileged", PROJECT, project(), False, id="off"),
    C("codebuild-no-plaintext-secrets", PROJECT, project(environment__environmentVariables=[{"name": "GITHUB_TOKEN", "value": "notarealtoken-but-literal", "type": "PLAINTEXT"}]), True, id="token-name"),
    C("codebuild-no-plaintext-secrets", PROJECT, project(environment__environmentVariables=[{"name": "DEPLOY_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE"}]), True, id="aws-key-default-type"),
    C("codebuild-no-plaintext-secrets", PROJECT, project(environment__environmentVariables=[{"name": "CFG", "value": "x wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY y", "type": "PLAINTEXT"}]), True, id="aws-secret-key-value"),
    C("codebuild-no-plaintext-secrets", PROJECT, project(), False, id="references-and-plain-settings"),
    C("codebuild-source-no-credentials", PROJECT, project(source={"type": "GITHUB", "location": "https://ci-bot:ghp_abc@github.com/acme/app.git"}), True, id="url-creds"),
    C("codebuild-source-no-credentials", PROJECT, project(source={"type": "GITHUB", "location": "https://github.com/acme/app.git"}), False, id="clean-url"),
    C("codebuild-logs-encrypted", PROJECT, project(encryptionKey=None), True, id="no-key"),
    C("codebuild-logs-encrypted", PROJECT, project(logsConfig={"cloudwatchLogs": {"status": "DISABLED"}}), True, id="cw-disabled"),
    C("codebuild-logs-encrypted", PROJECT, project(logsConfig=None), True, id="no-logs-config"),
    C("codebuild-logs-encrypted", PROJECT, project(logsConfig={"cloudwatchLogs": {"status": "ENABLED"}, "s3Logs": {"status": "ENABLED", "location": "b/p", "encryptionDisabled": True}}), True, id="s3-unencrypted"),
    C("codebuild-logs-encrypted", PROJECT, project(), False, id="ok"),
    C("codebuild-artifacts-encrypted", PROJECT, project(artifacts={"type": "S3", "location": "bkt", "encryptionDisabled": True}), True, id="primary"),
    C("codebuild-artifacts-encrypted", PROJECT, project(secondaryArtifacts=[{"type": "S3", "artifactIdentifier": "reports", "location": "bkt", "encryptionDisabled": True}]), True, id="secondary"),
    C("codebuild-artifacts-encrypted", PROJECT, project(artifacts={"type": "S3", "location": "bkt", "encryptionDisabled": False}), False, id="ok"),
    # --- SNS, CloudTrail
    C("sns-topic-kms", TOPIC, {"name": "alerts"}, True, id="none"),
    C("sns-topic-kms", TOPIC, {"name": "alerts", "kmsMasterKeyId": KEY_ARN}, False, id="cmk"),
    C("cloudtrail-log-file-validation", TRAIL, {**GOOD_TRAIL, "enableLogFileValidation": False}, True, id="off"),
    C("cloudtrail-log-file-validation", TRAIL, GOOD_TRAIL, False, id="on"),
    C("cloudtrail-kms", TRAIL, {k: v for k, v in GOOD_TRAIL.items() if k != "kmsKeyId"}, True, id="none"),
    C("cloudtrail-kms", TRAIL, GOOD_TRAIL, False, id="cmk"),
    C("cloudtrail-multi-region", TRAIL, {**GOOD_TRAIL, "isMultiRegionTrail": False}, True, id="single-region"),
    C("cloudtrail-multi-region", TRAIL, {**GOOD_TRAIL, "includeGlobalServiceEvents": False}, True, id="no-global"),
    C("cloudtrail-multi-region", TRAIL, GOOD_TRAIL, False, id="multi"),
    C("cloudtrail-cloudwatch-logs", TRAIL, {k: v for k, v in GOOD_TRAIL.items() if k != "cloudWatchLogsGroupArn"}, True, id="none"),
    C("cloudtrail-cloudwatch-logs", TRAIL, GOOD_TRAIL, False, id="on"),
    # --- Organizations
    C("org-resources-protected", ACCOUNT, {"name": "payments-prod", "email": "a@b.example"}, True, {"protect": False}, id="account"),
    C("org-resources-protected", ORGANIZATION, {"featureSet": "ALL"}, True, {"protect": False}, id="organization"),
    C("org-resources-protected", ACCOUNT, {"name": "payments-prod", "email": "a@b.example"}, False, {"protect": True}, id="protected"),
    C("org-policy-size", ORG_POLICY, {"type": "SERVICE_CONTROL_POLICY", "content": "x" * 10241}, True, id="scp-default-limit"),
    C("org-policy-size", ORG_POLICY, {"content": "x" * 10241}, True, id="type-defaults-to-scp"),
    C("org-policy-size", ORG_POLICY, {"type": "RESOURCE_CONTROL_POLICY", "content": "x" * 5121}, True, id="rcp"),
    C("org-policy-size", ORG_POLICY, {"type": "SERVICE_CONTROL_POLICY", "content": "x" * 6000}, True,
      {"settings": Settings(policy_limits={"SERVICE_CONTROL_POLICY": (5120, 5)})}, id="config-limit"),
    C("org-policy-size", ORG_POLICY, {"type": "SERVICE_CONTROL_POLICY", "content": "x" * 10240}, False, id="at-limit"),
    C("org-policy-size", ORG_POLICY, {"type": "TAG_POLICY", "content": "x" * 9000}, False, id="tag"),
    # --- CodePipeline
    C("pipeline-approval-before-prod", PIPELINE, pipeline(SOURCE, SCANS, BUILD, STAGING, DAST, PROD), True, id="no-approval"),
    C("pipeline-approval-before-prod", PIPELINE, pipeline(SOURCE, SCANS, BUILD, STAGING, DAST, PROD, APPROVAL), True, id="approval-after"),
    C("pipeline-approval-before-prod", PIPELINE, pipeline(SOURCE, SCANS, BUILD,
        stage("Test", action("Deploy", "Deploy", "CloudFormation", StackName="app-test")), DAST,
        stage("Live", action("Deploy", "Deploy", "CloudFormation", StackName="app"))), True, id="unnamed-last-deploy-stage"),
    C("pipeline-approval-before-prod", PIPELINE, pipeline(SOURCE, SCANS, BUILD, DAST,
        stage("Release", action("ReleaseProduction", "Build", ProjectName="payments-release"))), True, id="deploy-by-codebuild"),
    C("pipeline-approval-before-prod", PIPELINE, GOOD_PIPELINE, False, id="approval-stage"),
    C("pipeline-approval-before-prod", PIPELINE, pipeline(SOURCE, SCANS, BUILD, STAGING, DAST,
        stage("Production", action("Approve", "Approval", "Manual", run_order=1), action("Deploy", "Deploy", "CodeDeploy", run_order=2, ApplicationName="payments", DeploymentGroupName="payments"))), False, id="same-stage-run-order"),
    C("pipeline-approval-before-prod", PIPELINE, pipeline(SOURCE, SCANS, BUILD,
        stage("DeployPreprod", action("Deploy", "Deploy", "CodeDeploy", ApplicationName="payments", DeploymentGroupName="payments-preprod"))), False, id="preprod-only"),
    C("pipeline-sast-scan", PIPELINE, pipeline(SOURCE, stage("Scan", action("Secrets", "Test"), action("SCA", "Test")), BUILD, STAGING, DAST, APPROVAL, PROD), True, id="missing"),
    C("pipeline-sast-scan", PIPELINE, pipeline(SOURCE, BUILD, STAGING, DAST, APPROVAL, PROD, SCANS), True, id="after-prod"),
    C("pipeline-sast-scan", PIPELINE, GOOD_PIPELINE, False, id="present"),
    C("pipeline-sast-scan", PIPELINE, pipeline(SOURCE, stage("Checks", action("StaticAnalysis", "Build", ProjectName="payments-semgrep")), APPROVAL, PROD), False, id="by-project-name"),
    C("pipeline-secrets-scan", PIPELINE, pipeline(SOURCE, stage("Scan", action("SAST", "Test"), action("SCA", "Test")), BUILD, STAGING, DAST, APPROVAL, PROD), True, id="missing"),
    C("pipeline-secrets-scan", PIPELINE, pipeline(SOURCE, stage("Scan", action("SAST", "Test", ProjectName="x"),
        action("Gate", "Approval", "Manual", CustomData="secrets reviewed?")), BUILD, APPROVAL, PROD), True, id="approval-is-not-a-scan"),
    C("pipeline-secrets-scan", PIPELINE, GOOD_PIPELINE, False, id="present"),
    C("pipeline-secrets-scan", PIPELINE, pipeline(SOURCE, stage("Gitleaks", action("Run", "Test")), APPROVAL, PROD), False, id="tool-stage-name"),
    C("pipeline-sca-scan", PIPELINE, pipeline(SOURCE, stage("Scan", action("SAST", "Test"), action("Secrets", "Test")), BUILD, STAGING, DAST, APPROVAL, PROD), True, id="missing"),
    C("pipeline-sca-scan", PIPELINE, GOOD_PIPELINE, False, id="present"),
    C("pipeline-sca-scan", PIPELINE, pipeline(SOURCE, stage("Deps", action("DependencyScan", "Test")), APPROVAL, PROD), False, id="dependency-scan"),
    C("pipeline-dast-scan", PIPELINE, pipeline(SOURCE, SCANS, BUILD, STAGING, APPROVAL, PROD), True, id="missing"),
    C("pipeline-dast-scan", PIPELINE, pipeline(SOURCE, SCANS, BUILD, STAGING, APPROVAL, PROD, DAST), True, id="after-prod"),
    C("pipeline-dast-scan", PIPELINE, GOOD_PIPELINE, False, id="zap"),
    C("pipeline-artifact-store-kms", PIPELINE, pipeline(SOURCE, SCANS, stores=[{"location": "b", "type": "S3"}]), True, id="none"),
    C("pipeline-artifact-store-kms", PIPELINE, pipeline(SOURCE, SCANS, stores=[{"location": "b", "type": "S3", "encryptionKey": {"id": "alias/artifacts", "type": "KMS"}}]), True, id="alias"),
    C("pipeline-artifact-store-kms", PIPELINE, GOOD_PIPELINE, False, id="key-arn"),
    # --- Image Builder
    C("imagebuilder-image-scanning", IMAGE_PIPELINE, {"name": "golden", "imageRecipeArn": "r", "infrastructureConfigurationArn": "i"}, True, id="missing"),
    C("imagebuilder-image-scanning", IMAGE, {"imageRecipeArn": "r", "infrastructureConfigurationArn": "i", "imageScanningConfiguration": {"imageScanningEnabled": True},
                                            "imageTestsConfiguration": {"imageTestsEnabled": False}}, True, id="tests-off"),
    C("imagebuilder-image-scanning", IMAGE_PIPELINE, {"name": "golden", "imageScanningConfiguration": {"imageScanningEnabled": True},
                                                     "imageTestsConfiguration": {"imageTestsEnabled": True, "timeoutMinutes": 60}}, False, id="on"),
    C("imagebuilder-ami-not-public", DISTRIBUTION, {"name": "d", "distributions": [{"region": "eu-west-1", "amiDistributionConfiguration": {"launchPermission": {"userGroups": ["all"]}}}]}, True, id="public"),
    C("imagebuilder-ami-not-public", AMI_PERM, {"imageId": "ami-1", "group": "all"}, True, id="launch-permission"),
    C("imagebuilder-ami-not-public", DISTRIBUTION, {"name": "d", "distributions": [{"region": "eu-west-1", "amiDistributionConfiguration": {
        "kmsKeyId": KEY_ARN, "launchPermission": {"organizationArns": [f"arn:aws:organizations::{ACCT}:organization/{ORG}"]}}}]}, False, id="org"),
    C("imagebuilder-ami-not-public", AMI_PERM, {"imageId": "ami-1", "accountId": OTHER}, False, id="account"),
    # --- CodeDeploy
    C("codedeploy-auto-rollback", DEPLOY_GROUP, {**GOOD_DEPLOY_GROUP, "autoRollbackConfiguration": {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}}, True, id="no-alarm-event"),
    C("codedeploy-auto-rollback", DEPLOY_GROUP, {k: v for k, v in GOOD_DEPLOY_GROUP.items() if k != "autoRollbackConfiguration"}, True, id="missing"),
    C("codedeploy-auto-rollback", DEPLOY_GROUP, GOOD_DEPLOY_GROUP, False, id="both-events"),
    C("codedeploy-alarms", DEPLOY_GROUP, {k: v for k, v in GOOD_DEPLOY_GROUP.items() if k != "alarmConfiguration"}, True, id="missing"),
    C("codedeploy-alarms", DEPLOY_GROUP, {**GOOD_DEPLOY_GROUP, "alarmConfiguration": {"enabled": True, "alarms": [f"a{i}" for i in range(11)]}}, True, id="too-many"),
    C("codedeploy-alarms", DEPLOY_GROUP, GOOD_DEPLOY_GROUP, False, id="alarms"),
    C("codedeploy-auto-rollback", STACKSET, template({"Group": {"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": {
        "AutoRollbackConfiguration": {"Enabled": True, "Events": ["DEPLOYMENT_FAILURE"]}, "AlarmConfiguration": {"Enabled": True, "Alarms": [{"Name": {"Ref": "Alarm"}}]}}}}),
      True, id="template-group"),
    C("codedeploy-auto-rollback", STACKSET, template({"Group": {"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": {
        "AutoRollbackConfiguration": {"Enabled": True, "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
        "AlarmConfiguration": {"Enabled": True, "Alarms": [{"Name": {"Ref": "Alarm"}}]}}}}), False, id="template-group"),
    C("codedeploy-alarms", STACKSET, template({"Group": {"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": {
        "AutoRollbackConfiguration": {"Enabled": True, "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}}}}), True, id="template-no-alarms"),
    C("codedeploy-alarms", STACKSET, template({"Group": {"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": {
        "AlarmConfiguration": {"Enabled": True, "Alarms": [{"Name": {"Ref": "Alarm"}}]}}}}), False, id="template-alarm-by-ref"),
]


# ---------------------------------------------------------------------------
# Stack rules
# ---------------------------------------------------------------------------

def R(type_: str, name: str, props: dict, deps: dict | None = None, id_: str | None = None, protect=False) -> Resource:
    return Resource(type=type_, name=name, urn=f"urn:pulumi:test::secure-org::{type_}::{name}", props=props,
                    protect=protect, id=id_, property_dependencies=deps or {})


def secure_bucket(name: str, bucket: str, *, sse: dict | None = None, policy: str | None = None, pab=True, versioning="Enabled",
                  link_by_deps=False) -> list[Resource]:
    """A bucket and its v7 companions (like components/secure_bucket.py)."""
    b = R(BUCKET, f"{name}-bucket", {"bucket": bucket} if not link_by_deps else {}, id_=bucket if not link_by_deps else None)
    ref = {} if link_by_deps else {"bucket": bucket}
    deps = {"bucket": [b.urn]} if link_by_deps else {}
    out = [b]
    if sse is not None:
        out.append(R(SSE, f"{name}-encryption", {**ref, "rules": [{"applyServerSideEncryptionByDefault": sse}]}, deps))
    if policy is not None:
        out.append(R(BUCKET_POLICY, f"{name}-policy", {**ref, "policy": policy}, deps))
    if pab:
        out.append(R(PAB, f"{name}-public-access", {**ref, "blockPublicAcls": True, "blockPublicPolicy": True,
                                                     "ignorePublicAcls": True, "restrictPublicBuckets": True}, deps))
    if versioning:
        out.append(R(VERSIONING, f"{name}-versioning", {**ref, "versioningConfiguration": {"status": versioning}}, deps))
    return out


KMS_SSE = {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN}
TLS_POLICY = doc(TLS_DENY)
LOG_TARGET_POLICY = doc(TLS_DENY, ACCESS_LOG_GRANT)


def org_attachments(n_policies: int, ptype: str, via_deps: bool = True) -> list[Resource]:
    ou = R(OU, "ou-workloads", {"name": "Workloads", "parentId": "r-1"}, id_="ou-1")
    out = [ou]
    for i in range(n_policies):
        p = R(ORG_POLICY, f"p{i}", {"type": ptype, "name": f"p{i}", "content": "{}"}, id_=f"p-{i}")
        deps = {"policyId": [p.urn], "targetId": [ou.urn]} if via_deps else {}
        out += [p, R(ATTACHMENT, f"p{i}-attach", {"policyId": f"p-{i}", "targetId": "ou-1"}, deps)]
    return out


@dataclass
class StackCase:
    rule: str
    resources: list[Resource]
    fails: bool
    settings: Settings = field(default_factory=Settings)
    id: str = ""

    def __str__(self) -> str:
        return f"{self.rule}:{'fail' if self.fails else 'pass'}:{self.id}"


S = StackCase
STACK_CASES: list[StackCase] = [
    S("s3-bucket-sse-kms", secure_bucket("data", "acme-data", sse={"sseAlgorithm": "AES256"}, policy=TLS_POLICY), True, id="sse-s3"),
    S("s3-bucket-sse-kms", secure_bucket("data", "acme-data", sse={"sseAlgorithm": "aws:kms"}, policy=TLS_POLICY), True, id="aws-managed-key"),
    S("s3-bucket-sse-kms", secure_bucket("data", "acme-data", sse=KMS_SSE, policy=TLS_POLICY), False, id="cmk"),
    S("s3-bucket-sse-kms", secure_bucket("access-logs", "acme-access-logs", sse={"sseAlgorithm": "AES256"}, policy=LOG_TARGET_POLICY), False, id="access-log-target"),
    S("s3-bucket-has-encryption", secure_bucket("data", "acme-data", policy=TLS_POLICY), True, id="missing"),
    S("s3-bucket-has-encryption", secure_bucket("data", "acme-data", sse=KMS_SSE, policy=TLS_POLICY), False, id="by-name"),
    S("s3-bucket-has-encryption", secure_bucket("data", "acme-data", sse=KMS_SSE, policy=TLS_POLICY, link_by_deps=True), False, id="by-dependency"),
    S("s3-bucket-has-public-access-block", secure_bucket("data", "acme-data", sse=KMS_SSE, policy=TLS_POLICY, pab=False), True, id="missing"),
    S("s3-bucket-has-public-access-block", secure_bucket("data", "acme-data", sse=KMS_SSE, policy=TLS_POLICY), False, id="present"),
    S("s3-bucket-has-tls-policy", secure_bucket("data", "acme-data", sse=KMS_SSE), True, id="no-policy"),
    S("s3-bucket-has-tls-policy", secure_bucket("data", "acme-data", sse=KMS_SSE, policy=doc(ACCESS_LOG_GRANT)), True, id="policy-without-tls"),
    S("s3-bucket-has-tls-policy", secure_bucket("data", "acme-data", sse=KMS_SSE, policy=TLS_POLICY), False, id="tls"),
    S("s3-log-artifact-bucket-versioning", secure_bucket("logs", "acme-org-logs", sse=KMS_SSE, policy=TLS_POLICY, versioning=None), True, id="log-name"),
    S("s3-log-artifact-bucket-versioning", secure_bucket("store", "acme-ci-store", sse=KMS_SSE, policy=TLS_POLICY, versioning="Suspended")
      + [R(PIPELINE, "payments-pipeline", {"artifactStores": [{"location": "acme-ci-store", "type": "S3"}], "stages": []})], True, id="artifact-store"),
    S("s3-log-artifact-bucket-versioning", secure_bucket("target", "acme-x", sse={"sseAlgorithm": "AES256"}, policy=LOG_TARGET_POLICY, versioning=None), True, id="access-log-grant"),
    S("s3-log-artifact-bucket-versioning", secure_bucket("logs", "acme-org-logs", sse=KMS_SSE, policy=TLS_POLICY), False, id="versioned"),
    S("s3-log-artifact-bucket-versioning", secure_bucket("data", "acme-data-lake", sse=KMS_SSE, policy=TLS_POLICY, versioning=None), False, id="not-log-or-artifact"),
    S("org-policy-attachments-per-target", org_attachments(10, "SERVICE_CONTROL_POLICY"), True, id="scp-11-with-fullawsaccess"),
    S("org-policy-attachments-per-target", org_attachments(5, "RESOURCE_CONTROL_POLICY", via_deps=False), True, id="rcp-by-id"),
    S("org-policy-attachments-per-target", org_attachments(5, "SERVICE_CONTROL_POLICY"), True,
      Settings(policy_limits={"SERVICE_CONTROL_POLICY": (5120, 5)}), id="old-limits-from-config"),
    S("org-policy-attachments-per-target", org_attachments(9, "SERVICE_CONTROL_POLICY"), False, id="scp-10"),
    S("org-policy-attachments-per-target", org_attachments(10, "TAG_POLICY"), False, id="tag-10-no-default"),
]


# --- golden-AMI factory rules (blueprint/crossguard/rules_images.py) ---------------------------
IB_DIST = "aws:imagebuilder/distributionConfiguration:DistributionConfiguration"
IB_PIPE = "aws:imagebuilder/imagePipeline:ImagePipeline"
IB_RECIPE = "aws:imagebuilder/imageRecipe:ImageRecipe"
IB_INFRA = "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration"
ORG_ARN = f"arn:aws:organizations::{ACCT}:organization/{ORG}"


def ib_dist(**ami: Any) -> dict[str, Any]:
    return {"distributions": [{"region": "eu-west-1", "amiDistributionConfiguration": {
        "kmsKeyId": KEY_ARN, "launchPermission": {"organizationArns": [ORG_ARN]}, **ami}}]}


def ib_recipe(**ebs: Any) -> dict[str, Any]:
    return {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": True, "kmsKeyId": KEY_ARN, **ebs}}]}


IMAGE_CASES: list[Case] = [
    Case("imagebuilder-distribution-shares-not-copies", IB_DIST, ib_dist(), False, id="org-share"),
    Case("imagebuilder-distribution-shares-not-copies", IB_DIST, ib_dist(targetAccountIds=[OTHER]), True, id="copies"),
    Case("imagebuilder-distribution-shares-not-copies", IB_DIST, ib_dist(launchPermission={"userGroups": ["all"]}), True, id="public"),
    Case("imagebuilder-pipeline-scans", IB_PIPE, {"imageScanningConfiguration": {"imageScanningEnabled": True}}, False, id="on"),
    Case("imagebuilder-pipeline-scans", IB_PIPE, {"imageScanningConfiguration": {"imageScanningEnabled": False}}, True, id="off"),
    Case("imagebuilder-pipeline-scans", IB_PIPE, {}, True, id="absent"),
    Case("imagebuilder-recipe-ebs-customer-key", IB_RECIPE, ib_recipe(), False, id="cmk"),
    Case("imagebuilder-recipe-ebs-customer-key", IB_RECIPE, ib_recipe(encrypted=False), True, id="unencrypted"),
    Case("imagebuilder-recipe-ebs-customer-key", IB_RECIPE, ib_recipe(kmsKeyId="alias/aws/ebs"), True, id="aws-managed-key"),
    Case("imagebuilder-recipe-ebs-customer-key", IB_RECIPE, {"blockDeviceMappings": []}, True, id="no-mappings"),
    Case("imagebuilder-build-imdsv2", IB_INFRA, {"instanceMetadataOptions": {"httpTokens": "required"}}, False, id="required"),
    Case("imagebuilder-build-imdsv2", IB_INFRA, {"instanceMetadataOptions": {"httpTokens": "optional"}}, True, id="optional"),
    Case("imagebuilder-build-imdsv2", IB_INFRA, {}, True, id="default"),
]
RESOURCE_CASES.extend(IMAGE_CASES)
