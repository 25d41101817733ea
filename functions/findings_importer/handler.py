"""Lambda entry point: import a pipeline scan report into AWS Security Hub.

Runs in the tooling account. A CodeBuild scan action (SAST, secrets, SCA,
DAST) uploads its report and invokes this function, either directly
(``aws lambda invoke``) or as a CodePipeline Lambda invoke action.

Direct invocation event
-----------------------
::

    {
      "report": {"bucket": "scan-artifacts", "key": "payments/123/semgrep.sarif",
                 "version_id": "..."},           # optional version_id
        OR
      "report_body": "<the report as a JSON string>",   # small reports only

      "format": "sarif" | "pip-audit" | "osv" | "trivy" | "zap",
      "tool": "semgrep",                          # scanner name, part of the finding Id
      "stage": "sast" | "secrets" | "sca" | "dast",
      "team": "payments",
      "pipeline": "payments-pipeline",
      "execution_id": "<CodePipeline execution id / CodeBuild build id>",
      "repository": "https://github.com/example/payments",   # optional
      "commit": "3f2a9c1...",                                  # optional
      "severity_threshold": "HIGH",   # optional; LOW..CRITICAL, or NONE = never block;
                                      # default $DEFAULT_SEVERITY_THRESHOLD or HIGH
      "unscored_severity": "MEDIUM",  # optional; label for findings without any
                                      # severity in the report (pip-audit has none)
      "raise_on_error": false         # optional, see "Failure contract"
    }

Supported formats: SARIF 2.1.0 (semgrep, gitleaks, ...), pip-audit JSON,
OSV-Scanner JSON, Trivy JSON (SchemaVersion 2, ``Vulnerabilities``) and the
OWASP ZAP JSON report (``site[].alerts[]``).

CodePipeline invoke action
--------------------------
When the event contains ``"CodePipeline.job"`` the fields above are read from
the action's ``UserParameters`` (a JSON object string). CodePipeline variables
can be used there, e.g. ``"execution_id": "#{codepipeline.PipelineExecutionId}"``
(the job id is used when it is missing). Without ``report``/``report_body`` the
report is read from the input artifact (zip) with the job's artifact
credentials: the artifact named ``input_artifact`` (default: the first) and,
inside it, ``report_path`` (default: the only ``.json``/``.sarif`` file). The
function then calls ``PutJobSuccessResult`` (status PASS) or
``PutJobFailureResult`` (FAIL / ERROR) and returns the same result.

Environment
-----------
``REPORT_BUCKET`` (required), ``REPORT_KMS_KEY_ARN`` (required, SSE-KMS key for
the archived reports), ``AWS_REGION`` (set by Lambda), ``PRODUCT_ARN``
(optional override of ``arn:<partition>:securityhub:<region>:<account>:product/<account>/default``),
``DEFAULT_SEVERITY_THRESHOLD`` (optional), ``MAX_REPORT_BYTES`` (optional,
default 50 MiB), ``LOG_LEVEL`` (optional).

Result
------
::

    {"status": "PASS" | "FAIL" | "ERROR",
     "imported": 12, "failed": [{"Id", "ErrorCode", "ErrorMessage"}, ...],   # first 100
     "failed_count": 0, "failed_report_s3_uri": null,   # full list in S3 when any
     "counts_by_severity": {"CRITICAL": 0, "HIGH": 2, ...},  # unsuppressed findings
     "suppressed": 0, "total_findings": 12, "blocking": 2, "threshold": "HIGH",
     "report_s3_uri": "s3://.../reports/payments/payments-pipeline/<exec>/sast-semgrep.json",
     "report_sha256": "...", "format": "sarif", "tool": "semgrep", "stage": "sast",
     "warnings": [...], "error": {"type": "MalformedReport", "message": "..."}}  # ERROR only

* ``FAIL``: the report was imported and at least one unsuppressed finding is at
  or above the threshold (``blocking`` > 0).
* ``ERROR``: the event, the report or the import is broken: malformed report,
  unreadable report, or findings that could not be imported after retries
  (listed in ``failed``). Takes precedence over FAIL.

Failure contract
----------------
The raw report is archived first, before anything can fail on its content:
a malformed report is still kept (SSE-KMS) for investigation.

Errors are *returned*, not raised: the caller always gets the structured
result above with ``status: "ERROR"`` and an ``error`` naming the problem
(e.g. ``sarif report is malformed at $.version: unsupported SARIF version
'2.0.0' ...``). The calling action must treat anything but ``"PASS"`` -
including a missing/unparseable payload or a Lambda ``FunctionError`` - as a
failure (fail closed); as a CodePipeline action this is done here through
``PutJobFailureResult``. Callers that rely on the Lambda error channel instead
(Step Functions, SDK callers) set ``"raise_on_error": true`` to get a
:class:`FindingsImportFailed` exception carrying the same message after the
result has been computed and logged. In CodePipeline mode the function never
raises for scan problems (an exception would make Lambda retry the async
invocation); it only raises when reporting the job result itself fails.

Operations: ``REPORT_BUCKET`` must belong to the function's account (the
writes send ``ExpectedBucketOwner``). Pacing to 10 TPS is per invocation, so
keep the function's reserved concurrency low (e.g. 2) to stay within Security
Hub's account-wide BatchImportFindings quota, and give it a timeout well above
the import time (~0.1 s per 100 findings plus latency); the importer stops
sending 10 s before the deadline and reports what it could not send.

IAM: ``s3:GetObject`` on the source reports, ``s3:PutObject`` on
``REPORT_BUCKET/reports/*``, ``kms:GenerateDataKey`` on ``REPORT_KMS_KEY_ARN``,
``securityhub:BatchImportFindings``, ``sts:GetCallerIdentity`` (fallback only),
``codepipeline:PutJobSuccessResult``/``PutJobFailureResult``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import boto3
from botocore.config import Config

if __package__:
    from . import asff, parsers, severity, storage
    from .errors import EventValidationError, FindingsImporterError, ImportFailedError, ReportLoadError
    from .importer import Importer, RetryPolicy
else:  # flat Lambda bundle: handler = "handler.handler"
    import asff
    import parsers
    import severity
    import storage
    from errors import EventValidationError, FindingsImporterError, ImportFailedError, ReportLoadError
    from importer import Importer, RetryPolicy

LOG = logging.getLogger("findings_importer")
try:
    LOG.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
except ValueError:
    LOG.setLevel(logging.INFO)

STAGES = ("sast", "secrets", "sca", "dast")
MAX_FAILED_IN_RESULT = 100
MAX_WARNINGS_IN_RESULT = 20
_LOGGED_RESULT_KEYS = (
    "status", "imported", "failed_count", "blocking", "threshold", "total_findings", "report_s3_uri",
    "format", "tool", "stage", "team", "pipeline", "execution_id", "error",
)


class FindingsImportFailed(Exception):
    """Raised (only with ``raise_on_error``) when the result status is ERROR."""


@dataclass
class Runtime:
    """AWS clients and effectful callables; injectable for tests."""

    s3: Any
    securityhub: Any
    sts: Any = None
    codepipeline: Any = None
    artifact_s3_factory: Callable[[dict | None], Any] | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    policy: RetryPolicy = field(default_factory=RetryPolicy)


def _region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def build_runtime(region: str | None = None) -> Runtime:
    region = region or _region()
    timeouts = dict(connect_timeout=5, read_timeout=30)
    sdk = Config(region_name=region, retries={"mode": "standard", "max_attempts": 3}, **timeouts)
    # Security Hub: the importer owns retries/backoff (one tested policy, no
    # multiplication with the SDK's own retries).
    securityhub_cfg = Config(region_name=region, retries={"mode": "standard", "total_max_attempts": 1}, **timeouts)

    def artifact_s3(creds: dict | None):
        if not creds:
            return boto3.client("s3", config=sdk)
        return boto3.client(
            "s3",
            config=Config(
                region_name=region, signature_version="s3v4", retries={"mode": "standard", "max_attempts": 3}
            ),
            aws_access_key_id=creds.get("accessKeyId"),
            aws_secret_access_key=creds.get("secretAccessKey"),
            aws_session_token=creds.get("sessionToken"),
        )

    return Runtime(
        s3=boto3.client("s3", config=sdk),
        securityhub=boto3.client("securityhub", config=securityhub_cfg),
        sts=boto3.client("sts", config=sdk),
        codepipeline=boto3.client("codepipeline", config=sdk),
        artifact_s3_factory=artifact_s3,
    )


_RUNTIME: Runtime | None = None


def _default_runtime() -> Runtime:
    global _RUNTIME
    if _RUNTIME is None:  # reused across warm invocations
        _RUNTIME = build_runtime()
    return _RUNTIME


def reset_runtime() -> None:
    global _RUNTIME
    _RUNTIME = None


# --------------------------------------------------------------------------
def handler(event: dict, context: Any) -> dict:
    return process(event, context, _default_runtime())


def process(event: dict, context: Any, runtime: Runtime) -> dict:
    if not isinstance(event, dict):
        return _error_result({}, EventValidationError(f"the event must be a JSON object, got {type(event).__name__}"))
    if "CodePipeline.job" in event:
        return _codepipeline(event["CodePipeline.job"], context, runtime)
    result = import_report(event, context, runtime)
    if event.get("raise_on_error") is True and result["status"] == "ERROR":
        raise FindingsImportFailed(result["error"]["message"] if result.get("error") else "import failed")
    return result


# --------------------------------------------------------------------------
def _empty_result(params: dict) -> dict:
    return {
        "status": "ERROR",
        "imported": 0,
        "failed": [],
        "failed_count": 0,
        "failed_report_s3_uri": None,
        "counts_by_severity": {label: 0 for label in reversed(severity.LABELS)},
        "suppressed": 0,
        "total_findings": 0,
        "blocking": 0,
        "threshold": None,
        "report_s3_uri": None,
        "report_sha256": None,
        "format": params.get("format"),
        "tool": params.get("tool"),
        "stage": params.get("stage"),
        "team": params.get("team"),
        "pipeline": params.get("pipeline"),
        "execution_id": params.get("execution_id"),
        "warnings": [],
    }


def _error_result(params: dict, exc: Exception, result: dict | None = None) -> dict:
    result = result or _empty_result(params)
    result["status"] = "ERROR"
    kind = exc.kind if isinstance(exc, FindingsImporterError) else "InternalError"
    message = str(exc) if isinstance(exc, FindingsImporterError) else f"{type(exc).__name__}: {exc}"
    result["error"] = {"type": kind, "message": message}
    return result


def _required_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise FindingsImporterError(f"environment variable {name} is not set")
    return value


def _str_param(params: dict, name: str, problems: list[str], required: bool = True) -> str | None:
    value = params.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"'{name}' is required")
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        problems.append(f"'{name}' must be a string")
        return None
    return str(value).strip()


def _function_arn_parts(context: Any) -> list[str] | None:
    arn = getattr(context, "invoked_function_arn", None)
    parts = arn.split(":") if isinstance(arn, str) else []
    return parts if len(parts) >= 5 and parts[4].isdigit() else None


def _identity(context: Any, runtime: Runtime) -> tuple[str, str, str]:
    """(partition, region, account id): from the function ARN, else STS."""
    parts = _function_arn_parts(context)
    if parts:
        return parts[1], _region() or parts[3], parts[4]
    region = _region() or getattr(getattr(runtime.sts, "meta", None), "region_name", None) or "us-east-1"
    ident = runtime.sts.get_caller_identity()
    partition = ident["Arn"].split(":")[1] if ident.get("Arn") else asff.partition_for_region(region)
    return partition, region, ident["Account"]


def _time_left(context: Any) -> Callable[[], float] | None:
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return (lambda: getter() / 1000.0) if callable(getter) else None


def _iso(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _load_raw(params: dict, runtime: Runtime, max_bytes: int, job_data: dict | None) -> storage.RawReport:
    has_body, has_ref = "report_body" in params, "report" in params
    if has_body and has_ref:
        raise EventValidationError("give either 'report' or 'report_body', not both")
    if has_body:
        return storage.load_inline(params["report_body"], max_bytes)
    if has_ref:
        ref = params["report"]
        if not isinstance(ref, dict) or not ref.get("bucket") or not ref.get("key"):
            raise EventValidationError("'report' must be an object with 'bucket' and 'key'")
        return storage.load_s3(runtime.s3, str(ref["bucket"]), str(ref["key"]), max_bytes, ref.get("version_id"))
    if job_data is not None:
        factory = runtime.artifact_s3_factory or (lambda creds: runtime.s3)
        return storage.load_codepipeline_artifact(
            job_data, factory, max_bytes, params.get("input_artifact"), params.get("report_path")
        )
    raise EventValidationError("the event has neither 'report' (S3 location) nor 'report_body'")


def import_report(params: dict, context: Any, runtime: Runtime, job_data: dict | None = None) -> dict:
    """Archive, parse, convert, import, and judge one report. Never raises."""
    started = time.monotonic()
    result = _empty_result(params)
    try:
        _run(params, context, runtime, job_data, result)
    except FindingsImporterError as exc:
        _error_result(params, exc, result)
    except Exception as exc:  # a bug or an AWS outage: still a clear ERROR verdict
        LOG.exception("unexpected failure while importing findings")
        _error_result(params, exc, result)
    result["warnings"] = result["warnings"][:MAX_WARNINGS_IN_RESULT]
    LOG.info(
        json.dumps(
            {
                "message": "findings import finished",
                "seconds": round(time.monotonic() - started, 3),
                **{k: result.get(k) for k in _LOGGED_RESULT_KEYS},
            },
            default=str,
        )
    )
    return result


def _run(params: dict, context: Any, runtime: Runtime, job_data: dict | None, result: dict) -> None:
    bucket = _required_env("REPORT_BUCKET")
    kms_key = _required_env("REPORT_KMS_KEY_ARN")
    max_bytes = int(os.environ.get("MAX_REPORT_BYTES") or storage.DEFAULT_MAX_REPORT_BYTES)

    problems: list[str] = []
    team = _str_param(params, "team", problems)
    pipeline = _str_param(params, "pipeline", problems)
    execution_id = _str_param(params, "execution_id", problems)
    stage = _str_param(params, "stage", problems)
    tool = _str_param(params, "tool", problems)
    fmt_name = _str_param(params, "format", problems)
    repository = _str_param(params, "repository", problems, required=False)
    commit = _str_param(params, "commit", problems, required=False)

    key = storage.report_key(team, pipeline, execution_id, stage, tool)
    arn_parts = _function_arn_parts(context)
    owner = arn_parts[4] if arn_parts else None  # ExpectedBucketOwner, when known for free

    # 1. Archive the raw report before anything can fail on its content.
    try:
        raw = _load_raw(params, runtime, max_bytes, job_data)
    except storage.ReportTooLarge as exc:
        if exc.bucket and exc.key:
            result["report_s3_uri"] = storage.archive_copy(runtime.s3, exc.bucket, exc.key, bucket, key, kms_key, owner)
        raise
    result["report_sha256"] = raw.sha256
    result["report_s3_uri"] = storage.store_report(
        runtime.s3,
        bucket,
        key,
        raw.body,
        kms_key,
        {
            "team": team, "pipeline": pipeline, "execution-id": execution_id, "stage": stage,
            "tool": tool, "format": fmt_name, "source": raw.source, "sha256": raw.sha256,
        },
        expected_owner=owner,
    )

    # 2. Validate the rest of the event (the report is safe in S3 now).
    fmt = parsers.canonical_format(fmt_name) if fmt_name else None
    if fmt_name and fmt is None:
        problems.append(f"'format' {fmt_name!r} is not supported (use one of {', '.join(parsers.PARSERS)})")
    if stage and stage not in STAGES:
        problems.append(f"'stage' {stage!r} is not one of {', '.join(STAGES)}")
    try:
        threshold = severity.parse_threshold(
            params.get("severity_threshold"), os.environ.get("DEFAULT_SEVERITY_THRESHOLD") or "HIGH"
        )
        result["threshold"] = threshold
    except ValueError as exc:
        problems.append(str(exc))
    unscored = severity.normalize_label(params.get("unscored_severity") or "MEDIUM")
    if unscored is None:
        problems.append(f"'unscored_severity' {params.get('unscored_severity')!r} is not a severity label")
    if problems:
        raise EventValidationError("invalid event: " + "; ".join(problems))

    # 3. Parse.
    report = parsers.parse_report(fmt, raw.body, parsers.ParseOptions(stage=stage, unscored_severity=unscored))
    result["warnings"].extend(report.warnings)
    findings = report.findings
    result["total_findings"] = len(findings)

    # 4. Convert.
    partition, region, account_id = _identity(context, runtime)
    ctx = asff.ScanContext(
        account_id=account_id,
        region=region,
        partition=partition,
        product_arn=os.environ.get("PRODUCT_ARN") or asff.product_arn(partition, region, account_id),
        team=team,
        pipeline=pipeline,
        stage=stage,
        tool=tool,
        fmt=fmt,
        execution_id=execution_id,
        timestamp=_iso(runtime.now()),
        repository=repository,
        commit=commit,
        report_s3_uri=result["report_s3_uri"],
    )
    ids = asff.assign_ids(findings, ctx)
    documents, conversion_failures = [], []
    for finding, finding_id in zip(findings, ids):
        try:
            documents.append(asff.to_asff(finding, ctx, finding_id))
        except asff.FindingTooLarge as exc:
            conversion_failures.append({"Id": finding_id, "ErrorCode": "FindingTooLarge", "ErrorMessage": str(exc)})

    # 5. Gate (independent of Security Hub availability).
    counts = result["counts_by_severity"]
    for finding in findings:
        if finding.suppressed:
            result["suppressed"] += 1
            continue
        counts[finding.severity] += 1
        if severity.is_blocking(finding.severity, threshold):
            result["blocking"] += 1

    # 6. Import.
    importer = Importer(
        runtime.securityhub,
        policy=runtime.policy,
        sleep=runtime.sleep,
        clock=runtime.clock,
        rng=runtime.rng,
        time_left=_time_left(context),
    )
    outcome = importer.import_findings(documents)
    failed = conversion_failures + outcome.failed
    result["imported"] = outcome.imported
    result["failed_count"] = len(failed)
    result["failed"] = [
        {**f, "ErrorMessage": asff.truncate(f.get("ErrorMessage"), 500) or ""} for f in failed[:MAX_FAILED_IN_RESULT]
    ]
    result["import_calls"] = outcome.calls
    result["import_retries"] = outcome.retries
    if failed:
        failed_ids = {f["Id"] for f in failed}
        for entry in failed:
            LOG.error("finding not imported: %s", json.dumps(entry))
        try:
            result["failed_report_s3_uri"] = storage.store_report(
                runtime.s3,
                bucket,
                storage.report_key(team, pipeline, execution_id, stage, tool, suffix="failed.json"),
                json.dumps({"failed": failed, "findings": [d for d in documents if d["Id"] in failed_ids]}).encode(),
                kms_key,
                {"team": team, "pipeline": pipeline, "execution-id": execution_id, "kind": "failed-findings"},
                expected_owner=account_id,
            )
        except ReportLoadError as exc:
            result["warnings"].append(f"could not store the failed-findings list: {exc}")
        raise ImportFailedError(
            f"{len(failed)} of {len(findings)} finding(s) could not be imported into Security Hub "
            f"(first: {failed[0]['ErrorCode']}: {asff.truncate(failed[0]['ErrorMessage'], 200)})"
        )
    result["status"] = "FAIL" if result["blocking"] else "PASS"


# --------------------------------------------------------------------------
# CodePipeline invoke action
# --------------------------------------------------------------------------
def summarize(result: dict) -> str:
    counts = ", ".join(f"{k} {v}" for k, v in result["counts_by_severity"].items() if v)
    text = (
        f"{result['status']}: {result['tool'] or 'scan'} ({result['stage'] or '?'}) found "
        f"{result['total_findings']} finding(s){f' [{counts}]' if counts else ''}; "
        f"{result['blocking']} at or above {result['threshold']}; imported {result['imported']}, "
        f"failed {result['failed_count']}."
    )
    if result.get("error"):
        text += f" Error: {result['error']['message']}"
    if result.get("report_s3_uri"):
        text += f" Report: {result['report_s3_uri']}"
    return text


def _codepipeline(job: Any, context: Any, runtime: Runtime) -> dict:
    job = job if isinstance(job, dict) else {}
    job_id = job.get("id")
    data = job.get("data") if isinstance(job.get("data"), dict) else {}
    params: dict = {}
    result: dict
    try:
        configuration = (data.get("actionConfiguration") or {}).get("configuration") or {}
        raw_params = configuration.get("UserParameters") or "{}"
        try:
            params = json.loads(raw_params)
        except json.JSONDecodeError as exc:
            raise EventValidationError(f"UserParameters is not valid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(params, dict):
            raise EventValidationError("UserParameters must be a JSON object")
        if not params.get("execution_id"):
            params["execution_id"] = job_id
        result = import_report(params, context, runtime, job_data=data)
    except EventValidationError as exc:
        result = _error_result(params, exc)
    result["codepipeline_job_id"] = job_id
    if not job_id:
        LOG.error("CodePipeline event without a job id; cannot report the result")
        return result

    message = summarize(result)
    external_id = str(result.get("execution_id") or job_id)[:1500]
    if result["status"] == "PASS":
        runtime.codepipeline.put_job_success_result(
            jobId=job_id,
            executionDetails={"summary": message[:2048], "externalExecutionId": external_id, "percentComplete": 100},
            outputVariables={
                "status": result["status"],
                "imported": str(result["imported"]),
                "blocking": str(result["blocking"]),
                "reportS3Uri": result["report_s3_uri"] or "none",
            },
        )
    else:
        error_type = (result.get("error") or {}).get("type")
        runtime.codepipeline.put_job_failure_result(
            jobId=job_id,
            failureDetails={
                "type": "ConfigurationError" if error_type == "InvalidEvent" else "JobFailed",
                "message": message[:5000],
                "externalExecutionId": external_id,
            },
        )
    return result
