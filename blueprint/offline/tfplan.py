"""Export a recorded offline plan as Terraform plan JSON, for checkov's ``terraform_plan`` framework.

    python -m blueprint.offline.tfplan --stack prod        (writes build/tfplan-prod.json)

pulumi-aws is bridged from the Terraform AWS provider, so each ``aws:`` resource of the
offline plan (``blueprint.offline.plan``) is a Terraform resource under another name.
This module undoes the bridge's renaming:

* **Types.** ``aws:<module>/<camelName>:<Name>`` -> Terraform type. The bridge's mapping is
  not a mechanical rule (``aws:cfg/rule:Rule`` is ``aws_config_config_rule``,
  ``aws:cloudtrail/trail:Trail`` is ``aws_cloudtrail``, ``aws:codedeploy/application`` is
  ``aws_codedeploy_app``), and the installed SDK does not carry the Terraform names (the
  provider plugin's embedded schema and ``bridge-metadata.json`` ship only with the provider
  binary, not with the ``pulumi-aws`` wheel). So :data:`TYPE_TABLE` lists the mapping
  explicitly, entry by entry as in pulumi-aws's ``bridge-metadata.json`` ("renames"), for
  every type the plans use and the usual pipeline types. Anything else gets
  :func:`fallback_tf_type` and is *reported* as unverified; a token the installed
  ``pulumi_aws`` does not register at all is reported as unknown and not exported.
* **Shapes.** Schema-driven, from the installed SDK: every resource has an ``*Args`` input
  class whose annotated properties say, per camelCase name, whether a value is a scalar, a
  list (``Sequence``), a map with user keys (``Mapping`` -- ``tags``, ``parameters``,
  ``inputPaths``, ``variables``, action ``configuration``: keys kept verbatim) or a nested
  object (another ``*Args`` class). A nested object is a v7-flattened single nested block,
  which Terraform plan JSON shows as a list of one.
* **Property names.** The SDK's Python name (the schema's snake_case) is the Terraform name,
  except where the bridge pluralised a repeated block (``stage`` -> ``stages``);
  :data:`PROPERTY_RENAMES` undoes those for the types we use, as in bridge-metadata's
  ``renamedProperties``.
* **References.** A top-level input that pointed at another exported resource (Pulumi's
  property dependencies) becomes a Terraform reference (``aws_s3_bucket.logs.id``) in
  ``configuration`` and is left out of the planned values, as Terraform does for a value
  known only after apply. That is what lets checkov's graph checks connect the separate
  v7 resources (bucket + its encryption/versioning/public-access-block resources).

JSON-string inputs (policies, event patterns, templates) stay strings; checkov parses them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import typing
from collections import Counter
from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence as AbcSequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent

FORMAT_VERSION = "1.2"
# The Terraform CLI version the export claims; checkov only requires the key to exist.
TERRAFORM_VERSION = "1.9.8"
PROVIDER_NAME = "registry.terraform.io/hashicorp/aws"

# Pulumi type token -> Terraform resource type, as pulumi-aws's bridge metadata maps them
# (provider/cmd/pulumi-resource-aws/bridge-metadata.json, "renames.resources"; v7 names:
# in v7 ``aws:s3/bucket:Bucket`` *is* ``aws_s3_bucket`` and the ``...V2`` tokens are aliases).
TYPE_TABLE: dict[str, str] = {
    # access analyzer
    "aws:accessanalyzer/analyzer:Analyzer": "aws_accessanalyzer_analyzer",
    "aws:accessanalyzer/archiveRule:ArchiveRule": "aws_accessanalyzer_archive_rule",
    # AWS Config: module "cfg", Terraform prefix "config", and two irregular names
    "aws:cfg/aggregateAuthorization:AggregateAuthorization": "aws_config_aggregate_authorization",
    "aws:cfg/configurationAggregator:ConfigurationAggregator": "aws_config_configuration_aggregator",
    "aws:cfg/conformancePack:ConformancePack": "aws_config_conformance_pack",
    "aws:cfg/deliveryChannel:DeliveryChannel": "aws_config_delivery_channel",
    "aws:cfg/organizationConformancePack:OrganizationConformancePack": "aws_config_organization_conformance_pack",
    "aws:cfg/organizationCustomRule:OrganizationCustomRule": "aws_config_organization_custom_rule",
    "aws:cfg/organizationManagedRule:OrganizationManagedRule": "aws_config_organization_managed_rule",
    "aws:cfg/recorder:Recorder": "aws_config_configuration_recorder",
    "aws:cfg/recorderStatus:RecorderStatus": "aws_config_configuration_recorder_status",
    "aws:cfg/remediationConfiguration:RemediationConfiguration": "aws_config_remediation_configuration",
    "aws:cfg/rule:Rule": "aws_config_config_rule",
    # CloudFormation
    "aws:cloudformation/stack:Stack": "aws_cloudformation_stack",
    "aws:cloudformation/stackSet:StackSet": "aws_cloudformation_stack_set",
    "aws:cloudformation/stackSetInstance:StackSetInstance": "aws_cloudformation_stack_set_instance",
    # CloudTrail: the trail is plain "aws_cloudtrail"
    "aws:cloudtrail/trail:Trail": "aws_cloudtrail",
    "aws:cloudtrail/eventDataStore:EventDataStore": "aws_cloudtrail_event_data_store",
    # CloudWatch, EventBridge (module "cloudwatch", Terraform "cloudwatch_event_*") and Logs
    "aws:cloudwatch/eventArchive:EventArchive": "aws_cloudwatch_event_archive",
    "aws:cloudwatch/eventBus:EventBus": "aws_cloudwatch_event_bus",
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": "aws_cloudwatch_event_bus_policy",
    "aws:cloudwatch/eventPermission:EventPermission": "aws_cloudwatch_event_permission",
    "aws:cloudwatch/eventRule:EventRule": "aws_cloudwatch_event_rule",
    "aws:cloudwatch/eventTarget:EventTarget": "aws_cloudwatch_event_target",
    "aws:cloudwatch/logGroup:LogGroup": "aws_cloudwatch_log_group",
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": "aws_cloudwatch_log_metric_filter",
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": "aws_cloudwatch_log_resource_policy",
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter": "aws_cloudwatch_log_subscription_filter",
    "aws:cloudwatch/metricAlarm:MetricAlarm": "aws_cloudwatch_metric_alarm",
    # CodeArtifact, CodeBuild, CodeDeploy ("application" is "aws_codedeploy_app"), CodePipeline
    "aws:codeartifact/domain:Domain": "aws_codeartifact_domain",
    "aws:codeartifact/repository:Repository": "aws_codeartifact_repository",
    "aws:codebuild/project:Project": "aws_codebuild_project",
    "aws:codebuild/reportGroup:ReportGroup": "aws_codebuild_report_group",
    "aws:codebuild/resourcePolicy:ResourcePolicy": "aws_codebuild_resource_policy",
    "aws:codebuild/sourceCredential:SourceCredential": "aws_codebuild_source_credential",
    "aws:codebuild/webhook:Webhook": "aws_codebuild_webhook",
    "aws:codecommit/approvalRuleTemplate:ApprovalRuleTemplate": "aws_codecommit_approval_rule_template",
    "aws:codecommit/approvalRuleTemplateAssociation:ApprovalRuleTemplateAssociation": "aws_codecommit_approval_rule_template_association",
    "aws:codecommit/repository:Repository": "aws_codecommit_repository",
    "aws:codecommit/trigger:Trigger": "aws_codecommit_trigger",
    "aws:codedeploy/application:Application": "aws_codedeploy_app",
    "aws:codedeploy/deploymentConfig:DeploymentConfig": "aws_codedeploy_deployment_config",
    "aws:codedeploy/deploymentGroup:DeploymentGroup": "aws_codedeploy_deployment_group",
    "aws:codepipeline/customActionType:CustomActionType": "aws_codepipeline_custom_action_type",
    "aws:codepipeline/pipeline:Pipeline": "aws_codepipeline",
    "aws:codepipeline/webhook:Webhook": "aws_codepipeline_webhook",
    "aws:codestarconnections/connection:Connection": "aws_codestarconnections_connection",
    "aws:codestarconnections/host:Host": "aws_codestarconnections_host",
    "aws:codestarnotifications/notificationRule:NotificationRule": "aws_codestarnotifications_notification_rule",
    # EC2 account-level defaults live in module ec2 but are not "aws_ec2_*"
    "aws:ebs/defaultKmsKey:DefaultKmsKey": "aws_ebs_default_kms_key",
    "aws:ebs/encryptionByDefault:EncryptionByDefault": "aws_ebs_encryption_by_default",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    # the image factory's build VPC: VPC resources are "aws_*" without the ec2 prefix
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    # EC2 Image Builder (the golden-AMI factory)
    "aws:imagebuilder/component:Component": "aws_imagebuilder_component",
    "aws:imagebuilder/distributionConfiguration:DistributionConfiguration": "aws_imagebuilder_distribution_configuration",
    "aws:imagebuilder/imagePipeline:ImagePipeline": "aws_imagebuilder_image_pipeline",
    "aws:imagebuilder/imageRecipe:ImageRecipe": "aws_imagebuilder_image_recipe",
    "aws:imagebuilder/infrastructureConfiguration:InfrastructureConfiguration": "aws_imagebuilder_infrastructure_configuration",
    "aws:imagebuilder/lifecyclePolicy:LifecyclePolicy": "aws_imagebuilder_lifecycle_policy",
    "aws:imagebuilder/workflow:Workflow": "aws_imagebuilder_workflow",
    # RAM (the approved-AMI parameters, shared with the organization)
    "aws:ram/principalAssociation:PrincipalAssociation": "aws_ram_principal_association",
    "aws:ram/resourceShare:ResourceShare": "aws_ram_resource_share",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "aws_ecr_lifecycle_policy",
    "aws:ecr/repository:Repository": "aws_ecr_repository",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "aws_ecr_repository_policy",
    # GuardDuty
    "aws:guardduty/detector:Detector": "aws_guardduty_detector",
    "aws:guardduty/detectorFeature:DetectorFeature": "aws_guardduty_detector_feature",
    "aws:guardduty/organizationAdminAccount:OrganizationAdminAccount": "aws_guardduty_organization_admin_account",
    "aws:guardduty/organizationConfiguration:OrganizationConfiguration": "aws_guardduty_organization_configuration",
    "aws:guardduty/organizationConfigurationFeature:OrganizationConfigurationFeature": "aws_guardduty_organization_configuration_feature",
    # IAM ("openIdConnectProvider" is "openid")
    "aws:iam/accountPasswordPolicy:AccountPasswordPolicy": "aws_iam_account_password_policy",
    "aws:iam/group:Group": "aws_iam_group",
    "aws:iam/groupPolicy:GroupPolicy": "aws_iam_group_policy",
    "aws:iam/instanceProfile:InstanceProfile": "aws_iam_instance_profile",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "aws_iam_openid_connect_provider",
    "aws:iam/policy:Policy": "aws_iam_policy",
    "aws:iam/policyAttachment:PolicyAttachment": "aws_iam_policy_attachment",
    "aws:iam/role:Role": "aws_iam_role",
    "aws:iam/rolePolicy:RolePolicy": "aws_iam_role_policy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "aws_iam_role_policy_attachment",
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": "aws_iam_service_linked_role",
    "aws:iam/user:User": "aws_iam_user",
    "aws:iam/userPolicy:UserPolicy": "aws_iam_user_policy",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "aws_iam_user_policy_attachment",
    # Inspector
    "aws:inspector2/delegatedAdminAccount:DelegatedAdminAccount": "aws_inspector2_delegated_admin_account",
    "aws:inspector2/enabler:Enabler": "aws_inspector2_enabler",
    "aws:inspector2/organizationConfiguration:OrganizationConfiguration": "aws_inspector2_organization_configuration",
    # KMS
    "aws:kms/alias:Alias": "aws_kms_alias",
    "aws:kms/grant:Grant": "aws_kms_grant",
    "aws:kms/key:Key": "aws_kms_key",
    "aws:kms/keyPolicy:KeyPolicy": "aws_kms_key_policy",
    # Lambda
    "aws:lambda/alias:Alias": "aws_lambda_alias",
    "aws:lambda/codeSigningConfig:CodeSigningConfig": "aws_lambda_code_signing_config",
    "aws:lambda/eventSourceMapping:EventSourceMapping": "aws_lambda_event_source_mapping",
    "aws:lambda/function:Function": "aws_lambda_function",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "aws_lambda_function_event_invoke_config",
    "aws:lambda/functionUrl:FunctionUrl": "aws_lambda_function_url",
    "aws:lambda/layerVersion:LayerVersion": "aws_lambda_layer_version",
    "aws:lambda/permission:Permission": "aws_lambda_permission",
    # Organizations
    "aws:organizations/account:Account": "aws_organizations_account",
    "aws:organizations/delegatedAdministrator:DelegatedAdministrator": "aws_organizations_delegated_administrator",
    "aws:organizations/organization:Organization": "aws_organizations_organization",
    "aws:organizations/organizationalUnit:OrganizationalUnit": "aws_organizations_organizational_unit",
    "aws:organizations/policy:Policy": "aws_organizations_policy",
    "aws:organizations/policyAttachment:PolicyAttachment": "aws_organizations_policy_attachment",
    "aws:organizations/resourcePolicy:ResourcePolicy": "aws_organizations_resource_policy",
    # S3 (v7: Bucket is aws_s3_bucket; "...V2" are deprecated aliases of the same resources;
    # "bucketReplicationConfig" is "..._replication_configuration", "bucketObjectv2" is "aws_s3_object")
    "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock": "aws_s3_account_public_access_block",
    "aws:s3/bucket:Bucket": "aws_s3_bucket",
    "aws:s3/bucketV2:BucketV2": "aws_s3_bucket",
    "aws:s3/bucketAcl:BucketAcl": "aws_s3_bucket_acl",
    "aws:s3/bucketAclV2:BucketAclV2": "aws_s3_bucket_acl",
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": "aws_s3_bucket_cors_configuration",
    "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2": "aws_s3_bucket_cors_configuration",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2": "aws_s3_bucket_lifecycle_configuration",
    "aws:s3/bucketLogging:BucketLogging": "aws_s3_bucket_logging",
    "aws:s3/bucketLoggingV2:BucketLoggingV2": "aws_s3_bucket_logging",
    "aws:s3/bucketNotification:BucketNotification": "aws_s3_bucket_notification",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": "aws_s3_bucket_object_lock_configuration",
    "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2": "aws_s3_bucket_object_lock_configuration",
    "aws:s3/bucketObjectv2:BucketObjectv2": "aws_s3_object",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "aws_s3_bucket_ownership_controls",
    "aws:s3/bucketPolicy:BucketPolicy": "aws_s3_bucket_policy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "aws_s3_bucket_public_access_block",
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "aws_s3_bucket_replication_configuration",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "aws_s3_bucket_server_side_encryption_configuration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2": "aws_s3_bucket_server_side_encryption_configuration",
    "aws:s3/bucketVersioning:BucketVersioning": "aws_s3_bucket_versioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2": "aws_s3_bucket_versioning",
    "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration": "aws_s3_bucket_website_configuration",
    "aws:s3/bucketWebsiteConfigurationV2:BucketWebsiteConfigurationV2": "aws_s3_bucket_website_configuration",
    # Secrets Manager, Security Hub, SNS, SQS, SSM
    "aws:secretsmanager/secret:Secret": "aws_secretsmanager_secret",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "aws_secretsmanager_secret_policy",
    "aws:secretsmanager/secretVersion:SecretVersion": "aws_secretsmanager_secret_version",
    "aws:securityhub/account:Account": "aws_securityhub_account",
    "aws:securityhub/configurationPolicy:ConfigurationPolicy": "aws_securityhub_configuration_policy",
    "aws:securityhub/configurationPolicyAssociation:ConfigurationPolicyAssociation": "aws_securityhub_configuration_policy_association",
    "aws:securityhub/findingAggregator:FindingAggregator": "aws_securityhub_finding_aggregator",
    "aws:securityhub/organizationAdminAccount:OrganizationAdminAccount": "aws_securityhub_organization_admin_account",
    "aws:securityhub/organizationConfiguration:OrganizationConfiguration": "aws_securityhub_organization_configuration",
    "aws:securityhub/standardsSubscription:StandardsSubscription": "aws_securityhub_standards_subscription",
    "aws:sns/topic:Topic": "aws_sns_topic",
    "aws:sns/topicPolicy:TopicPolicy": "aws_sns_topic_policy",
    "aws:sns/topicSubscription:TopicSubscription": "aws_sns_topic_subscription",
    "aws:sqs/queue:Queue": "aws_sqs_queue",
    "aws:sqs/queuePolicy:QueuePolicy": "aws_sqs_queue_policy",
    "aws:ssm/document:Document": "aws_ssm_document",
    "aws:ssm/parameter:Parameter": "aws_ssm_parameter",
}

# Module -> Terraform prefix where they differ; used only by the reported fallback.
MODULE_PREFIX: dict[str, str] = {
    "cfg": "config",
    "amp": "prometheus",
    "apigateway": "api_gateway",
    "ec2transitgateway": "ec2_transit_gateway",
    "directoryservice": "directory_service",
    "ec2clientvpn": "ec2_client_vpn",
    "elasticloadbalancingv2": "lb",
}

# Properties the bridge pluralised (a repeated Terraform block "stage" is Pulumi "stages").
# Keyed by the Pulumi token of the resource or of the nested object type that holds them,
# as in bridge-metadata.json's "renamedProperties". Everything else uses the SDK's
# snake_case name, which is the Terraform name.
PROPERTY_RENAMES: dict[str, dict[str, str]] = {
    "aws:accessanalyzer/AnalyzerConfigurationInternalAccessAnalysisRule:AnalyzerConfigurationInternalAccessAnalysisRule": {"inclusions": "inclusion"},
    "aws:accessanalyzer/AnalyzerConfigurationUnusedAccessAnalysisRule:AnalyzerConfigurationUnusedAccessAnalysisRule": {"exclusions": "exclusion"},
    "aws:cfg/conformancePack:ConformancePack": {"inputParameters": "input_parameter"},
    "aws:cfg/organizationConformancePack:OrganizationConformancePack": {"inputParameters": "input_parameter"},
    "aws:cloudformation/StackSetOperationPreferences:StackSetOperationPreferences": {"regionOrders": "region_order"},
    "aws:cloudformation/StackSetInstanceOperationPreferences:StackSetInstanceOperationPreferences": {"regionOrders": "region_order"},
    "aws:cloudtrail/trail:Trail": {
        "advancedEventSelectors": "advanced_event_selector",
        "eventSelectors": "event_selector",
        "insightSelectors": "insight_selector",
    },
    "aws:cloudtrail/TrailAdvancedEventSelector:TrailAdvancedEventSelector": {"fieldSelectors": "field_selector"},
    "aws:cloudtrail/TrailAdvancedEventSelectorFieldSelector:TrailAdvancedEventSelectorFieldSelector": {
        "endsWiths": "ends_with",
        "notEndsWiths": "not_ends_with",
        "notStartsWiths": "not_starts_with",
        "startsWiths": "starts_with",
    },
    "aws:cloudtrail/TrailEventSelector:TrailEventSelector": {"dataResources": "data_resource"},
    # EC2 Image Builder (the golden-AMI factory)
    "aws:imagebuilder/distributionConfiguration:DistributionConfiguration": {"distributions": "distribution"},
    "aws:imagebuilder/DistributionConfigurationDistribution:DistributionConfigurationDistribution": {
        "fastLaunchConfigurations": "fast_launch_configuration",
        "launchTemplateConfigurations": "launch_template_configuration",
        "ssmParameterConfigurations": "ssm_parameter_configuration",
    },
    "aws:imagebuilder/imageRecipe:ImageRecipe": {"blockDeviceMappings": "block_device_mapping", "components": "component"},
    "aws:imagebuilder/ImageRecipeComponent:ImageRecipeComponent": {"parameters": "parameter"},
    "aws:imagebuilder/imagePipeline:ImagePipeline": {"workflows": "workflow"},
    "aws:imagebuilder/ImagePipelineWorkflow:ImagePipelineWorkflow": {"parameters": "parameter"},
    "aws:imagebuilder/lifecyclePolicy:LifecyclePolicy": {"policyDetails": "policy_detail"},
    "aws:imagebuilder/LifecyclePolicyResourceSelection:LifecyclePolicyResourceSelection": {"recipes": "recipe"},
    "aws:cloudwatch/EventTargetEcsTarget:EventTargetEcsTarget": {
        "capacityProviderStrategies": "capacity_provider_strategy",
        "orderedPlacementStrategies": "ordered_placement_strategy",
        "placementConstraints": "placement_constraint",
    },
    "aws:cloudwatch/EventTargetSagemakerPipelineTarget:EventTargetSagemakerPipelineTarget": {"pipelineParameterLists": "pipeline_parameter_list"},
    "aws:cloudwatch/metricAlarm:MetricAlarm": {"metricQueries": "metric_query"},
    "aws:codebuild/ProjectBuildBatchConfigRestrictions:ProjectBuildBatchConfigRestrictions": {"computeTypesAlloweds": "compute_types_allowed"},
    "aws:codebuild/ProjectEnvironment:ProjectEnvironment": {"environmentVariables": "environment_variable"},
    "aws:codebuild/project:Project": {"secondarySourceVersions": "secondary_source_version"},
    "aws:codebuild/webhook:Webhook": {"filterGroups": "filter_group"},
    "aws:codecommit/trigger:Trigger": {"triggers": "trigger"},
    "aws:codebuild/WebhookFilterGroup:WebhookFilterGroup": {"filters": "filter"},
    "aws:codedeploy/deploymentGroup:DeploymentGroup": {
        "ec2TagFilters": "ec2_tag_filter",
        "ec2TagSets": "ec2_tag_set",
        "onPremisesInstanceTagFilters": "on_premises_instance_tag_filter",
        "triggerConfigurations": "trigger_configuration",
    },
    "aws:codedeploy/DeploymentGroupEc2TagSet:DeploymentGroupEc2TagSet": {"ec2TagFilters": "ec2_tag_filter"},
    "aws:codedeploy/DeploymentGroupLoadBalancerInfo:DeploymentGroupLoadBalancerInfo": {
        "elbInfos": "elb_info",
        "targetGroupInfos": "target_group_info",
    },
    "aws:codedeploy/DeploymentGroupLoadBalancerInfoTargetGroupPairInfo:DeploymentGroupLoadBalancerInfoTargetGroupPairInfo": {"targetGroups": "target_group"},
    "aws:codepipeline/pipeline:Pipeline": {
        "artifactStores": "artifact_store",
        "stages": "stage",
        "triggers": "trigger",
        "variables": "variable",
    },
    "aws:codepipeline/PipelineStage:PipelineStage": {"actions": "action"},
    "aws:codepipeline/PipelineStageBeforeEntryCondition:PipelineStageBeforeEntryCondition": {"rules": "rule"},
    "aws:codepipeline/PipelineStageOnFailureCondition:PipelineStageOnFailureCondition": {"rules": "rule"},
    "aws:codepipeline/PipelineStageOnSuccessCondition:PipelineStageOnSuccessCondition": {"rules": "rule"},
    "aws:codepipeline/PipelineTriggerGitConfiguration:PipelineTriggerGitConfiguration": {
        "pullRequests": "pull_request",
        "pushes": "push",
    },
    "aws:codepipeline/webhook:Webhook": {"filters": "filter"},
    "aws:codestarnotifications/notificationRule:NotificationRule": {"targets": "target"},
    "aws:guardduty/detectorFeature:DetectorFeature": {"additionalConfigurations": "additional_configuration"},
    "aws:guardduty/organizationConfigurationFeature:OrganizationConfigurationFeature": {"additionalConfigurations": "additional_configuration"},
    "aws:iam/role:Role": {"inlinePolicies": "inline_policy"},
    "aws:lambda/FunctionImageConfig:FunctionImageConfig": {"commands": "command", "entryPoints": "entry_point"},
    "aws:s3/bucket:Bucket": {"corsRules": "cors_rule", "grants": "grant", "lifecycleRules": "lifecycle_rule"},
    "aws:s3/BucketLifecycleRule:BucketLifecycleRule": {
        "noncurrentVersionTransitions": "noncurrent_version_transition",
        "transitions": "transition",
    },
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": {"corsRules": "cors_rule"},
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": {"rules": "rule"},
    "aws:s3/BucketLifecycleConfigurationRule:BucketLifecycleConfigurationRule": {
        "noncurrentVersionTransitions": "noncurrent_version_transition",
        "transitions": "transition",
    },
    "aws:s3/bucketLogging:BucketLogging": {"targetGrants": "target_grant"},
    "aws:s3/bucketNotification:BucketNotification": {
        "lambdaFunctions": "lambda_function",
        "queues": "queue",
        "topics": "topic",
    },
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": {"rules": "rule"},
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": {"rules": "rule"},
    "aws:s3/bucketWebsiteConfiguration:BucketWebsiteConfiguration": {"routingRules": "routing_rule"},
    "aws:securityhub/ConfigurationPolicyConfigurationPolicySecurityControlsConfiguration:ConfigurationPolicyConfigurationPolicySecurityControlsConfiguration": {
        "securityControlCustomParameters": "security_control_custom_parameter",
    },
    "aws:securityhub/ConfigurationPolicyConfigurationPolicySecurityControlsConfigurationSecurityControlCustomParameter:ConfigurationPolicyConfigurationPolicySecurityControlsConfigurationSecurityControlCustomParameter": {
        "parameters": "parameter",
    },
}
# The deprecated ``...V2`` aliases share their resource's renames.
for _tok in [t for t in TYPE_TABLE if t.endswith("V2")]:
    _base = _tok.replace("V2:", ":")[: -len("V2")]
    if _base in PROPERTY_RENAMES:
        PROPERTY_RENAMES[_tok] = PROPERTY_RENAMES[_base]

# Nested objects that Terraform itself models as an object attribute (plugin-framework
# SingleNestedAttribute), not as a block, so they are NOT wrapped in a list of one.
# Keyed like PROPERTY_RENAMES. None of the types the plans use has one today.
OBJECT_ATTRIBUTES: dict[str, set[str]] = {}

SANITIZE = re.compile(r"[^A-Za-z0-9_-]")


def snake(name: str) -> str:
    """Mechanical camelCase -> snake_case (``enableKeyRotation`` -> ``enable_key_rotation``)."""
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.lower()


def split_token(token: str) -> tuple[str, str, str, str]:
    """``aws:s3/bucketPolicy:BucketPolicy`` -> ("aws", "s3", "bucketPolicy", "BucketPolicy")."""
    pkg, rest = token.split(":", 1)
    modpath, cls = rest.rsplit(":", 1)
    mod, _, member = modpath.partition("/")
    return pkg, mod, member, cls


def fallback_tf_type(token: str) -> str:
    """The bridge's default rule: ``aws_<module prefix>_<snake member>`` -- right for most, not all."""
    _, mod, member, _ = split_token(token)
    return f"aws_{MODULE_PREFIX.get(mod, mod)}_{snake(member)}"


