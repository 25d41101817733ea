"""One golden image: components, recipe, build infrastructure, distribution, gate workflow,
pipeline and lifecycle. Onboarding an image (a config block) adds one of these; nothing shared changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from blueprint.config import GoldenImage
from blueprint.images import documents, naming

ib = aws.imagebuilder


@dataclass
class GoldenImagePipelineArgs:
    image: GoldenImage
    home_region: str
    org_arn: pulumi.Input[str]  # AMIs are shared with the organization, never copied
    key_arns: dict[str, pulumi.Input[str]]  # region -> the factory's AMI key there
    instance_profile: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    security_group_id: pulumi.Input[str]
    build_topic_arn: pulumi.Input[str]
    gate_topic_arn: pulumi.Input[str]
    log_bucket: pulumi.Input[str]
    workflow_role_arn: pulumi.Input[str]
    lifecycle_role_arn: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)


class GoldenImagePipeline(pulumi.ComponentResource):
    def __init__(self, name: str, args: GoldenImagePipelineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:image_factory_image:GoldenImagePipeline", name, None, opts)
        img, region = args.image, args.home_region
        child = pulumi.ResourceOptions(parent=self)
        tags = {**args.tags, "golden-image": img.name}
        home_key = args.key_arns[region]
        components = [ib.ImageRecipeComponentArgs(component_arn=naming.aws_component_arn(region, c)) for c in img.aws_components]
        for c in img.components:
            comp = ib.Component(
                f"{name}-{c}",
                name=f"{img.name}-{c}",
                region=region,
                platform="Linux",
                version=img.version,
                data=documents.component_document(c),
                kms_key_id=home_key,
                # A new recipe version replaces the component; old images still reference the old one.
                skip_destroy=True,
                tags=tags,
                opts=child,
            )
            components.append(ib.ImageRecipeComponentArgs(component_arn=comp.arn))
        self.recipe = ib.ImageRecipe(
            f"{name}-recipe",
            name=img.name,
            region=region,
            version=img.version,
            description=img.description or f"secure-org golden image {img.name}",
            parent_image=f"ssm:{img.parent_image_parameter}",
            components=components,
            block_device_mappings=[ib.ImageRecipeBlockDeviceMappingArgs(
                device_name="/dev/xvda",
                ebs=ib.ImageRecipeBlockDeviceMappingEbsArgs(encrypted="true", kms_key_id=home_key, volume_size=img.volume_size_gb,
                                                            volume_type="gp3", delete_on_termination="true"),
            )],
            systems_manager_agent=ib.ImageRecipeSystemsManagerAgentArgs(uninstall_after_build=False),
            tags=tags,
            opts=child,
        )
        self.infrastructure = ib.InfrastructureConfiguration(
            f"{name}-infra",
            name=img.name,
            region=region,
            description=f"Build and test instances for {img.name}",
            instance_profile_name=args.instance_profile,
            instance_types=list(img.instance_types),
            subnet_id=args.subnet_id,
            security_group_ids=[args.security_group_id],
            sns_topic_arn=args.build_topic_arn,
            terminate_instance_on_failure=True,
            instance_metadata_options=ib.InfrastructureConfigurationInstanceMetadataOptionsArgs(http_tokens="required", http_put_response_hop_limit=2),
            logging=ib.InfrastructureConfigurationLoggingArgs(s3_logs=ib.InfrastructureConfigurationLoggingS3LogsArgs(
                s3_bucket_name=args.log_bucket, s3_key_prefix=f"image-builder/{img.name}")),
            resource_tags=tags,
            tags=tags,
            opts=child,
        )
        dists = []
        for r in img.regions or [region]:
            dists.append(ib.DistributionConfigurationDistributionArgs(
                region=r,
                ami_distribution_configuration=ib.DistributionConfigurationDistributionAmiDistributionConfigurationArgs(
                    name=f"{img.name}-{{{{ imagebuilder:buildDate }}}}",
                    description=f"secure-org golden image {img.name}",
                    kms_key_id=args.key_arns[r],
                    ami_tags={**tags, "secure-org:recipe-version": img.version},
                    # Shared, not copied: a copy is owned by the target account and would pass
                    # neither ec2:Owner (approved-amis-only) nor Allowed AMIs.
                    launch_permission=ib.DistributionConfigurationDistributionAmiDistributionConfigurationLaunchPermissionArgs(
                        organization_arns=[args.org_arn]),
                ),
                ssm_parameter_configurations=[ib.DistributionConfigurationDistributionSsmParameterConfigurationArgs(
                    parameter_name=naming.latest_parameter(img.name), data_type="aws:ec2:image")],
            ))
        self.distribution = ib.DistributionConfiguration(f"{name}-distribution", name=img.name, region=region,
                                                         description=f"Share {img.name} with the organization", distributions=dists,
                                                         tags=tags, opts=child)
        self.gate_workflow = ib.Workflow(
            f"{name}-gate",
            name=f"{img.name}-scan-gate",
            region=region,
            type="TEST",
            version=img.version,
            description=f"Tests {img.name}, collects Inspector findings, waits for the scan gate",
            data=pulumi.Output.from_input(args.gate_topic_arn).apply(documents.gate_workflow),
            kms_key_id=home_key,
            tags=tags,
            opts=child,
        )
        self.pipeline = ib.ImagePipeline(
            f"{name}-pipeline",
            name=img.name,
            region=region,
            description=f"Builds, scans, gates and shares {img.name}",
            image_recipe_arn=self.recipe.arn,
            infrastructure_configuration_arn=self.infrastructure.arn,
            distribution_configuration_arn=self.distribution.arn,
            execution_role=args.workflow_role_arn,
            schedule=ib.ImagePipelineScheduleArgs(schedule_expression=img.schedule,
                                                  pipeline_execution_start_condition="EXPRESSION_MATCH_AND_DEPENDENCY_UPDATES_AVAILABLE"),
            image_scanning_configuration=ib.ImagePipelineImageScanningConfigurationArgs(image_scanning_enabled=True),
            image_tests_configuration=ib.ImagePipelineImageTestsConfigurationArgs(image_tests_enabled=True),
            workflows=[
                ib.ImagePipelineWorkflowArgs(workflow_arn=naming.build_workflow_arn(region), on_failure="ABORT"),
                ib.ImagePipelineWorkflowArgs(workflow_arn=self.gate_workflow.arn, on_failure="ABORT"),
            ],
            enhanced_image_metadata_enabled=True,
            status="ENABLED",
            tags={**tags, "secure-org:severity-threshold": img.severity_threshold},
            opts=child,
        )
        # Newest `keep` stay; older ones are deprecated (Allowed AMIs and consumers see it),
        # and deleted with their snapshots after delete_after_days.
        self.lifecycle = ib.LifecyclePolicy(
            f"{name}-lifecycle",
            name=img.name,
            region=region,
            description=f"Deprecate {img.name} beyond the newest {img.keep}, delete after {img.delete_after_days} days",
            execution_role=args.lifecycle_role_arn,
            resource_type="AMI_IMAGE",
            status="ENABLED",
            policy_details=[
                ib.LifecyclePolicyPolicyDetailArgs(
                    action=ib.LifecyclePolicyPolicyDetailActionArgs(type="DEPRECATE"),
                    filter=ib.LifecyclePolicyPolicyDetailFilterArgs(type="COUNT", value=img.keep),
                ),
                ib.LifecyclePolicyPolicyDetailArgs(
                    action=ib.LifecyclePolicyPolicyDetailActionArgs(
                        type="DELETE", include_resources=ib.LifecyclePolicyPolicyDetailActionIncludeResourcesArgs(amis=True, snapshots=True)),
                    filter=ib.LifecyclePolicyPolicyDetailFilterArgs(type="AGE", value=img.delete_after_days, unit="DAYS", retain_at_least=img.keep),
                ),
            ],
            resource_selection=ib.LifecyclePolicyResourceSelectionArgs(
                recipes=[ib.LifecyclePolicyResourceSelectionRecipeArgs(name=img.name, semantic_version=img.version)]),
            tags=tags,
            opts=child,
        )
        self.register_outputs({"pipeline": self.pipeline.arn, "recipe": self.recipe.arn, "approved_parameter": naming.approved_parameter(img.name)})
