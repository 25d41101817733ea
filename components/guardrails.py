"""Guardrail policies (SCP, RCP, tag, EC2 declarative), packed before deploy and attached to OUs."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from blueprint import policies
from blueprint.config import ROOT
from blueprint.guardrails import TargetPolicies


@dataclass
class GuardrailsArgs:
    org_name: str
    planned: list[TargetPolicies]
    root_id: pulumi.Input[str]
    ou_ids: dict[str, pulumi.Input[str]]
    deferred: dict[str, pulumi.Input[str]]  # "org_id", "account:<key>" -> deploy-time values
    tags: dict[str, str] = field(default_factory=dict)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def _renamed(suffix: str, tp: TargetPolicies, old_target: str) -> str:
    """An attachment suffix ("<team>-<env>") as it was under the team's earlier name."""
    new_team, old_team = tp.target.split(":", 1)[1], old_target.split(":", 1)[1]
    return old_team + suffix[len(new_team):] if suffix.startswith(new_team + "-") else suffix


def slug(target: str) -> str:
    return target.lower().replace("/", "-").replace(" ", "-").replace(":", "-")


class Guardrails(pulumi.ComponentResource):
    """One ``organizations.Policy`` per packed bin, attached to its target.

    Packing was decided from config (blueprint.guardrails.plan), so what registers here
    is already within size and attachment limits.
    """

    def __init__(self, name: str, args: GuardrailsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("blueprint:guardrails:Guardrails", name, None, opts)
        self.policy_ids: dict[str, pulumi.Output[str]] = {}
        for tp in args.planned:
            targets = (
                [(k.split(":", 1)[1], args.deferred[k]) for k in tp.attach_to]
                if tp.attach_to
                else [("", args.root_id if tp.target == ROOT else args.ou_ids[tp.target])]
            )
            keys = sorted(policies.deferred_keys(tp.values))
            resolved = pulumi.Output.all(**{k: args.deferred[k] for k in keys}) if keys else pulumi.Output.from_input({})
            short = policies.SHORT[tp.kind]
            for i in range(len(tp.packed.bins)):
                label = f"{short}-{slug(tp.target)}-{i + 1}"
                old_labels = [f"{short}-{slug(t)}-{i + 1}" for t in tp.previous_targets]
                content = resolved.apply(
                    lambda real, tp=tp, i=i: tp.packed.document(i, policies.substitute_deferred(tp.values, real))
                )
                sources = ", ".join(tp.packed.sources(i))
                policy = aws.organizations.Policy(
                    f"{name}-{label}",
                    name=f"{args.org_name}-{label}",
                    type=tp.aws_type,
                    description=f"Guardrails: {sources}"[:512],
                    content=content,
                    tags={**args.tags, "guardrail-target": tp.target},
                    opts=pulumi.ResourceOptions(
                        parent=self,
                        depends_on=args.depends_on,
                        aliases=[pulumi.Alias(name=f"{name}-{old}") for old in old_labels],
                    ),
                )
                for suffix, target_id in targets:
                    aws.organizations.PolicyAttachment(
                        f"{name}-{label}-attach" + (f"-{suffix}" if suffix else ""),
                        policy_id=policy.id,
                        target_id=target_id,
                        opts=pulumi.ResourceOptions(
                            parent=self,
                            aliases=[pulumi.Alias(name=f"{name}-{old}-attach" + (f"-{_renamed(suffix, tp, t)}" if suffix else ""))
                                     for old, t in zip(old_labels, tp.previous_targets)],
                        ),
                    )
                self.policy_ids[label] = policy.id
        self.register_outputs({"policy_ids": self.policy_ids})