# --- the installed SDK as schema -------------------------------------------------------


def _registered_tokens() -> dict[str, tuple[str, str]]:
    """Every resource token the installed pulumi_aws registers -> (python module, class name).

    Read from the registrations ``import pulumi_aws`` makes with the Pulumi runtime (the
    resource-module table the engine uses to rehydrate resources); private to the SDK, so
    tests/test_tfplan.py checks it still finds every token of TYPE_TABLE."""
    import pulumi.runtime.rpc as rpc

    import pulumi_aws  # noqa: F401  (importing registers its resource modules)

    out: dict[str, tuple[str, str]] = {}
    for key, modules in getattr(rpc, "_RESOURCE_MODULES", {}).items():
        if not key.startswith("aws:"):
            continue
        for m in modules:
            info = getattr(m, "mod_info", None) or {}
            for tok, cls in info.get("classes", {}).items():
                out[tok] = (info["fqn"], cls)
    return out


_TOKENS: dict[str, tuple[str, str]] | None = None


def registered_tokens() -> dict[str, tuple[str, str]]:
    global _TOKENS
    if _TOKENS is None:
        _TOKENS = _registered_tokens()
    return _TOKENS


def args_class(token: str) -> type | None:
    """The ``*Args`` input class of a resource token (the resource module's own input type)."""
    import importlib
    import sys as _sys

    from pulumi import _types

    entry = registered_tokens().get(token)
    if entry is None:
        return None
    fqn, cls_name = entry
    cls = getattr(importlib.import_module(fqn), cls_name)
    mod = _sys.modules[cls.__module__]
    # The module defines the resource's args class (``XArgs``, or ``XInitArgs`` when a nested
    # type already has the name) and its private ``_XState``; we want the former.
    for obj_name, obj in vars(mod).items():
        if (isinstance(obj, type) and obj.__module__ == mod.__name__ and not obj_name.startswith("_")
                and _types.is_input_type(obj)):
            return obj
    return None


