"""The deploy-roles CloudFormation template: what a team's pipeline may do in a team account.

One service-managed StackSet (``secure-org-deploy-roles``) carries this template; each of
a pipeline team's environment accounts gets one stack instance in the home region (IAM is
global) whose parameter overrides name that team only. It creates:

* ``<team>-deploy``: the role the pipeline's cross-account actions run as. It trusts the
  tooling account only for the exact pipeline role ARN (``aws:PrincipalArn``) and only
  inside the organization (``aws:PrincipalOrgID``). It can run CloudFormation on the
  team's stacks *through* the execution role, start CodeDeploy deployments of the team's
  application, and read/write the team's artifact bucket with the team's artifact key.
* ``<team>-cfn-exec``: the CloudFormation execution role for the team's own IaC. Every
  IAM role it creates or changes must carry the ``<team>-workload-boundary`` permissions
  boundary (``iam:PermissionsBoundary`` conditions, plus explicit denies on removing it or
  editing the boundary policy).
* ``<team>-workload-boundary``: that boundary (a managed policy created here).
* The team's CodeDeploy application, its service role, the platform's catalogue of
  canary/linear deployment configs, the default rollback alarms and one deployment group
  per account (``<team>-<env>``) for Lambda, ECS (blue/green) or Server: see
  ``blueprint/pipeline/deployments.py``. Team IaC cannot create, change or delete groups
  or the catalogue (the guards below), so rollback and alarms stay on.

Until a stack instance names a team (``Team`` = ``none``, the StackSet-level default) only a
no-op resource exists, so a stack created with defaults trusts nobody.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from blueprint.pipeline import deployments

TEMPLATE_BODY_LIMIT = 51_200
NONE = "none"
# ARN-shaped "nobody" defaults: account 000000000000 does not exist, so nothing matches them.
NOBODY_ROLE = "arn:aws:iam::000000000000:role/none"
NO_KEY = "arn:aws:kms:us-east-1:000000000000:key/none"
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@-]{1,64}$"
KEY_ARN_PATTERN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$"

PARAMETERS: dict[str, dict[str, Any]] = {
    "OrgId": {"Type": "String", "AllowedPattern": r"^o-[a-z0-9]{10,32}$", "Description": "Organization the pipeline role must belong to (aws:PrincipalOrgID)"},
    "ToolingAccountId": {"Type": "String", "AllowedPattern": r"^[0-9]{12}$", "Description": "Tooling (CI/CD) account that runs the pipelines"},
    "Team": {"Type": "String", "Default": NONE, "AllowedPattern": r"^(none|[a-z][a-z0-9-]{1,30}[a-z0-9])$", "Description": "Team this account belongs to; none creates nothing"},
    "Environment": {"Type": "String", "Default": NONE, "AllowedValues": [NONE, "dev", "test", "prod"], "Description": "The account's environment"},
    "PipelineRoleArn": {"Type": "String", "Default": NOBODY_ROLE, "AllowedPattern": ROLE_ARN_PATTERN, "Description": "Exact ARN of the team's CodePipeline role in the tooling account"},
    "ArtifactBucketName": {"Type": "String", "Default": NONE, "AllowedPattern": r"^(none|[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$", "Description": "The team's pipeline artifact bucket in the tooling account"},
    "ArtifactKeyArn": {"Type": "String", "Default": NO_KEY, "AllowedPattern": KEY_ARN_PATTERN, "Description": "ARN (not alias: aliases do not resolve across accounts) of the team's artifact key"},
    "ComputePlatform": {"Type": "String", "Default": "Lambda", "AllowedValues": ["Server", "Lambda", "ECS"], "Description": "CodeDeploy compute platform of the team's application"},
    "DeploymentConfigName": {"Type": "String", "Default": "CodeDeployDefault.AllAtOnce", "AllowedPattern": r"^[A-Za-z0-9.@_-]{1,100}$", "Description": "CodeDeploy deployment configuration, by name, the deployment group uses"},
}

# Services a team's workload may use, on resources of this account and region only (S3:
# buckets named after the team). The boundary and the execution role allow these and
# nothing else: no Action "*", and IAM only for boundary-carrying team roles.
WORKLOAD_SERVICES = (
    "application-autoscaling", "autoscaling", "cloudwatch", "codedeploy", "dynamodb", "ecr", "ecs",
    "elasticloadbalancing", "events", "execute-api", "logs", "scheduler", "sns", "sqs", "states",
    "xray",
)
# Services whose ARNs are not "<partition>:<service>:<region>:<account>:...".
OTHER_SERVICE_RESOURCES = {
    "apigateway": ["arn:${AWS::Partition}:apigateway:${AWS::Region}::/*"],
}
# Sensitive services get listed actions on the team's own resources only, never "svc:*":
# with lambda:* a team could rewrite the baseline's function (whose role the guardrails
# exempt), with ssm:* read every parameter or run commands, with s3:* touch any bucket.
LISTED_ACTIONS = {
    "lambda": (
        ("AddPermission", "CreateAlias", "CreateFunction", "DeleteAlias", "DeleteFunction", "DeleteFunctionConcurrency",
         "DeleteLayerVersion", "GetAlias", "GetFunction", "GetFunctionConfiguration", "GetLayerVersion", "GetPolicy",
         "InvokeFunction", "ListTags", "ListVersionsByFunction", "PublishLayerVersion", "PublishVersion",
         "PutFunctionConcurrency", "RemovePermission", "TagResource", "UntagResource", "UpdateAlias",
         "UpdateFunctionCode", "UpdateFunctionConfiguration"),
        ("arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Team}-*",
         "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:layer:${Team}-*"),
    ),
    "ssm": (
        ("AddTagsToResource", "DeleteParameter", "GetParameter", "GetParameters", "GetParametersByPath",
         "ListTagsForResource", "PutParameter", "RemoveTagsFromResource"),
        ("arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${Team}/*",),
    ),
    "s3": (
        ("CreateBucket", "DeleteBucket", "DeleteBucketPolicy", "DeleteObject", "GetBucketLocation", "GetBucketLogging",
         "GetBucketNotification", "GetBucketOwnershipControls", "GetBucketPolicy", "GetBucketPublicAccessBlock",
         "GetBucketTagging", "GetBucketVersioning", "GetEncryptionConfiguration", "GetLifecycleConfiguration",
         "GetObject", "GetObjectVersion", "ListBucket", "PutBucketLogging", "PutBucketNotification",
         "PutBucketOwnershipControls", "PutBucketPolicy", "PutBucketPublicAccessBlock", "PutBucketTagging",
         "PutBucketVersioning", "PutEncryptionConfiguration", "PutLifecycleConfiguration", "PutObject"),
        ("arn:${AWS::Partition}:s3:::${Team}-*", "arn:${AWS::Partition}:s3:::${Team}-*/*"),
    ),
}
# EC2 for the Server platform. AMIs carry no account in their ARN; the approved-AMI and
# IMDSv2 guardrails still apply on top.
EC2_ACTIONS = ("ec2:CreateTags", "ec2:DeleteTags", "ec2:RunInstances", "ec2:TerminateInstances",
               "ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:DeleteLaunchTemplate", "ec2:ModifyLaunchTemplate",
               "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupIngress",
               "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress")
# Actions with no resource-level permissions that deployments need: the only "*" resources.
NO_RESOURCE_LEVEL = ("autoscaling:DescribeAutoScalingGroups", "cloudwatch:PutMetricData",
                     "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeLaunchTemplates", "ec2:DescribeSecurityGroups",
                     "ec2:DescribeSubnets", "ec2:DescribeVpcs", "ecr:GetAuthorizationToken", "ecs:DescribeTaskDefinition",
                     "ecs:DeregisterTaskDefinition", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups",
                     "lambda:ListFunctions", "logs:DescribeLogGroups", "ssm:DescribeParameters", "xray:PutTelemetryRecords",
                     "xray:PutTraceSegments")

# IAM actions that take iam:PermissionsBoundary: each must name the team's boundary.
BOUNDED_IAM = ("iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
               "iam:PutRolePolicy", "iam:DeleteRolePolicy")
# IAM actions on the team's own roles that do not take the key (still only on <team>-app-*).
APP_ROLE_IAM = ("iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
                "iam:TagRole", "iam:UntagRole", "iam:UpdateRole", "iam:UpdateRoleDescription",
                "iam:UpdateAssumeRolePolicy", "iam:DeleteRole")

ASSIGNED = "Assigned"
ECS = "IsEcs"
LAMBDA = "IsLambda"
SERVER = "IsServer"


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def _policy(*statements: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _stmt(sid: str, actions: list[str] | tuple[str, ...], resources: Any, condition: dict | None = None, effect: str = "Allow") -> dict[str, Any]:
    s: dict[str, Any] = {"Sid": sid, "Effect": effect, "Action": list(actions), "Resource": resources}
    if condition:
        s["Condition"] = condition
    return s


def _service_trust(service: str) -> dict[str, Any]:
    return _policy({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")}}})


BOUNDARY_ARN = "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${Team}-workload-boundary"
APP_ROLES = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Team}-app-*"
ARTIFACT_OBJECTS = "arn:${AWS::Partition}:s3:::${ArtifactBucketName}/*"


# In the boundary (an upper bound, not a grant) the same Lambda actions as wildcards that
# expand to exactly these families, so the boundary stays under IAM's hard 6,144-character
# limit. None matches function URLs or code-signing changes (checked by a test).
BOUNDARY_LAMBDA = ("lambda:*Alias", "lambda:*Function", "lambda:*FunctionCode", "lambda:*FunctionConcurrency",
                   "lambda:*FunctionConfiguration", "lambda:*LayerVersion", "lambda:*Permission", "lambda:GetPolicy",
                   "lambda:ListTags", "lambda:ListVersionsByFunction", "lambda:PublishVersion", "lambda:TagResource",
                   "lambda:UntagResource")


def _workload_allow(compact: bool = False) -> list[dict[str, Any]]:
    actions = sorted({f"{svc}:*" for svc in (*WORKLOAD_SERVICES, *OTHER_SERVICE_RESOURCES)} | set(EC2_ACTIONS))
    # One pattern for every listed service: the Action list already names the services, and
    # the boundary must stay well under IAM's hard 6,144-character managed policy limit.
    resources = [_sub("arn:${AWS::Partition}:*:${AWS::Region}:${AWS::AccountId}:*")]
    resources += [_sub(r) for rs in OTHER_SERVICE_RESOURCES.values() for r in rs]
    resources.append(_sub("arn:${AWS::Partition}:ec2:${AWS::Region}:*:*"))
    listed = [
        _stmt(f"Team{svc.capitalize()}Resources",
              list(BOUNDARY_LAMBDA) if compact and svc == "lambda" else [f"{svc}:{a}" for a in acts], [_sub(r) for r in arns])
        for svc, (acts, arns) in sorted(LISTED_ACTIONS.items())
    ]
    return [
        _stmt("WorkloadServicesHere", actions, resources),
        *listed,
        _stmt("NoResourceLevelActions", NO_RESOURCE_LEVEL, "*"),
    ]


# The platform's own resources in every account (baseline rules, logs, function, roles,
# stacks): a team's IaC, deploy role and workloads are scoped away from them by an explicit
# deny, on top of the SCP that protects them org-wide.
PLATFORM_RESOURCES = (
    "arn:${AWS::Partition}:events:*:*:rule/secure-org-*",
    "arn:${AWS::Partition}:logs:*:*:log-group:/aws/lambda/secure-org-*",
    "arn:${AWS::Partition}:lambda:*:*:function:secure-org-*",
    "arn:${AWS::Partition}:sns:*:*:secure-org-*",
    "arn:${AWS::Partition}:iam::*:role/secure-org-*",
    "arn:${AWS::Partition}:cloudformation:*:*:stack/StackSet-secure-org-*",
)
# Deployment groups and applications are the platform's (rollback and alarms on): team IaC,
# deploy roles and workloads may deploy through them but never create, change or delete one.
CODEDEPLOY_OWNED = ("codedeploy:CreateDeploymentGroup", "codedeploy:UpdateDeploymentGroup", "codedeploy:DeleteDeploymentGroup",
                    "codedeploy:DeleteApplication", "codedeploy:UpdateApplication", "codedeploy:CreateApplication",
                    # Groups name configs, so no config is deleted either (the catalogue above all); reading is fine.
                    "codedeploy:DeleteDeploymentConfig")


def _boundary_guards() -> list[dict[str, Any]]:
    """Denies shared by the execution role and the boundary: the boundary cannot be shed."""
    return [
        _stmt("DenyPlatformResources", ["*"], [_sub(r) for r in PLATFORM_RESOURCES], effect="Deny"),
        _stmt("DenyDeploymentGroupChanges", CODEDEPLOY_OWNED, "*", effect="Deny"),
        _stmt("DenyRoleChangesWithoutBoundary", BOUNDED_IAM, "*",
              {"StringNotEquals": {"iam:PermissionsBoundary": _sub(BOUNDARY_ARN)}}, effect="Deny"),
        _stmt("DenyBoundaryRemoval", ["iam:DeleteRolePermissionsBoundary"], "*", effect="Deny"),
        _stmt("DenyBoundaryPolicyEdits",
              ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
              _sub(BOUNDARY_ARN), effect="Deny"),
    ]


def _boundary() -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Condition": ASSIGNED,
        "Properties": {
            "ManagedPolicyName": _sub("${Team}-workload-boundary"),
            "Description": "Permissions boundary every role the team's IaC creates must carry",
            "PolicyDocument": _policy(
                *_workload_allow(compact=True),
                # Workload roles may pass only other boundary-carrying team roles.
                _stmt("PassTeamRoles", ["iam:PassRole", "iam:GetRole"], _sub(APP_ROLES)),
                # Deploy targets (the CodeDeploy agent's instance role) fetch their own team's
                # revisions from the tooling account; the bucket and key policies name these roles.
                _stmt("ReadOwnRevisions", ["s3:GetObject", "s3:GetObjectVersion"], _sub(ARTIFACT_OBJECTS)),
                # The account's own keys, and the team's artifact key (whose key policy grants
                # these roles Decrypt only).
                _stmt("OwnKeys", ["kms:Decrypt", "kms:GenerateDataKey"],
                      [_sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"), _ref("ArtifactKeyArn")]),
                *_boundary_guards(),
            ),
        },
    }


def _cfn_exec_role() -> dict[str, Any]:
    policy = _policy(
        *_workload_allow(),
        # IAM only for the team's own roles, and only with the boundary attached.
        _stmt("BoundedRoleChanges", BOUNDED_IAM, _sub(APP_ROLES),
              {"StringEquals": {"iam:PermissionsBoundary": _sub(BOUNDARY_ARN)}}),
        _stmt("TeamRoleUpkeep", APP_ROLE_IAM, _sub(APP_ROLES)),
        _stmt("PassTeamRoles", ["iam:PassRole"], _sub(APP_ROLES)),
        # Lambda fetches code the team's template points at in the artifact bucket.
        _stmt("ReadArtifacts", ["s3:GetObject", "s3:GetObjectVersion"], _sub(ARTIFACT_OBJECTS)),
        _stmt("DecryptArtifacts", ["kms:Decrypt", "kms:DescribeKey"], _ref("ArtifactKeyArn")),
        *_boundary_guards(),
    )
    return {
        "Type": "AWS::IAM::Role",
        "Condition": ASSIGNED,
        "Properties": {
            "RoleName": _sub("${Team}-cfn-exec"),
            "Description": "CloudFormation execution role for the team's IaC; roles it creates carry the workload boundary",
            "AssumeRolePolicyDocument": _service_trust("cloudformation.amazonaws.com"),
            "Policies": [{"PolicyName": "team-iac", "PolicyDocument": policy}],
            "MaxSessionDuration": 3600,
        },
    }


def _deploy_role() -> dict[str, Any]:
    stacks = "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/${Team}-*/*"
    cfn_exec = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Team}-cfn-exec"
    trust = _policy({
        "Effect": "Allow",
        "Principal": {"AWS": _sub("arn:${AWS::Partition}:iam::${ToolingAccountId}:root")},
        "Action": "sts:AssumeRole",
        "Condition": {
            "ArnEquals": {"aws:PrincipalArn": _ref("PipelineRoleArn")},
            "StringEquals": {"aws:PrincipalOrgID": _ref("OrgId")},
        },
    })
    policy = _policy(
        # Stacks are created and changed only through the execution role, never with this
        # role's own permissions (cloudformation:RoleArn).
        _stmt("TeamStacksThroughExecutionRole", ["cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:CreateChangeSet"],
              _sub(stacks), {"ArnEquals": {"cloudformation:RoleArn": _sub(cfn_exec)}}),
        _stmt("TeamStacks", ["cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:DescribeChangeSet",
                             "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:GetTemplate"], _sub(stacks)),
        # cloudformation:ValidateTemplate has no resource-level permissions.
        _stmt("ValidateTemplates", ["cloudformation:ValidateTemplate"], "*"),
        _stmt("PassExecutionRole", ["iam:PassRole"], _sub(cfn_exec),
              {"StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}),
        _stmt("TeamDeployments", ["codedeploy:CreateDeployment", "codedeploy:GetDeployment"],
              _sub("arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentgroup:${Team}/*")),
        _stmt("TeamRevisions", ["codedeploy:GetApplication", "codedeploy:GetApplicationRevision", "codedeploy:RegisterApplicationRevision"],
              _sub("arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:application:${Team}")),
        _stmt("DeploymentConfigs", ["codedeploy:GetDeploymentConfig"],
              _sub("arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:deploymentconfig:*")),
        # CodeDeployToECS registers the task definition and passes the team's task roles.
        {"Fn::If": [ECS, _stmt("EcsTaskDefinitions", ["ecs:RegisterTaskDefinition", "ecs:TagResource"],
                               _sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/${Team}-*:*")), _ref("AWS::NoValue")]},
        {"Fn::If": [ECS, _stmt("EcsTaskRoles", ["iam:PassRole"], _sub(APP_ROLES),
                               {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}), _ref("AWS::NoValue")]},
        _stmt("Artifacts", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], _sub(ARTIFACT_OBJECTS)),
        _stmt("ArtifactKey", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"], _ref("ArtifactKeyArn")),
        *_boundary_guards(),
    )
    return {
        "Type": "AWS::IAM::Role",
        "Condition": ASSIGNED,
        "Properties": {
            "RoleName": _sub("${Team}-deploy"),
            "Description": "Cross-account deploy actions of the team's pipeline; assumable only by that pipeline's role",
            "AssumeRolePolicyDocument": trust,
            "Policies": [{"PolicyName": "pipeline-deploy", "PolicyDocument": policy}],
            "MaxSessionDuration": 3600,
        },
    }


def template() -> dict[str, Any]:
    assigned = {"Fn::Not": [{"Fn::Equals": [_ref("Team"), NONE]}]}
    resources: dict[str, Any] = {
        # A stack with the StackSet's defaults (no team) must still have one resource.
        "Unassigned": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        "WorkloadBoundary": _boundary(),
        "CfnExecutionRole": _cfn_exec_role(),
        "DeployRole": _deploy_role(),
        **deployments.resources(),
    }
    outputs = {
        "DeployRoleArn": {"Condition": ASSIGNED, "Value": {"Fn::GetAtt": ["DeployRole", "Arn"]}},
        "CfnExecutionRoleArn": {"Condition": ASSIGNED, "Value": {"Fn::GetAtt": ["CfnExecutionRole", "Arn"]}},
        "WorkloadBoundaryArn": {"Condition": ASSIGNED, "Value": _ref("WorkloadBoundary")},
        "DeploymentGroupName": {"Condition": deployments.DEPLOYS, "Value": _ref("DeploymentGroup")},
    }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "secure-org deploy roles for one team's pipeline in one team account: deploy role, CloudFormation "
        "execution role with a mandatory permissions boundary, CodeDeploy application and deployment group.",
        "Parameters": copy.deepcopy({**PARAMETERS, **deployments.PARAMETERS}),  # callers may edit the result
        "Conditions": {
            ASSIGNED: assigned,
            LAMBDA: {"Fn::And": [{"Condition": ASSIGNED}, {"Fn::Equals": [_ref("ComputePlatform"), "Lambda"]}]},
            SERVER: {"Fn::And": [{"Condition": ASSIGNED}, {"Fn::Equals": [_ref("ComputePlatform"), "Server"]}]},
            ECS: {"Fn::And": [{"Condition": ASSIGNED}, {"Fn::Equals": [_ref("ComputePlatform"), "ECS"]}]},
            **deployments.conditions(),
        },
        "Resources": resources,
        "Outputs": outputs,
    }


def template_body() -> str:
    body = json.dumps(template(), sort_keys=True, separators=(",", ":"))
    if len(body.encode()) >= TEMPLATE_BODY_LIMIT:
        raise ValueError(f"deploy-roles template is {len(body.encode())} bytes; the limit is {TEMPLATE_BODY_LIMIT}")
    return body


def instance_parameters(*, team: str, environment: str, pipeline_role_arn: Any, artifact_bucket: Any,
                        artifact_key_arn: Any, compute_platform: str, deployment_config: str,
                        target: dict[str, str] | None = None) -> dict[str, Any]:
    """Per-account parameter overrides: everything here names one team only.

    ``target`` holds the deployment parameters of that account (deployments.PARAMETERS),
    from ``Pipeline.deployment.parameters(team, environment)``."""
    unknown = set(target or {}) - set(deployments.PARAMETERS)
    assert not unknown, f"not template parameters: {sorted(unknown)}"
    return {
        "Team": team,
        "Environment": environment,
        "PipelineRoleArn": pipeline_role_arn,
        "ArtifactBucketName": artifact_bucket,
        "ArtifactKeyArn": artifact_key_arn,
        "ComputePlatform": compute_platform,
        "DeploymentConfigName": deployment_config,
        **(target or {}),
    }
