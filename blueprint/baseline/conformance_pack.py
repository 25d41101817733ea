"""Organization conformance pack: AWS Config managed rules plus automatic remediations.

Deployed from the delegated-admin (security) account with
``aws.cfg.OrganizationConformancePack(template_body=template_body(...))``; AWS Config then
creates the rules and remediation configurations in every member account and Region.

What the template language supports (checked against AWS documentation and AWS samples):

* ``TemplateBody`` is at most 51,200 bytes and may declare only two resource types,
  ``AWS::Config::ConfigRule`` and ``AWS::Config::RemediationConfiguration``.
* Conformance packs are deployed by AWS Config as CloudFormation stacks in each member
  account (the ``AWSServiceRoleForConfigConforms`` role holds ``cloudformation:CreateStack``),
  and AWS's own organization-pack samples use ``Fn::Sub``/``Ref``/``Mappings``. So
  ``{"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/NAME"}`` resolves to the
  remediation role *in the account being evaluated*. Note: the pseudo parameters rely on
  that CloudFormation backing; no AWS page states it for conformance packs in so many words.
* Rule/remediation pairing follows AWS's samples: the remediation names the rule by its
  literal ``ConfigRuleName`` and ``DependsOn`` the rule's logical id.

Every ``identifier`` below is an AWS managed rule id checked against the AWS Config
developer guide (rule page: identifier, trigger type, parameters), and against moto's copy
of the managed-rule list (``moto/config/resources/aws_managed_rules.json.gz``, generated from
those pages), which also validates parameter names offline (see the tests).
``VERIFIED_MANAGED_RULE_IDS`` is that set.

Every remediation document is an AWS-owned SSM Automation runbook whose parameters and
required IAM permissions come from the Systems Manager Automation runbook reference; see
``REMEDIATIONS[...]["document_parameters"]`` and ``["iam_actions"]``.

The remediation role (``secure-org-config-remediation`` by default) is created in every
account by a separate StackSet. It must trust ``ssm.amazonaws.com`` and allow the union of
``REMEDIATIONS[*]["iam_actions"]`` plus ``ssm:StartAutomationExecution`` and
``ssm:GetAutomationExecution``. Two of the remediations call APIs that this blueprint's own
SCPs deny to non-exempt principals (``cloudtrail:UpdateTrail`` in
``protect-security-services``, ``s3:PutAccountPublicAccessBlock`` in
``protect-s3-public-access-block``): the role name has to be in ``guardrails.exempt_roles``
(and so is also protected by ``protect-critical-roles``), otherwise those two remediations
fail with AccessDenied in member accounts. ``REMEDIATIONS[*]["scp_conflicts"]`` lists them
and the tests re-derive the list from ``policies/scp``.

Deliberately *not* auto-remediated:

* EC2_IMDSV2_CHECK: ``require-imdsv2`` denies ``ec2:ModifyInstanceMetadataOptions`` and
  enforces IMDSv2 at launch; flipping a running instance to IMDSv2-only can break IMDSv1
  clients, so a finding goes to the owning team instead.
* KMS_CMK_NOT_SCHEDULED_FOR_DELETION: cancelling a deletion automatically would undo
  intended deletions; the 30-day minimum window (``kms-deletion-guard``) leaves time to act.
"""

from __future__ import annotations

import json
import re
from typing import Any

TEMPLATE_BODY_LIMIT = 51_200  # bytes, PutOrganizationConformancePack TemplateBody maximum
DEFAULT_REMEDIATION_ROLE = "secure-org-config-remediation"

# Markers used in REMEDIATIONS[...]["parameters"]; the template builder turns them into
# ResourceValue / the role ARN. Any other string is passed as a StaticValue.
RESOURCE_ID = "<resource-id>"
ASSUME_ROLE = "<remediation-role-arn>"

PERIODIC_FREQUENCY = "TwentyFour_Hours"