def nested_token(cls: type) -> str:
    """Pulumi token of a nested input type: ``pulumi_aws.s3._inputs.BucketLoggingTargetGrantArgs``
    -> ``aws:s3/BucketLoggingTargetGrant:BucketLoggingTargetGrant``."""
    mod = cls.__module__.removeprefix("pulumi_aws.").split(".")[0].rstrip("_")
    name = cls.__name__.removesuffix("Args")
    return f"aws:{mod}/{name}:{name}"


@dataclass(frozen=True)
class Shape:
    kind: str  # "scalar" | "list" | "map" | "object" | "any"
    inner: "Shape | None" = None
    cls: type | None = None  # for "object"
    scalar: type | None = None


ANY = Shape("any")


def _shape_of(tp: Any) -> Shape:
    from pulumi import _types

    tp = _types.unwrap_type(tp)
    origin = typing.get_origin(tp)
    if origin is typing.Union:
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        shapes = [_shape_of(m) for m in members]
        # Input[T] unions (T, Awaitable[T], Output[T]): take the first meaningful member.
        useful = [s for s in shapes if s.kind != "any"]
        if not useful:
            return ANY
        if any(s.kind == "scalar" and s.scalar is str for s in useful) and len({s.kind for s in useful}) > 1:
            return Shape("scalar", scalar=str)  # e.g. policy: str | PolicyDocument -> a JSON string
        return useful[0]
    if origin in (AbcSequence, list, typing.Sequence):
        (arg,) = typing.get_args(tp) or (Any,)
        return Shape("list", inner=_shape_of(arg))
    if origin in (AbcMapping, dict, typing.Mapping):
        args = typing.get_args(tp)
        return Shape("map", inner=_shape_of(args[1]) if len(args) == 2 else ANY)
    if isinstance(tp, type):
        if _types.is_input_type(tp):
            return Shape("object", cls=tp)
        if tp in (str, int, float, bool):
            return Shape("scalar", scalar=tp)
    return ANY


