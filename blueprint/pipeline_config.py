"""Per-team delivery pipeline settings (the ``pipeline`` block of a team)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from blueprint.deployment_config import Deployment

SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
# Duties of the pipeline (the "Security of the pipeline" article), each an IAM role in the
# tooling account assumed from an IAM Identity Center permission set of the same duty.
DUTIES = ("viewer", "committer", "merger", "build_owner", "iac_owner", "prod_deployer")
# OWASP ZAP 2.17.0 (zaproxy/zap-stable), pinned by digest: a tag can be re-pointed, a digest cannot.
DEFAULT_DAST_IMAGE = "zaproxy/zap-stable@sha256:8d387b1a63e3425beef4846e39719f5af2a787753af2d8b6558c6257d7a577a2"
PERMISSION_SET_RE = re.compile(r"^[\w+=,.@-]{1,32}$")
ENV_NAME_RE = r"^[A-Z][A-Z0-9_]{0,63}$"
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


class BuildSecret(_Strict):
    """A secret the team's build reads: only a reference is in config, never the value."""

    store: Literal["parameter-store", "secrets-manager"]
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,128}$", description="Under the team's namespace: /<team>/build/<name> or <team>/build/<name>")]


class PrivilegedBuild(_Strict):
    """CodeBuild privileged mode is off unless a project needs Docker, and says why."""

    reason: Annotated[str, Field(min_length=10)]


class Pipeline(_Strict):
    source: Source
    approvers: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")]] = Field(min_length=1)
    severity_threshold: Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"] = "HIGH"
    deployment: Deployment = Field(
        default_factory=lambda: Deployment(),
        description="How Staging (test) and Production (prod) deploy: platform, strategy per environment, rollback alarms, target",
    )
    dast_target_url: Annotated[str, Field(pattern=r"^https://[^\s]+$", description="Staging URL the OWASP ZAP baseline scan targets")]
    privileged_build: PrivilegedBuild | None = None
    build_image: str = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
    dast_image: Annotated[
        str,
        Field(pattern=r"^[a-z0-9./_-]+(:[0-9]+)?/?[a-z0-9./_-]*@sha256:[0-9a-f]{64}$", description="OWASP ZAP image for the DAST CodeBuild project, pinned by digest"),
    ] = DEFAULT_DAST_IMAGE
    build_secrets: dict[Annotated[str, Field(pattern=ENV_NAME_RE)], BuildSecret] = Field(
        default_factory=dict,
        description="Build env vars resolved at build time from Parameter Store (/<team>/build/<name>) or Secrets Manager (<team>/build/<name>); never plaintext",
    )
    sso_permission_sets: dict[Literal[DUTIES], Annotated[str, Field(pattern=PERMISSION_SET_RE.pattern)]] = Field(  # type: ignore[valid-type]
        default_factory=dict,
        description="IAM Identity Center permission set allowed to assume each duty role; default '<team>-<duty>' (e.g. payments-prod-deployer)",
    )