# AWS managed rule identifiers used here, each checked against its AWS Config developer
# guide page (and present in moto's managed-rule list).
VERIFIED_MANAGED_RULE_IDS = frozenset(
    {
        "APPROVED_AMIS_BY_TAG",
        "CLOUDTRAIL_SECURITY_TRAIL_ENABLED",
        "CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED",
        "CLOUD_TRAIL_ENABLED",
        "CLOUD_TRAIL_ENCRYPTION_ENABLED",
        "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
        "CMK_BACKING_KEY_ROTATION_ENABLED",
        "CODEBUILD_PROJECT_ARTIFACT_ENCRYPTION",
        "CODEBUILD_PROJECT_ENVIRONMENT_PRIVILEGED_CHECK",
        "CODEBUILD_PROJECT_ENVVAR_AWSCRED_CHECK",
        "CODEBUILD_PROJECT_LOGGING_ENABLED",
        "CODEBUILD_PROJECT_S3_LOGS_ENCRYPTED",
        "CODEBUILD_PROJECT_SOURCE_REPO_URL_CHECK",
        "CODEDEPLOY_AUTO_ROLLBACK_MONITOR_ENABLED",
        "CODEDEPLOY_EC2_MINIMUM_HEALTHY_HOSTS_CONFIGURED",
        "CODEDEPLOY_LAMBDA_ALLATONCE_TRAFFIC_SHIFT_DISABLED",
        "CODEPIPELINE_DEPLOYMENT_COUNT_CHECK",
        "EBS_SNAPSHOT_PUBLIC_RESTORABLE_CHECK",
        "EC2_EBS_ENCRYPTION_BY_DEFAULT",
        "EC2_IMDSV2_CHECK",
        "EC2_INSTANCE_LAUNCHED_WITH_ALLOWED_AMI",
        "EC2_LAUNCH_TEMPLATE_IMDSV2_CHECK",
        "ECR_PRIVATE_IMAGE_SCANNING_ENABLED",
        "ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED",
        "GUARDDUTY_ENABLED_CENTRALIZED",
        "IAM_EXTERNAL_ACCESS_ANALYZER_ENABLED",
        "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
        "IAM_ROOT_ACCESS_KEY_CHECK",
        "INSPECTOR_EC2_SCAN_ENABLED",
        "INSPECTOR_ECR_SCAN_ENABLED",
        "KMS_CMK_NOT_SCHEDULED_FOR_DELETION",
        "MULTI_REGION_CLOUD_TRAIL_ENABLED",
        "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC",
        "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED",
        "S3_BUCKET_SSL_REQUESTS_ONLY",
        "SECURITYHUB_ENABLED",
        "SNS_ENCRYPTED_KMS",
        "VPC_DEFAULT_SECURITY_GROUP_CLOSED",
        "VPC_FLOW_LOGS_ENABLED",
    }
)

# Tag conventions for APPROVED_AMIS_BY_TAG (see its "why").
GOLDEN_AMI_TAG = "GoldenAmi:approved"  # tag-key:tag-value the image factory puts on its AMIs
VERIFY_AMI_TAG_SCOPE_KEY = "VerifyGoldenAmiTag"  # instance tag that opts an instance in


def _rule(
    identifier: str,
    trigger: str,
    why: str,
    params: dict[str, str] | None = None,
    resource_types: list[str] | None = None,
    scope_tag_key: str | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"identifier": identifier, "params": dict(params or {}), "why": why, "trigger": trigger}
    if resource_types:
        entry["resource_types"] = list(resource_types)
    if scope_tag_key:
        entry["scope_tag_key"] = scope_tag_key
    return entry


PERIODIC, CHANGE, BOTH = "periodic", "change", "change+periodic"
CODEBUILD = ["AWS::CodeBuild::Project"]
DEPLOYMENT_GROUP = ["AWS::CodeDeploy::DeploymentGroup"]

