"""Per-team delivery pipeline settings (the ``pipeline`` block of a team)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
CONNECTION_ARN = re.compile(r"^arn:aws:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection/[0-9a-f-]{36}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConnectionSource(_Strict):
    """GitHub, GitLab or Bitbucket through an AWS CodeConnections connection."""

    type: Literal["codeconnections"]
    connection_arn: str
    repository: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name")]
    branch: str = "main"

    @model_validator(mode="after")
    def _arn(self) -> "ConnectionSource":
        if not CONNECTION_ARN.match(self.connection_arn):
            raise ValueError(f"connection_arn {self.connection_arn!r} is not a CodeConnections connection ARN")
        return self


class CodeCommitSource(_Strict):
    """A CodeCommit repository created for the team; only the merger role may merge."""

    type: Literal["codecommit"]
    repository: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]
    branch: str = "main"
    required_approvals: int = Field(default=2, ge=1, le=10)


class S3Source(_Strict):
    type: Literal["s3"]
    object_key: str = "source.zip"


Source = Annotated[ConnectionSource | CodeCommitSource | S3Source, Field(discriminator="type")]


class PrivilegedBuild(_Strict):
    """CodeBuild privileged mode is off unless a project needs Docker, and says why."""

    reason: Annotated[str, Field(min_length=10)]


class Pipeline(_Strict):
    source: Source
    approvers: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")]] = Field(min_length=1)
    severity_threshold: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"] = "HIGH"
    compute_platform: Literal["Server", "Lambda", "ECS"] = "Lambda"
    deployment_config: str = Field(
        default="CodeDeployDefault.LambdaCanary10Percent5Minutes",
        description="CodeDeploy deployment configuration name used by the production deploy",
    )
    dast_target_url: Annotated[str, Field(pattern=r"^https://[^\s]+$", description="Staging URL the OWASP ZAP baseline scan targets")]
    privileged_build: PrivilegedBuild | None = None
    build_image: str = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
