"""components/guardrails.py: one policy per packed bin, deploy-time values filled, attached to its target."""

import json

import pulumi

from blueprint import packer
from blueprint.guardrails import TargetPolicies, account_id
from blueprint.policies import Deferred, minify
from components.guardrails import Guardrails, GuardrailsArgs
from tests.conftest import by_name, run_component

STMT = {
    "Sid": "DenyForeignImages",
    "Effect": "Deny",
    "Action": "ec2:RunInstances",
    "Resource": "arn:aws:ec2:*::image/*",
    "Condition": {"StringNotEquals": {"ec2:Owner": "${image_factory_account_id}"}, "ArnNotLike": {"aws:PrincipalARN": "${exempt}"}},
}
VALUES = {
    "image_factory_account_id": account_id("image_factory"),
    "exempt": ["arn:aws:iam::*:role/BreakGlass", Deferred("account:pay-prod", "0" * 12, "arn:aws:iam::{}:role/Incident")],
}


def planned(target: str, n_bins: int = 1) -> TargetPolicies:
    from blueprint.policies import render

    units = []
    for i in range(n_bins):
        s = dict(STMT, Sid=f"S{i}", Action=[f"ec2:Action{i}x{j}" for j in range(20)] + ["ec2:RunInstances"], Resource=f"arn:aws:ec2:*::image/ami-{i}")
        units.append(packer.Unit("approved-amis-only", s, minify(render(s, VALUES))))
    packed = packer.pack("service_control_policies", target, units, 1200, 10)
    return TargetPolicies("service_control_policies", target, packed, VALUES)


def build():
    Guardrails(
        "g",
        GuardrailsArgs(
            org_name="acme",
            planned=[planned("Root"), planned("Workloads/Prod", n_bins=3)],
            root_id="r-abcd",
            ou_ids={"Workloads/Prod": "ou-abcd-prod0000"},
            deferred={"account:image_factory": pulumi.Output.from_input("222222222222"), "account:pay-prod": pulumi.Output.from_input("333333333333")},
        ),
    )


def test_one_policy_and_one_attachment_per_bin():
    res = by_name(run_component(build))
    names = sorted(n for n, r in res.items() if r["type"] == "aws:organizations/policy:Policy")
    assert names == ["g-scp-root-1", "g-scp-workloads-prod-1", "g-scp-workloads-prod-2", "g-scp-workloads-prod-3"]
    assert res["g-scp-root-1-attach"]["inputs"]["targetId"] == "r-abcd"
    assert res["g-scp-workloads-prod-2-attach"]["inputs"]["targetId"] == "ou-abcd-prod0000"
    assert res["g-scp-root-1"]["inputs"]["name"] == "acme-scp-root-1"
    assert res["g-scp-root-1"]["inputs"]["type"] == "SERVICE_CONTROL_POLICY"
    assert "approved-amis-only" in res["g-scp-root-1"]["inputs"]["description"]


def test_deploy_time_ids_replace_stand_ins():
    res = by_name(run_component(build))
    doc = json.loads(res["g-scp-root-1"]["inputs"]["content"])
    (stmt,) = doc["Statement"]
    assert stmt["Condition"]["StringNotEquals"]["ec2:Owner"] == "222222222222"
    assert stmt["Condition"]["ArnNotLike"]["aws:PrincipalARN"] == ["arn:aws:iam::*:role/BreakGlass", "arn:aws:iam::333333333333:role/Incident"]
    assert res["g-scp-root-1"]["inputs"]["content"] == minify(doc)