# Config rule name -> rule. Names are kept short (<= 64) because AWS Config suffixes the
# names of rules it creates from a conformance pack; the API limit is 128.
RULES: dict[str, dict[str, Any]] = {
    # --- CodeBuild -------------------------------------------------------------------
    "codebuild-project-envvar-awscred-check": _rule(
        "CODEBUILD_PROJECT_ENVVAR_AWSCRED_CHECK", CHANGE,
        "Plaintext AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in a build project leak long-lived keys "
        "into project configuration and logs. Builds use their service role; IAM users and keys are "
        "denied by SCP anyway, so any hit is a leaked or foreign key.",
        resource_types=CODEBUILD,
    ),
    "codebuild-project-source-repo-url-check": _rule(
        "CODEBUILD_PROJECT_SOURCE_REPO_URL_CHECK", CHANGE,
        "A Bitbucket source URL must not embed sign-in credentials or tokens; sources connect through "
        "a CodeConnections connection or OAuth. The rule takes no parameters (checked in the AWS "
        "Config guide): it flags any sign-in information in the URL.",
        resource_types=CODEBUILD,
    ),
    "codebuild-project-environment-privileged-check": _rule(
        "CODEBUILD_PROJECT_ENVIRONMENT_PRIVILEGED_CHECK", CHANGE,
        "Privileged mode gives the build root on the Docker daemon. Only reviewed image-build projects "
        "may use it; add them to the optional exemptedProjects parameter per exception (none by "
        "default), so every other privileged project is flagged.",
        resource_types=CODEBUILD,
    ),
    "codebuild-project-artifact-encryption": _rule(
        "CODEBUILD_PROJECT_ARTIFACT_ENCRYPTION", CHANGE,
        "Build artifacts must not have encryption disabled. Cross-account pipeline artifacts are also "
        "encrypted with the customer-managed artifact key; this catches projects that opt out.",
        resource_types=CODEBUILD,
    ),
    "codebuild-project-logging-enabled": _rule(
        "CODEBUILD_PROJECT_LOGGING_ENABLED", CHANGE,
        "Every build must log to CloudWatch Logs or S3 so a compromised build can be investigated. "
        "No destination is pinned (s3BucketNames/cloudWatchGroupNames left unset): any enabled "
        "destination complies, because log group and bucket names differ per team account.",
        resource_types=CODEBUILD,
    ),
    "codebuild-project-s3-logs-encrypted": _rule(
        "CODEBUILD_PROJECT_S3_LOGS_ENCRYPTED", CHANGE,
        "Build logs written to S3 must not have encryption disabled; build logs can contain secrets "
        "echoed by scripts.",
        resource_types=CODEBUILD,
    ),
    # --- CodeDeploy / CodePipeline ----------------------------------------------------------
    "codedeploy-auto-rollback-monitor-enabled": _rule(
        "CODEDEPLOY_AUTO_ROLLBACK_MONITOR_ENABLED", CHANGE,
        "Deployment groups must have automatic rollback and CloudWatch alarm monitoring enabled; the "
        "blueprint's deployment groups roll back on DEPLOYMENT_FAILURE and DEPLOYMENT_STOP_ON_ALARM "
        "with up to 10 alarms.",
        resource_types=DEPLOYMENT_GROUP,
    ),
    "codedeploy-ec2-minimum-healthy-hosts-configured": _rule(
        "CODEDEPLOY_EC2_MINIMUM_HEALTHY_HOSTS_CONFIGURED", CHANGE,
        "EC2/on-premises deployments must keep at least 66% of the fleet (or 1 host) healthy. The "
        "documented defaults are pinned explicitly so the bar cannot move with an AWS default change. "
        "Lambda/ECS groups are not evaluated by this rule.",
        params={"minimumHealthyHostsFleetPercent": "66", "minimumHealthyHostsHostCount": "1"},
        resource_types=DEPLOYMENT_GROUP,
    ),
    "codedeploy-lambda-allatonce-traffic-shift-disabled": _rule(
        "CODEDEPLOY_LAMBDA_ALLATONCE_TRAFFIC_SHIFT_DISABLED", CHANGE,
        "Lambda deployments must shift traffic with a canary or linear configuration, never "
        "CodeDeployDefault.LambdaAllAtOnce, so alarms can stop a bad version before it takes all "
        "traffic.",
        resource_types=DEPLOYMENT_GROUP,
    ),
    "codepipeline-deployment-count-check": _rule(
        "CODEPIPELINE_DEPLOYMENT_COUNT_CHECK", CHANGE,
        "The first deploy stage may deploy only once (built into the rule), and deploymentLimit=1 "
        "makes every later stage deploy to one target: one environment account per stage, so dev and "
        "test catch a bad release before prod. Multi-region rollouts become sequential stages "
        "(region waves) instead of one wide stage.",
        params={"deploymentLimit": "1"},
        resource_types=["AWS::CodePipeline::Pipeline"],
    ),
    # --- CloudTrail ----------------------------------------------------------------
    "cloudtrail-enabled": _rule(
        "CLOUD_TRAIL_ENABLED", PERIODIC,
        "A trail must be logging in the account. Account-wide check, meaningful once per account: the "
        "multi-region organization trail satisfies it everywhere, so the same result repeats in every "
        "Region the pack is deployed to.",
    ),
    "multi-region-cloudtrail-enabled": _rule(
        "MULTI_REGION_CLOUD_TRAIL_ENABLED", PERIODIC,
        "At least one multi-region trail must record all read and write management events, and none "
        "may exclude management event sources (KMS, RDS Data API). Account-wide, meaningful once per "
        "account; satisfied by the organization trail.",
        params={"includeManagementEvents": "true", "readWriteType": "ALL"},
    ),
    "cloud-trail-log-file-validation-enabled": _rule(
        "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED", PERIODIC,
        "Signed digest files make deleted or altered CloudTrail logs detectable. The organization "
        "trail is created with validation on; this catches trails created in member accounts. "
        "Automatically remediated.",
    ),
    "cloud-trail-encryption-enabled": _rule(
        "CLOUD_TRAIL_ENCRYPTION_ENABLED", PERIODIC,
        "Trails must encrypt log files with SSE-KMS so reading them needs kms:Decrypt on the trail key "
        "as well as S3 access.",
    ),
    "cloud-trail-cloud-watch-logs-enabled": _rule(
        "CLOUD_TRAIL_CLOUD_WATCH_LOGS_ENABLED", PERIODIC,
        "Trails must deliver to CloudWatch Logs for metric filters and alarms; expectedDeliveryWindowAge="
        "24 also flags a trail whose CloudWatch delivery has been broken for more than a day.",
        params={"expectedDeliveryWindowAge": "24"},
    ),
    "cloudtrail-security-trail-enabled": _rule(
        "CLOUDTRAIL_SECURITY_TRAIL_ENABLED", PERIODIC,
        "One trail must meet every best practice at once (global events, multi-region, validation, KMS, "
        "read+write, management events, no exclusions). The individual rules above could each be met by "
        "a different trail. Account-wide, meaningful once per account.",
    ),
    # --- KMS -------------------------------------------------------------------------
    "cmk-backing-key-rotation-enabled": _rule(
        "CMK_BACKING_KEY_ROTATION_ENABLED", PERIODIC,
        "Customer-managed symmetric keys must rotate their key material yearly. Automatically "
        "remediated. Asymmetric, HMAC, imported-material and custom-key-store keys cannot rotate: the "
        "remediation fails for them after its retries and they need a documented exception.",
    ),
    "kms-cmk-not-scheduled-for-deletion": _rule(
        "KMS_CMK_NOT_SCHEDULED_FOR_DELETION", PERIODIC,
        "Every pending key deletion becomes visible within a day, inside the 30-day minimum window the "
        "kms-deletion-guard SCP enforces. kmsKeyIds is left unset so all customer-managed keys are "
        "checked (key ids differ per account). Not auto-remediated: a deletion may be intended.",
    ),
    # --- EC2 -------------------------------------------------------------------------
    "ec2-imdsv2-check": _rule(
        "EC2_IMDSV2_CHECK", CHANGE,
        "Instances must require IMDSv2 (HttpTokens=required). The require-imdsv2 SCP and the EC2 "
        "declarative policy prevent most IMDSv1 launches; this catches launches that bypass SCPs "
        "(service-linked roles, exempt roles). Detective only: see the module docstring.",
        resource_types=["AWS::EC2::Instance"],
    ),
    "ec2-launch-template-imdsv2-check": _rule(
        "EC2_LAUNCH_TEMPLATE_IMDSV2_CHECK", CHANGE,
        "Launch templates' default versions must require IMDSv2. Auto Scaling launches through a "
        "service-linked role that SCPs do not cover, so the template is where IMDSv1 slips in.",
        resource_types=["AWS::EC2::LaunchTemplate"],
    ),
    "ec2-ebs-encryption-by-default": _rule(
        "EC2_EBS_ENCRYPTION_BY_DEFAULT", PERIODIC,
        "EBS encryption by default must be on. It is a per-Region account setting, so this is evaluated "
        "and automatically remediated in every Region the pack runs in; protect-ebs-encryption stops it "
        "being switched off again.",
    ),
    "approved-amis-by-tag": _rule(
        "APPROVED_AMIS_BY_TAG", CHANGE,
        "Tags on a shared AMI are invisible to other accounts, so an unscoped tag check would flag every "
        "workload instance. Scoped to instances tagged VerifyGoldenAmiTag (e.g. image-factory test "
        "instances, where the AMI tag GoldenAmi=approved is visible). Org-wide AMI control is by owner: "
        "see ec2-instance-launched-with-allowed-ami.",
        params={"amisByTagKeyAndValue": GOLDEN_AMI_TAG},
        scope_tag_key=VERIFY_AMI_TAG_SCOPE_KEY,
    ),
    "ec2-instance-launched-with-allowed-ami": _rule(
        "EC2_INSTANCE_LAUNCHED_WITH_ALLOWED_AMI", BOTH,
        "The owner-based AMI check: instances must have been launched from an AMI that meets the "
        "account's Allowed AMIs criteria, which the ec2-baseline declarative policy limits to the image "
        "factory account as image provider (the same rule as the ec2:Owner SCP). Catches launches by "
        "service-linked or exempt roles and instances older than the policy.",
        resource_types=["AWS::EC2::Instance"],
    ),
    "ebs-snapshot-public-restorable-check": _rule(
        "EBS_SNAPSHOT_PUBLIC_RESTORABLE_CHECK", PERIODIC,
        "No EBS snapshot may be publicly restorable; backs up the declarative policy's snapshot block "
        "public access in accounts or Regions it does not cover.",
    ),
    "vpc-default-security-group-closed": _rule(
        "VPC_DEFAULT_SECURITY_GROUP_CLOSED", CHANGE,
        "Default security groups must have no rules, so a resource launched without an explicit group "
        "gets no connectivity.",
        resource_types=["AWS::EC2::SecurityGroup"],
    ),
    "vpc-flow-logs-enabled": _rule(
        "VPC_FLOW_LOGS_ENABLED", PERIODIC,
        "Every VPC must have flow logs for network forensics (flow log deletion is denied by "
        "protect-security-services). trafficType is left unset: any traffic type complies.",
    ),
    # --- S3 / SNS --------------------------------------------------------------------
    "s3-account-level-public-access-blocks-periodic": _rule(
        "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC", PERIODIC,
        "All four account-level S3 public access block settings must be on (pinned to True). The "
        "setting is account-wide, so the check is meaningful once per account and repeats per Region. "
        "Automatically remediated.",
        params={
            "BlockPublicAcls": "True",
            "BlockPublicPolicy": "True",
            "IgnorePublicAcls": "True",
            "RestrictPublicBuckets": "True",
        },
    ),
    "s3-bucket-level-public-access-prohibited": _rule(
        "S3_BUCKET_LEVEL_PUBLIC_ACCESS_PROHIBITED", CHANGE,
        "Bucket-level public access blocks must be on as well, so a bucket stays private if the "
        "account-level block is ever lifted by an exempt role. No bucket is excluded.",
        resource_types=["AWS::S3::Bucket"],
    ),
    "s3-bucket-ssl-requests-only": _rule(
        "S3_BUCKET_SSL_REQUESTS_ONLY", CHANGE,
        "Bucket policies must deny requests without TLS (aws:SecureTransport=false). The enforce-tls RCP "
        "already does so org-wide; the bucket statement keeps it if the RCP is detached. Automatically "
        "remediated: platform buckets already carry the statement, so only others are changed.",
        resource_types=["AWS::S3::Bucket"],
    ),
    "sns-encrypted-kms": _rule(
        "SNS_ENCRYPTED_KMS", CHANGE,
        "SNS topics must be encrypted with KMS. kmsKeyIds is left unset: any KMS key complies, since "
        "alert topics in each account use that account's own key.",
        resource_types=["AWS::SNS::Topic"],
    ),
    # --- Security services --------------------------------------------------------------
    "guardduty-enabled-centralized": _rule(
        "GUARDDUTY_ENABLED_CENTRALIZED", PERIODIC,
        "GuardDuty must be enabled in every account and Region (regional service). When the security "
        "account id is passed to the template, CentralMonitoringAccount also requires findings to be "
        "centralized there.",
    ),
    "securityhub-enabled": _rule(
        "SECURITYHUB_ENABLED", PERIODIC,
        "Security Hub must be enabled in every account and Region; it is regional, so every Region is "
        "meaningful.",
    ),
    "iam-external-access-analyzer-enabled": _rule(
        "IAM_EXTERNAL_ACCESS_ANALYZER_ENABLED", PERIODIC,
        "An active external-access analyzer must exist in the account in each Region (analyzers are "
        "regional). Member accounts need an account-zone analyzer from the baseline if the "
        "organization-zone analyzer in the security account does not count for them.",
    ),
    "inspector-ec2-scan-enabled": _rule(
        "INSPECTOR_EC2_SCAN_ENABLED", PERIODIC,
        "Inspector EC2 scanning must be active; Image Builder's TEST_INSTANCE_CVE check depends on it. "
        "In an organization the result is generated in the delegated Inspector administrator account "
        "and covers all members.",
    ),
    "inspector-ecr-scan-enabled": _rule(
        "INSPECTOR_ECR_SCAN_ENABLED", PERIODIC,
        "Inspector ECR scanning must be active so pushed images are scanned for CVEs. In an "
        "organization the result is generated in the delegated Inspector administrator account.",
    ),
    # --- IAM / ECR ---------------------------------------------------------------------
    "iam-policy-no-statements-with-admin-access": _rule(
        "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS", CHANGE,
        "Customer-managed policies must not grant Action * on Resource *. IAM is global and Config "
        "records IAM resources only in the Region that records global resources, so this is meaningful "
        "once per account; other Regions have nothing to evaluate.",
        resource_types=["AWS::IAM::Policy"],
    ),
    "iam-root-access-key-check": _rule(
        "IAM_ROOT_ACCESS_KEY_CHECK", PERIODIC,
        "The root user must have no access keys. Global, account-wide check: meaningful once per "
        "account, the same result repeats in every Region.",
    ),
    "ecr-private-image-scanning-enabled": _rule(
        "ECR_PRIVATE_IMAGE_SCANNING_ENABLED", PERIODIC,
        "Private ECR repositories must have image scanning enabled so no image reaches a deployment "
        "unscanned.",
    ),
    "ecr-private-tag-immutability-enabled": _rule(
        "ECR_PRIVATE_TAG_IMMUTABILITY_ENABLED", CHANGE,
        "Image tags must be immutable so a scanned and approved tag cannot be overwritten with a "
        "different image between scan and deploy.",
        resource_types=["AWS::ECR::Repository"],
    ),
}


