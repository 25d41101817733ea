"""Documents the factory registers: custom components, the scan-gate test workflow, key statements."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from blueprint.images import naming

COMPONENT_DIR = Path(__file__).resolve().parent / "components"
GATE_STEP = "ScanGate"
# How long a build waits for the gate; no answer means the step times out and the image fails.
GATE_TIMEOUT_SECONDS = 6 * 3600


def component_document(name: str) -> str:
    """A custom AWSTOE component, checked to be YAML with build phases (a typo fails the plan)."""
    text = (COMPONENT_DIR / f"{name}.yaml").read_text()
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not doc.get("phases"):
        raise ValueError(f"blueprint/images/components/{name}.yaml has no phases")
    return text


def gate_workflow(topic_arn: str) -> str:
    """The TEST workflow: AWS's test-image steps, scan findings collected, then WaitForAction.

    Image Builder 7.51.1 cannot set the native scanResultCondition, so the last step waits
    for the gate Lambda (subscribed to ``topic_arn``) to RESUME or STOP the build. A timeout
    fails the image: the gate is fail-closed even when it never answers.
    """
    instance = "$.stepOutputs.LaunchTestInstance.instanceId"
    doc: dict[str, Any] = {
        "name": "secure-org-scan-gate",
        "description": "Test the image, collect its Inspector findings, wait for the secure-org gate",
        "schemaVersion": 1.0,
        "steps": [
            {"name": "LaunchTestInstance", "action": "LaunchInstance", "onFailure": "Abort", "inputs": {"waitFor": "ssmAgent"}},
            {"name": "CollectImageMetadata", "action": "CollectImageMetadata", "onFailure": "Abort", "inputs": {"instanceId.$": instance}},
            # Abort, not Continue: an image whose findings were not collected never passes.
            {"name": "CollectImageScanFindings", "action": "CollectImageScanFindings", "onFailure": "Abort",
             "inputs": {"instanceId.$": instance}},
            {"name": "RunTestComponents", "action": "ExecuteComponents", "onFailure": "Abort", "inputs": {"instanceId.$": instance}},
            {"name": "TerminateTestInstance", "action": "TerminateInstance", "onFailure": "Continue", "inputs": {"instanceId.$": instance}},
            {"name": GATE_STEP, "action": "WaitForAction", "onFailure": "Abort", "timeoutSeconds": GATE_TIMEOUT_SECONDS,
             "inputs": {"snsTopicArn": topic_arn}},
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def key_statements(org_id: Any, factory_account: Any) -> list[dict[str, Any]]:
    """The AMI key is usable by the organization, never beyond it.

    Consumers decrypt EBS snapshots of shared AMIs; EC2 creates grants for the volumes
    (GrantIsForAWSResource). Auto Scaling's service-linked role cannot use a cross-account
    key through its fixed IAM policy, so the per-account baseline's grant role may create
    exactly that grant, for exactly that grantee.
    """
    org = {"aws:PrincipalOrgID": org_id}
    return [
        {"Sid": "OrgUsesGoldenAmiKey", "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:ReEncrypt*", "kms:GenerateDataKeyWithoutPlaintext"],
         "Resource": "*", "Condition": {"StringEquals": org}},
        {"Sid": "OrgEbsGrants", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:CreateGrant", "Resource": "*",
         "Condition": {"StringEquals": org, "Bool": {"kms:GrantIsForAWSResource": "true"}}},
        {"Sid": "BaselineGrantsAutoScalingRole", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:CreateGrant", "Resource": "*",
         "Condition": {"StringEquals": org,
                       "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::*:role/{naming.KEY_GRANT_ROLE_PREFIX}*"},
                       "StringLike": {"kms:GranteePrincipal": f"arn:aws:iam::*:role/{naming.AUTOSCALING_ROLE}"}}},
        # Image Builder (its service-linked role) encrypts snapshots and publishes to the
        # encrypted topics; named by ARN pattern because the role may not exist yet.
        {"Sid": "ImageBuilderUsesKey", "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:CreateGrant"],
         "Resource": "*",
         "Condition": {"StringEquals": {"aws:PrincipalAccount": factory_account},
                       "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/aws-service-role/imagebuilder.amazonaws.com/AWSServiceRoleForImageBuilder"}}},
    ]