_PROPS: dict[type, dict[str, tuple[str, Shape]]] = {}


def properties(cls: type) -> dict[str, tuple[str, Shape]]:
    """camelCase name -> (SDK snake_case name, shape) for an input type."""
    from pulumi import _types

    if cls not in _PROPS:
        py = {p: py_name for py_name, p in _types.input_type_py_to_pulumi_names(cls).items()}
        _PROPS[cls] = {name: (py.get(name, snake(name)), _shape_of(tp)) for name, tp in _types.input_type_types(cls).items()}
    return _PROPS[cls]


# --- conversion --------------------------------------------------------------------------


@dataclass
class Conversion:
    """Result of converting one plan: the Terraform plan document and what could not be mapped."""

    plan: dict[str, Any]
    addresses: dict[str, str]  # Pulumi URN -> Terraform address
    unverified_types: dict[str, str] = field(default_factory=dict)  # token -> guessed type
    unknown_types: list[str] = field(default_factory=list)  # tokens pulumi_aws does not register
    skipped: Counter = field(default_factory=Counter)  # non-aws custom resources, by type
    unknown_properties: dict[str, set[str]] = field(default_factory=dict)  # tf type -> props not in the schema

    def notes(self) -> list[str]:
        out = []
        for tok, guess in sorted(self.unverified_types.items()):
            out.append(f"type {tok}: not in TYPE_TABLE, exported as {guess} by the default rule (verify, then add it)")
        for tok in sorted(set(self.unknown_types)):
            out.append(f"type {tok}: unknown to the installed pulumi_aws, not exported")
        for tok, n in sorted(self.skipped.items()):
            out.append(f"type {tok}: not an AWS resource, {n} skipped")
        for tf, props in sorted(self.unknown_properties.items()):
            out.append(f"{tf}: properties not in the SDK schema, snake_cased mechanically: {', '.join(sorted(props))}")
        return out