# Rule name -> automatic remediation. Document parameters and IAM actions are from the
# Systems Manager Automation runbook reference pages of each AWS-owned runbook.
REMEDIATIONS: dict[str, dict[str, Any]] = {
    "cloud-trail-log-file-validation-enabled": {
        "document": "AWSConfigRemediation-EnableCloudTrailLogFileValidation",
        "document_parameters": {"required": ["AutomationAssumeRole", "TrailName"], "optional": []},
        "parameters": {"AutomationAssumeRole": ASSUME_ROLE, "TrailName": RESOURCE_ID},
        "resource_type": "AWS::CloudTrail::Trail",
        "iam_actions": ["cloudtrail:DescribeTrails", "cloudtrail:UpdateTrail"],
        "scp_conflicts": {"protect-security-services": ["cloudtrail:UpdateTrail"]},
        "automatic": True,
        "why": "Turning validation on is non-disruptive and only adds digest files. TrailName accepts the "
        "trail name or ARN, so the Config resource id maps straight in. The organization trail belongs "
        "to the management account and is not touched from member accounts.",
    },
    "cmk-backing-key-rotation-enabled": {
        "document": "AWSConfigRemediation-EnableKeyRotation",
        "document_parameters": {"required": ["AutomationAssumeRole", "KeyId"], "optional": []},
        "parameters": {"AutomationAssumeRole": ASSUME_ROLE, "KeyId": RESOURCE_ID},
        "resource_type": "AWS::KMS::Key",
        "iam_actions": ["kms:EnableKeyRotation", "kms:GetKeyRotationStatus"],
        "scp_conflicts": {},
        "automatic": True,
        "why": "Enabling rotation keeps key id, ARN, policy and aliases, so nothing that uses the key "
        "breaks. The key policy must let the remediation role call kms:EnableKeyRotation.",
    },
    "s3-account-level-public-access-blocks-periodic": {
        "document": "AWSConfigRemediation-ConfigureS3PublicAccessBlock",
        "document_parameters": {
            "required": ["AccountId", "AutomationAssumeRole"],
            "optional": ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"],
        },
        "parameters": {
            "AccountId": RESOURCE_ID,
            "AutomationAssumeRole": ASSUME_ROLE,
            "BlockPublicAcls": "true",
            "BlockPublicPolicy": "true",
            "IgnorePublicAcls": "true",
            "RestrictPublicBuckets": "true",
        },
        "resource_type": None,  # AWS::::Account: the resource id is the account id
        "iam_actions": ["s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock"],
        "scp_conflicts": {"protect-s3-public-access-block": ["s3:PutAccountPublicAccessBlock"]},
        "automatic": True,
        "why": "Restores the account-wide backstop against public buckets. All four settings are passed "
        "explicitly (they are also the runbook defaults) so the fix matches what the rule checks.",
    },
    "ec2-ebs-encryption-by-default": {
        "document": "AWSConfigRemediation-EnableEbsEncryptionByDefault",
        "document_parameters": {"required": ["AutomationAssumeRole"], "optional": []},
        # The runbook acts on the current account and Region and takes no resource parameter,
        # so there is no ResourceValue mapping (passing an unknown parameter would fail it).
        "parameters": {"AutomationAssumeRole": ASSUME_ROLE},
        "resource_type": None,
        # The runbook page lists ec2:EnableEbsEncryptionByDefault; its verification step reads
        # the setting back, hence the Get action.
        "iam_actions": ["ec2:EnableEbsEncryptionByDefault", "ec2:GetEbsEncryptionByDefault"],
        "scp_conflicts": {},
        "automatic": True,
        "why": "Only affects volumes created afterwards, so it cannot disrupt running workloads. Existing "
        "unencrypted volumes still need a snapshot-copy migration by their owners.",
    },
    "s3-bucket-ssl-requests-only": {
        "document": "AWSConfigRemediation-RestrictBucketSSLRequestsOnly",
        "document_parameters": {"required": ["AutomationAssumeRole", "BucketName"], "optional": []},
        "parameters": {"AutomationAssumeRole": ASSUME_ROLE, "BucketName": RESOURCE_ID},
        "resource_type": "AWS::S3::Bucket",
        "iam_actions": ["s3:DeleteBucketPolicy", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:PutEncryptionConfiguration"],
        "scp_conflicts": {},
        "automatic": True,
        "why": "Adds a deny-non-TLS statement to the bucket policy. Clients already have to use TLS because "
        "of the enforce-tls RCP, so the added statement changes no working access. A bucket whose "
        "policy is managed as code will show drift until its code adds the statement itself.",
    },
}

REMEDIATION_DEFAULTS = {
    "MaximumAutomaticAttempts": 5,
    "RetryAttemptSeconds": 60,
    "ExecutionControls": {"SsmControls": {"ConcurrentExecutionRatePercentage": 10, "ErrorPercentage": 20}},
}

_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def logical_id(rule_name: str, suffix: str = "") -> str:
    """CloudFormation logical id (alphanumeric) for a rule name such as ``ec2-imdsv2-check``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", rule_name) if part) + suffix


def remediation_role_arn(remediation_role_name: str = DEFAULT_REMEDIATION_ROLE) -> dict[str, str]:
    """The remediation role in the evaluated account, as an Fn::Sub the pack resolves there."""
    if not _ROLE_NAME.match(remediation_role_name):
        raise ValueError(f"invalid IAM role name: {remediation_role_name!r}")
    return {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/" + remediation_role_name}


def _description(why: str) -> str:
    first = why.split(". ")[0].rstrip(".") + "."
    return first if len(first) <= 256 else first[:253].rstrip() + "..."


def rule_input_parameters(rule_name: str, security_account_id: str | None = None) -> dict[str, str]:
    """InputParameters of one rule as deployed (RULES params plus per-deployment values)."""
    params = dict(RULES[rule_name]["params"])
    if RULES[rule_name]["identifier"] == "GUARDDUTY_ENABLED_CENTRALIZED" and security_account_id:
        params["CentralMonitoringAccount"] = security_account_id
    return params


def _config_rule(name: str, rule: dict[str, Any], security_account_id: str | None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "ConfigRuleName": name,
        "Description": _description(rule["why"]),
        "Source": {"Owner": "AWS", "SourceIdentifier": rule["identifier"]},
    }
    params = rule_input_parameters(name, security_account_id)
    if params:
        props["InputParameters"] = params
    if rule["trigger"] in (PERIODIC, BOTH):
        props["MaximumExecutionFrequency"] = PERIODIC_FREQUENCY
    if rule.get("scope_tag_key"):
        props["Scope"] = {"TagKey": rule["scope_tag_key"]}
    elif rule["trigger"] in (CHANGE, BOTH) and rule.get("resource_types"):
        props["Scope"] = {"ComplianceResourceTypes": list(rule["resource_types"])}
    return {"Type": "AWS::Config::ConfigRule", "Properties": props}


def _parameter_value(value: str, role_arn: dict[str, str]) -> dict[str, Any]:
    if value == RESOURCE_ID:
        return {"ResourceValue": {"Value": "RESOURCE_ID"}}
    if value == ASSUME_ROLE:
        return {"StaticValue": {"Values": [role_arn]}}
    return {"StaticValue": {"Values": [value]}}


def _remediation(rule_name: str, remediation: dict[str, Any], role_arn: dict[str, str]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "ConfigRuleName": rule_name,
        "TargetType": "SSM_DOCUMENT",
        "TargetId": remediation["document"],
        "Automatic": bool(remediation["automatic"]),
        "Parameters": {k: _parameter_value(v, role_arn) for k, v in remediation["parameters"].items()},
        **json.loads(json.dumps(REMEDIATION_DEFAULTS)),
    }
    if remediation.get("resource_type"):
        props["ResourceType"] = remediation["resource_type"]
    return {"Type": "AWS::Config::RemediationConfiguration", "DependsOn": logical_id(rule_name), "Properties": props}


def conformance_pack_template(
    remediation_role_name: str = DEFAULT_REMEDIATION_ROLE,
    security_account_id: str | None = None,
) -> dict[str, Any]:
    """The conformance pack as a CloudFormation-shaped dict.

    ``security_account_id`` (optional) sets GUARDDUTY_ENABLED_CENTRALIZED's
    CentralMonitoringAccount to the GuardDuty delegated-admin account.
    """
    if security_account_id is not None and not _ACCOUNT_ID.match(security_account_id):
        raise ValueError(f"invalid AWS account id: {security_account_id!r}")
    unknown = set(REMEDIATIONS) - set(RULES)
    if unknown:
        raise ValueError(f"remediations for unknown rules: {sorted(unknown)}")
    role_arn = remediation_role_arn(remediation_role_name)
    resources: dict[str, Any] = {}
    for name in sorted(RULES):
        resources[logical_id(name)] = _config_rule(name, RULES[name], security_account_id)
    for name in sorted(REMEDIATIONS):
        resources[logical_id(name, "Remediation")] = _remediation(name, REMEDIATIONS[name], role_arn)
    if len(resources) != len(RULES) + len(REMEDIATIONS):
        raise ValueError("logical id collision between rule names")
    return {"Resources": resources}


def template_body(
    remediation_role_name: str = DEFAULT_REMEDIATION_ROLE,
    security_account_id: str | None = None,
) -> str:
    """Deterministic, minified JSON for ``OrganizationConformancePack.template_body``."""
    body = json.dumps(
        conformance_pack_template(remediation_role_name, security_account_id), sort_keys=True, separators=(",", ":")
    )
    size = len(body.encode("utf-8"))
    if size >= TEMPLATE_BODY_LIMIT:
        raise ValueError(f"conformance pack template is {size} bytes; the limit is {TEMPLATE_BODY_LIMIT}")
    return body
