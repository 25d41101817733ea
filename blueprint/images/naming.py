"""Names the factory, the gate, the baseline and the guardrails must agree on.

The guardrails exempt the gate and lifecycle roles by name (guardrails.exempt_roles), the
per-account baseline's grant role is named in the AMI key's policy, and consumers find an
image by its approved parameter. One place, so a rename cannot split them.
"""

from __future__ import annotations

PREFIX = "secure-org"
GATE_NAME = f"{PREFIX}-ami-gate"  # the gate Lambda and its role
LIFECYCLE_ROLE = f"{PREFIX}-image-lifecycle"
WORKFLOW_ROLE = f"{PREFIX}-image-workflow"
BUILD_ROLE = f"{PREFIX}-image-build"
GATE_TOPIC = f"{PREFIX}-ami-gate"  # WaitForAction publishes here; the gate subscribes
ALERT_TOPIC = f"{PREFIX}-ami-alerts"  # revocations and gate failures
BUILD_TOPIC = f"{PREFIX}-image-builds"  # infrastructure configuration notifications
SHARE_NAME = f"{PREFIX}-golden-ami-parameters"
# The per-account baseline's grant function role (one per region, like the baseline's own).
KEY_GRANT_ROLE_PREFIX = f"{PREFIX}-ami-key-grant-"
KEY_GRANT_NAME = f"{PREFIX}-golden-ami-autoscaling"
AUTOSCALING_ROLE = "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
PARAMETER_ROOT = "/golden-ami"
# Roles the guardrails must exempt: the gate changes launch permissions, deprecates and
# writes /golden-ami/*; lifecycle deletes images (protect-security-services).
EXEMPT_ROLES = (GATE_NAME, LIFECYCLE_ROLE)


def approved_parameter(image: str) -> str:
    """What consumers launch from: written only by the gate, shared with the organization."""
    return f"{PARAMETER_ROOT}/{image}/approved"


def latest_parameter(image: str) -> str:
    """What the distribution writes (factory account only): the newest distributed AMI."""
    return f"{PARAMETER_ROOT}/{image}/latest"


def aws_component_arn(region: str, name: str) -> str:
    return f"arn:aws:imagebuilder:{region}:aws:component/{name}/x.x.x"


def build_workflow_arn(region: str) -> str:
    return f"arn:aws:imagebuilder:{region}:aws:workflow/build/build-image/x.x.x"