class Converter:
    def __init__(self) -> None:
        self.unknown_properties: dict[str, set[str]] = {}

    def tf_type(self, token: str) -> tuple[str | None, str]:
        """(terraform type or None, status) with status "table" | "fallback" | "unknown"."""
        if token in TYPE_TABLE:
            return TYPE_TABLE[token], "table"
        if token not in registered_tokens():
            return None, "unknown"
        return fallback_tf_type(token), "fallback"

    def convert_object(self, value: dict[str, Any], cls: type | None, holder: str, tf_type: str) -> dict[str, Any]:
        """Convert the properties of one object (a resource's inputs or a nested block)."""
        props = properties(cls) if cls is not None else {}
        renames = PROPERTY_RENAMES.get(holder, {})
        plain_objects = OBJECT_ATTRIBUTES.get(holder, set())
        out: dict[str, Any] = {}
        for key, val in value.items():
            if key in props:
                py_name, shape = props[key]
            else:
                py_name, shape = snake(key), ANY
                if cls is not None:
                    self.unknown_properties.setdefault(tf_type, set()).add(key)
            # the SDK escapes Python keywords ("lambda" -> "lambda_"); Terraform names never end in "_"
            tf_key = renames.get(key, py_name.rstrip("_"))
            out[tf_key] = self.convert_value(val, shape, tf_type, plain=key in plain_objects)
        return out

    def convert_value(self, val: Any, shape: Shape, tf_type: str, plain: bool = False) -> Any:
        """Convert one value by its schema shape. ``plain``: an object stays an object (an
        element of a list, or a Terraform object attribute); otherwise a single nested
        object becomes the list of one that Terraform uses for a block."""
        if val is None:
            return None
        if shape.kind == "object" and shape.cls is not None:
            if not isinstance(val, dict):
                return val
            obj = self.convert_object(val, shape.cls, nested_token(shape.cls), tf_type)
            return obj if plain else [obj]
        if shape.kind == "list":
            items = val if isinstance(val, list) else [val]
            return [self.convert_value(v, shape.inner or ANY, tf_type, plain=True) for v in items]
        if shape.kind == "map":
            if not isinstance(val, dict):
                return val
            inner = shape.inner or ANY
            # user keys are kept verbatim; only the values are converted
            return {k: self.convert_value(v, inner, tf_type) for k, v in val.items()}
        if shape.kind == "scalar":
            if shape.scalar is str and isinstance(val, (dict, list)):
                return json.dumps(val)  # a policy document given as an object: Terraform has a string
            if shape.scalar is int and isinstance(val, float) and val.is_integer():
                return int(val)
            if shape.scalar is bool and val in ("true", "false"):
                return val == "true"  # provider inputs arrive as strings
            return val
        # unknown shape: keep as is, snake-casing nothing (we cannot tell user keys from properties)
        return val


