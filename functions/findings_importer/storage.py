"""Reading raw reports (inline, S3, CodePipeline artifact zip) and archiving them.

Archived reports are written with SSE-KMS under the customer managed key from
``REPORT_KMS_KEY_ARN`` and a deterministic key::

    reports/<team>/<pipeline>/<execution_id>/<stage>-<tool>.json

Raw reports can contain secrets (gitleaks without ``--redact`` prints them),
which is why they are kept only in the KMS-encrypted report bucket and never
copied into Security Hub.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import BotoCoreError, ClientError

if __package__:
    from .errors import ReportLoadError
else:  # flat Lambda bundle
    from errors import ReportLoadError

DEFAULT_MAX_REPORT_BYTES = 50 * 1024 * 1024
REPORT_EXTENSIONS = (".json", ".sarif")


@dataclass
class RawReport:
    body: bytes
    source: str  # where it came from, for logs and metadata

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class ReportTooLarge(ReportLoadError):
    def __init__(self, message: str, bucket: str | None = None, key: str | None = None):
        super().__init__(message)
        self.bucket, self.key = bucket, key


_SEGMENT = re.compile(r"[^A-Za-z0-9._=-]+")


def key_segment(value: Any, limit: int = 128) -> str:
    text = _SEGMENT.sub("_", str(value or "")).strip("._")
    return text[:limit] or "unknown"


def report_key(team: Any, pipeline: Any, execution_id: Any, stage: Any, tool: Any, suffix: str = "json") -> str:
    return (
        f"reports/{key_segment(team)}/{key_segment(pipeline)}/{key_segment(execution_id)}/"
        f"{key_segment(stage)}-{key_segment(tool)}.{suffix}"
    )


def _client_error(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Unknown')}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def load_inline(body: Any, max_bytes: int) -> RawReport:
    if isinstance(body, (dict, list)):
        data = json.dumps(body).encode("utf-8")
    elif isinstance(body, str):
        data = body.encode("utf-8")
    elif isinstance(body, bytes):
        data = body
    else:
        raise ReportLoadError(f"report_body must be a JSON string, got {type(body).__name__}")
    if len(data) > max_bytes:
        raise ReportTooLarge(f"inline report is {len(data)} bytes, above the {max_bytes} byte limit")
    return RawReport(data, "inline")


def load_s3(s3: Any, bucket: str, key: str, max_bytes: int, version_id: str | None = None) -> RawReport:
    kwargs = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        obj = s3.get_object(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise ReportLoadError(f"cannot read report s3://{bucket}/{key}: {_client_error(exc)}") from None
    length = obj.get("ContentLength") or 0
    if length > max_bytes:
        obj["Body"].close()
        raise ReportTooLarge(f"report s3://{bucket}/{key} is {length} bytes, above the {max_bytes} byte limit", bucket, key)
    return RawReport(obj["Body"].read(), f"s3://{bucket}/{key}")


def load_codepipeline_artifact(
    job_data: dict,
    s3_factory: Callable[[dict | None], Any],
    max_bytes: int,
    artifact_name: str | None = None,
    report_path: str | None = None,
) -> RawReport:
    """Extract the report from a CodePipeline input artifact (a zip in S3)."""
    artifacts = job_data.get("inputArtifacts") or []
    if not artifacts:
        raise ReportLoadError("the CodePipeline action has no input artifact and no 'report' was given")
    if artifact_name:
        matching = [a for a in artifacts if a.get("name") == artifact_name]
        if not matching:
            names = ", ".join(str(a.get("name")) for a in artifacts)
            raise ReportLoadError(f"input artifact {artifact_name!r} not found (have: {names})")
        artifact = matching[0]
    else:
        artifact = artifacts[0]
    try:
        location = artifact["location"]["s3Location"]
        bucket, key = location["bucketName"], location["objectKey"]
    except (KeyError, TypeError):
        raise ReportLoadError(f"input artifact {artifact.get('name')!r} has no S3 location") from None
    s3 = s3_factory(job_data.get("artifactCredentials"))
    raw = load_s3(s3, bucket, key, max_bytes)
    if not zipfile.is_zipfile(io.BytesIO(raw.body)):
        if report_path:
            raise ReportLoadError(f"input artifact s3://{bucket}/{key} is not a zip, cannot select {report_path!r}")
        return raw
    with zipfile.ZipFile(io.BytesIO(raw.body)) as archive:
        files = [i for i in archive.infolist() if not i.is_dir()]
        if report_path:
            wanted = _member_name(report_path)
            chosen = [i for i in files if _member_name(i.filename) == wanted]
            if not chosen:
                raise ReportLoadError(f"{report_path!r} is not in input artifact {artifact.get('name')!r}")
        else:
            chosen = files if len(files) == 1 else [i for i in files if i.filename.lower().endswith(REPORT_EXTENSIONS)]
            if len(chosen) != 1:
                listing = ", ".join(i.filename for i in files[:20])
                raise ReportLoadError(
                    f"cannot tell which file of input artifact {artifact.get('name')!r} is the report "
                    f"(set 'report_path'); it contains: {listing}"
                )
        info = chosen[0]
        if info.file_size > max_bytes:  # zip bomb guard
            raise ReportTooLarge(f"{info.filename} is {info.file_size} bytes uncompressed, above {max_bytes}")
        with archive.open(info) as handle:
            body = handle.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise ReportTooLarge(f"{info.filename} is above {max_bytes} bytes uncompressed")
    return RawReport(body, f"codepipeline-artifact://{artifact.get('name')}/{info.filename}")


def _member_name(name: str) -> str:
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def _ascii(value: Any, limit: int = 256) -> str:
    return str(value).encode("ascii", "backslashreplace").decode("ascii")[:limit]


def store_report(
    s3: Any,
    bucket: str,
    key: str,
    body: bytes,
    kms_key_arn: str,
    metadata: dict[str, Any],
    expected_owner: str | None = None,
) -> str:
    """Write ``body`` with SSE-KMS; returns the ``s3://`` URI."""
    kwargs = {
        "Bucket": bucket,
        "Key": key,
        "Body": body,
        "ContentType": "application/json",
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": kms_key_arn,
        "BucketKeyEnabled": True,
        "Metadata": {k: _ascii(v) for k, v in metadata.items() if v is not None},
    }
    if expected_owner:
        kwargs["ExpectedBucketOwner"] = expected_owner
    try:
        s3.put_object(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise ReportLoadError(f"cannot archive the report to s3://{bucket}/{key}: {_client_error(exc)}") from None
    return f"s3://{bucket}/{key}"


def archive_copy(
    s3: Any, src_bucket: str, src_key: str, bucket: str, key: str, kms_key_arn: str, expected_owner: str | None = None
) -> str:
    """Server-side copy (for reports too large to load) with SSE-KMS."""
    kwargs = {
        "Bucket": bucket,
        "Key": key,
        "CopySource": {"Bucket": src_bucket, "Key": src_key},
        "ServerSideEncryption": "aws:kms",
        "SSEKMSKeyId": kms_key_arn,
        "BucketKeyEnabled": True,
    }
    if expected_owner:
        kwargs["ExpectedBucketOwner"] = expected_owner
    try:
        s3.copy_object(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise ReportLoadError(f"cannot archive the report to s3://{bucket}/{key}: {_client_error(exc)}") from None
    return f"s3://{bucket}/{key}"
