"""Fan a CloudFormation template out to many accounts with a service-managed StackSet.

This is how the blueprint reaches workload accounts without a provider per account:
AWS's own engine deploys the template, auto-deploys it to accounts that join or move
into a targeted OU, and applies per-account parameter overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from blueprint.config import StackSetRollout


@dataclass
class AccountOverride:
    """Per-account parameter values. AWS addresses an account inside an OU target by
    intersecting the OU with the account list."""

    key: str
    account_id: pulumi.Input[str]
    ou_id: pulumi.Input[str]
    parameters: dict[str, pulumi.Input[str]]


@dataclass
class StackSetFanOutArgs:
    stack_set_name: str
    description: str
    template_body: pulumi.Input[str]
    parameters: dict[str, pulumi.Input[str]]
    regions: list[str]
    home_region: str
    rollout: StackSetRollout
    # Either whole OUs (auto-deployment to every account in them) ...
    target_ou_ids: list[pulumi.Input[str]] = field(default_factory=list)
    # ... and/or single accounts with their own parameter values.
    accounts: list[AccountOverride] = field(default_factory=list)
    # Service-managed StackSets never deploy to the management account; give it a stack too.
    include_management: bool = False
    depends_on: list[pulumi.Resource] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


class StackSetFanOut(pulumi.ComponentResource):
    def __init__(self, name: str, args: StackSetFanOutArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:fanout:StackSetFanOut", name, None, opts)
        r = args.rollout
        # Account-global resources (IAM roles) are created in the home region; others refer to them.
        region_orders = [args.home_region, *[x for x in args.regions if x != args.home_region]]
        self.stack_set = aws.cloudformation.StackSet(
            f"{name}-stackset",
            name=args.stack_set_name,
            description=args.description,
            # No `region`: a StackSetInstance has no per-resource region of its own in pulumi-aws 7
            # (its `region` is a deprecated alias of the target region), so its API calls go to the
            # provider's region, and the set must live there too or the instances cannot find it.
            permission_model="SERVICE_MANAGED",
            call_as="SELF",
            auto_deployment=aws.cloudformation.StackSetAutoDeploymentArgs(enabled=True, retain_stacks_on_account_removal=False),
            managed_execution=aws.cloudformation.StackSetManagedExecutionArgs(active=True),
            capabilities=["CAPABILITY_NAMED_IAM"],
            operation_preferences=aws.cloudformation.StackSetOperationPreferencesArgs(
                max_concurrent_percentage=r.max_concurrent_percentage,
                failure_tolerance_percentage=r.failure_tolerance_percentage,
                region_concurrency_type=r.region_concurrency_type,
                region_orders=region_orders,
            ),
            template_body=args.template_body,
            parameters=args.parameters,
            tags=args.tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=args.depends_on,
                # AWS fills this in for service-managed sets; diffing it would churn forever.
                ignore_changes=["administrationRoleArn"],
            ),
        )
        instance_prefs = aws.cloudformation.StackSetInstanceOperationPreferencesArgs(
            max_concurrent_percentage=r.max_concurrent_percentage,
            failure_tolerance_percentage=r.failure_tolerance_percentage,
            region_concurrency_type=r.region_concurrency_type,
            region_orders=region_orders,
        )
        self.instances: list[aws.cloudformation.StackSetInstance] = []
        for region in args.regions:
            if args.target_ou_ids:
                self.instances.append(
                    aws.cloudformation.StackSetInstance(
                        f"{name}-ous-{region}",
                        stack_set_name=self.stack_set.name,
                        # The target region only: see the StackSet above for where the instance is managed.
                        stack_set_instance_region=region,
                        call_as="SELF",
                        deployment_targets=aws.cloudformation.StackSetInstanceDeploymentTargetsArgs(organizational_unit_ids=args.target_ou_ids),
                        operation_preferences=instance_prefs,
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
            for acct in args.accounts:
                self.instances.append(
                    aws.cloudformation.StackSetInstance(
                        f"{name}-{acct.key}-{region}",
                        stack_set_name=self.stack_set.name,
                        stack_set_instance_region=region,
                        call_as="SELF",
                        deployment_targets=aws.cloudformation.StackSetInstanceDeploymentTargetsArgs(
                            organizational_unit_ids=[acct.ou_id], accounts=[acct.account_id], account_filter_type="INTERSECTION"
                        ),
                        parameter_overrides=acct.parameters,
                        operation_preferences=instance_prefs,
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
            if args.include_management:
                aws.cloudformation.Stack(
                    f"{name}-management-{region}",
                    name=args.stack_set_name,
                    region=region,
                    template_body=args.template_body,
                    parameters=args.parameters,
                    capabilities=["CAPABILITY_NAMED_IAM"],
                    tags=args.tags,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=args.depends_on),
                )
        self.register_outputs({"stack_set": self.stack_set.name})