def _address_names(resources: list[dict[str, Any]], tf_types: dict[str, str]) -> dict[str, str]:
    """URN -> unique, stable Terraform resource name (the sanitized Pulumi name; a short hash
    of the URN is appended when two resources of one type would share a name)."""
    base = {}
    for r in resources:
        name = SANITIZE.sub("_", r["name"]) or "_"
        if not (name[0].isalpha() or name[0] == "_"):
            name = "_" + name
        base[r["urn"]] = name
    counts = Counter((tf_types[r["urn"]], base[r["urn"]]) for r in resources)
    out = {}
    for r in resources:
        urn = r["urn"]
        name = base[urn]
        if counts[(tf_types[urn], name)] > 1:
            name = f"{name}_{hashlib.sha256(urn.encode()).hexdigest()[:8]}"
        out[urn] = name
    return out


ACCOUNT_ID = re.compile(r"^\d{12}$")


def _reference(value: Any, dep: dict[str, Any], dep_address: str) -> str | None:
    """A Terraform reference for a top-level input whose value came from ``dep``, or None
    when the value is not simply that resource's id or ARN (e.g. a name that merely embeds
    an account id, or a JSON policy that mentions an ARN)."""
    if not isinstance(value, str) or not value or value.lstrip()[:1] in ("{", "["):
        return None
    rid = dep.get("id") or ""
    if not rid or ACCOUNT_ID.match(rid):
        return None  # organizations accounts: their id is embedded in everything
    if value == rid:
        return f"{dep_address}.id"
    if value.startswith("arn:") and rid in value:
        return f"{dep_address}.arn"
    return None


def _provider_alias(provider_ref: str, providers: dict[str, dict[str, Any]]) -> str | None:
    """Provider reference ``<urn>::<id>`` -> its alias (the provider resource's name)."""
    if not provider_ref:
        return None
    urn = provider_ref.rsplit("::", 1)[0]
    p = providers.get(urn)
    return SANITIZE.sub("_", p["name"]) if p else None


PROVIDER_TOKEN = "pulumi:providers:aws"
PROPERTY_RENAMES[PROVIDER_TOKEN] = {"assumeRoles": "assume_role", "assumeRoleWithWebIdentity": "assume_role_with_web_identity"}


def _provider_expressions(conv: "Converter", inputs: dict[str, Any]) -> dict[str, Any]:
    """Provider inputs (list and object values JSON-encoded by the engine) -> Terraform
    provider expressions, through the SDK's ``ProviderArgs`` schema."""
    from pulumi_aws import ProviderArgs

    decoded: dict[str, Any] = {}
    for key, val in inputs.items():
        if key == "version":
            continue
        if isinstance(val, str) and val[:1] in ("{", "["):
            try:
                val = json.loads(val)
            except ValueError:
                pass
        decoded[key] = val
    values = conv.convert_object(decoded, ProviderArgs, PROVIDER_TOKEN, "provider")
    return {k: {"constant_value": v} for k, v in values.items()}


def convert(doc: dict[str, Any]) -> Conversion:
    """Convert a recorded plan (``plan_stack`` document) into Terraform plan JSON."""
    resources = doc.get("resources", [])
    by_urn = {r["urn"]: r for r in resources}
    providers = {r["urn"]: r for r in resources if r["type"].startswith("pulumi:providers:")}
    conv = Converter()

    exported: list[dict[str, Any]] = []
    tf_types: dict[str, str] = {}
    unverified: dict[str, str] = {}
    unknown: list[str] = []
    skipped: Counter = Counter()
    for r in resources:
        if not r.get("custom") or r["type"].startswith("pulumi:providers:"):
            continue
        if not r["type"].startswith("aws:"):
            skipped[r["type"]] += 1
            continue
        tf, status = conv.tf_type(r["type"])
        if tf is None:
            unknown.append(r["type"])
            continue
        if status == "fallback":
            unverified[r["type"]] = tf
        tf_types[r["urn"]] = tf
        exported.append(r)

    names = _address_names(exported, tf_types)
    addresses = {urn: f"{tf_types[urn]}.{names[urn]}" for urn in names}

    planned, changes, conf_resources = [], [], []
    for r in exported:
        urn, tf = r["urn"], tf_types[r["urn"]]
        values = conv.convert_object(r.get("inputs", {}), args_class(r["type"]), r["type"], tf)
        expressions: dict[str, Any] = {}
        after_unknown: dict[str, Any] = {}
        # Top-level inputs that came from another exported resource become references.
        for prop, dep_urns in (r.get("property_dependencies") or {}).items():
            deps = [u for u in dep_urns if u in addresses]
            if len(deps) != 1:
                continue
            tf_key = _tf_key(r["type"], prop)
            if tf_key not in values:
                continue
            ref = _reference(r["inputs"].get(prop), by_urn[deps[0]], addresses[deps[0]])
            if ref:
                target = ref.rsplit(".", 1)[0]
                expressions[tf_key] = {"references": [ref, target]}
                del values[tf_key]
                after_unknown[tf_key] = True
        name = names[urn]
        alias = _provider_alias(r.get("provider", ""), providers)
        planned.append(
            {
                "address": addresses[urn],
                "mode": "managed",
                "type": tf,
                "name": name,
                "provider_name": PROVIDER_NAME,
                "schema_version": 0,
                "values": values,
                "sensitive_values": {},
            }
        )
        changes.append(
            {
                "address": addresses[urn],
                "mode": "managed",
                "type": tf,
                "name": name,
                "provider_name": PROVIDER_NAME,
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": values,
                    "after_unknown": after_unknown,
                    "before_sensitive": False,
                    "after_sensitive": {},
                },
            }
        )
        conf_resources.append(
            {
                "address": addresses[urn],
                "mode": "managed",
                "type": tf,
                "name": name,
                "provider_config_key": f"aws.{alias}" if alias else "aws",
                "expressions": expressions,
                "schema_version": 0,
            }
        )

    provider_config: dict[str, Any] = {"aws": {"name": "aws", "full_name": PROVIDER_NAME, "expressions": {}}}
    for p in providers.values():
        if not p["type"].startswith("pulumi:providers:aws"):
            continue
        alias = SANITIZE.sub("_", p["name"])
        provider_config[f"aws.{alias}"] = {
            "name": "aws",
            "full_name": PROVIDER_NAME,
            "alias": alias,
            "expressions": _provider_expressions(conv, p.get("inputs", {})),
        }

    plan = {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"provider_config": provider_config, "root_module": {"resources": conf_resources}},
        # Not Terraform: where each address came from, for mapping findings back to Pulumi.
        "pulumi": {
            "stack": doc.get("stack"),
            "resources": {addresses[r["urn"]]: {"urn": r["urn"], "type": r["type"]} for r in exported},
        },
    }
    out = Conversion(plan=plan, addresses=addresses, unverified_types=unverified, unknown_types=unknown, skipped=skipped)
    out.unknown_properties = conv.unknown_properties
    return out


def _tf_key(token: str, prop: str) -> str:
    """Terraform name of a top-level Pulumi property of ``token``."""
    if prop in PROPERTY_RENAMES.get(token, {}):
        return PROPERTY_RENAMES[token][prop]
    cls = args_class(token)
    if cls is not None and prop in properties(cls):
        return properties(cls)[prop][0].rstrip("_")
    return snake(prop)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def export(doc: dict[str, Any], out_dir: Path) -> tuple[Path, Conversion]:
    conversion = convert(doc)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"tfplan-{doc['stack']}.json"
    path.write_text(json.dumps(conversion.plan, indent=1) + "\n")
    return path, conversion


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--stack", default="dev")
    ap.add_argument("--plan", type=Path, help="a recorded build/plan-<stack>.json instead of planning now")
    ap.add_argument("--out", type=Path, default=REPO / "build")
    args = ap.parse_args(argv)
    if args.plan:
        doc = load(args.plan)
    else:
        from blueprint.offline.plan import EXIT_CONFIG, plan_stack

        code, doc = plan_stack(args.stack)
        if code == EXIT_CONFIG:
            print("configuration rejected; run `make plan` for details", file=sys.stderr)
            return 2
    path, conversion = export(doc, args.out)
    n = len(conversion.plan["planned_values"]["root_module"]["resources"])
    print(f"wrote {path} ({n} resources)")
    for note in conversion.notes():
        print(f"  note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
