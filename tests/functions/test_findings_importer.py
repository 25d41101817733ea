"""Tests for functions/findings_importer (scan report -> Security Hub).

AWS is simulated in-process with moto (S3, KMS, STS, Security Hub). Moto
accepts any finding, so every finding is also checked explicitly: by
botocore's own client-side validator and by a stricter walker over the
botocore Security Hub model (patterns, enums, ranges) plus the documented
ASFF limits.

moto does not implement codepipeline PutJobSuccessResult/PutJobFailureResult;
the CodePipeline tests stub just those two calls with botocore's Stubber.

Nothing here sleeps: the importer's sleep/clock/rng are injected.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import random
import re
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from botocore.validate import validate_parameters
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from functions.findings_importer import asff, handler, importer, parsers, severity  # noqa: E402
from functions.findings_importer.handler import FindingsImportFailed, Runtime  # noqa: E402
from functions.findings_importer.importer import Importer, RetryPolicy  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FUNCTION_DIR = REPO_ROOT / "functions" / "findings_importer"
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
REPORT_BUCKET = "tooling-scan-reports-123456789012"
SOURCE_BUCKET = "codebuild-scan-output-123456789012"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:findings-importer"
NOW = datetime(2024, 3, 5, 10, 20, 30, 123456, tzinfo=timezone.utc)
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
TYPE_RE = re.compile(
    r"^(Software and Configuration Checks|TTPs|Effects|Unusual Behaviors|Sensitive Data Identifications)(/[^/]+){0,2}$"
)

# fixture -> (format, tool, stage, expected counts_by_severity (non-zero), status at HIGH)
FIXTURE_CASES = {
    "semgrep.sarif": ("sarif", "semgrep", "sast", {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 3, "LOW": 1}, "FAIL"),
    "gitleaks.sarif": ("sarif", "gitleaks", "secrets", {"HIGH": 5}, "FAIL"),
    "pip-audit.json": ("pip-audit", "pip-audit", "sca", {"MEDIUM": 6}, "PASS"),
    "osv-scanner.json": ("osv", "osv-scanner", "sca", {"CRITICAL": 2, "MEDIUM": 1}, "FAIL"),
    "trivy.json": ("trivy", "trivy", "sca", {"HIGH": 2}, "FAIL"),
    "zap-baseline.json": ("zap", "zap", "dast", {"HIGH": 1, "MEDIUM": 2, "LOW": 2, "INFORMATIONAL": 1}, "FAIL"),
}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
class FakeContext:
    invoked_function_arn = FUNCTION_ARN
    aws_request_id = "3c7ad1f5-0a4f-4a4e-9d0b-6d3bfe1c2a11"

    def __init__(self, remaining_ms: int = 900_000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class FakeClock:
    """Virtual monotonic clock; ``sleep`` advances it and records the call."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def client_error(code: str, status: int = 400, message: str = "injected") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "BatchImportFindings",
    )


def finding_shape():
    model = botocore.session.get_session().get_service_model("securityhub")
    return model.operation_model("BatchImportFindings")


def _walk(value, shape, path, errors):
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        if not isinstance(value, dict):
            errors.append(f"{path}: expected object")
            return
        for name in shape.required_members:
            if name not in value:
                errors.append(f"{path}.{name}: required member missing")
        for name, item in value.items():
            if name not in shape.members:
                errors.append(f"{path}.{name}: not in the Security Hub model")
            else:
                _walk(item, shape.members[name], f"{path}.{name}", errors)
    elif kind == "list":
        if not isinstance(value, list):
            errors.append(f"{path}: expected list")
            return
        if "min" in meta and len(value) < meta["min"] or "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: list length {len(value)} outside {meta}")
        for i, item in enumerate(value):
            _walk(item, shape.member, f"{path}[{i}]", errors)
    elif kind == "map":
        if not isinstance(value, dict):
            errors.append(f"{path}: expected map")
            return
        for key, item in value.items():
            _walk(key, shape.key, f"{path}<key {key!r}>", errors)
            _walk(item, shape.value, f"{path}[{key!r}]", errors)
    elif kind == "string":
        if not isinstance(value, str):
            errors.append(f"{path}: expected string, got {type(value).__name__}")
            return
        if "enum" in meta and value not in meta["enum"]:
            errors.append(f"{path}: {value!r} not in {meta['enum']}")
        # Smithy patterns are not anchored: '.*\S.*' = contains a non-blank.
        if "pattern" in meta and not re.search(meta["pattern"], value, re.S):
            errors.append(f"{path}: {value!r} does not match {meta['pattern']}")
        if "min" in meta and len(value) < meta["min"] or "max" in meta and len(value) > meta["max"]:
            errors.append(f"{path}: length {len(value)} outside {meta}")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(f"{path}: expected integer")
        elif "min" in meta and value < meta["min"] or "max" in meta and value > meta["max"]:
            errors.append(f"{path}: {value} outside {meta}")
    elif kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(f"{path}: expected number")
    elif kind == "boolean":
        if not isinstance(value, bool):
            errors.append(f"{path}: expected boolean")


def asff_problems(finding: dict) -> list[str]:
    """Everything wrong with one ASFF finding (empty list = valid)."""
    errors: list[str] = []
    operation = finding_shape()
    _walk(finding, operation.input_shape.members["Findings"].member, "$", errors)
    try:  # botocore's own client-side validation, as the real client runs it
        validate_parameters({"Findings": [finding]}, operation.input_shape)
    except Exception as exc:  # ParamValidationError
        errors.append(f"botocore: {exc}")
    # Required by the brief / ASFF guidance even where the model is lax.
    for name in ("SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "Types", "CreatedAt",
                 "UpdatedAt", "Severity", "Title", "Description", "Resources"):
        if name not in finding:
            errors.append(f"$.{name}: missing")
    if errors:
        return errors
    checks = [
        (finding["SchemaVersion"] == "2018-10-08", "SchemaVersion"),
        (re.fullmatch(r"arn:aws:securityhub:[a-z0-9-]+:\d{12}:product/\d{12}/default", finding["ProductArn"]), "ProductArn"),
        (re.fullmatch(r"\d{12}", finding["AwsAccountId"]), "AwsAccountId"),
        (len(finding["Id"]) <= 512, "Id length"),
        (len(finding["GeneratorId"]) <= 512, "GeneratorId length"),
        (len(finding["Title"]) <= 256, "Title length"),
        (len(finding["Description"]) <= 1024, "Description length"),
        (TIMESTAMP_RE.match(finding["CreatedAt"]), "CreatedAt format"),
        (TIMESTAMP_RE.match(finding["UpdatedAt"]), "UpdatedAt format"),
        (TIMESTAMP_RE.match(finding.get("LastObservedAt", "2024-01-01T00:00:00Z")), "LastObservedAt format"),
        (finding["Severity"].get("Label") in severity.LABELS, "Severity.Label"),
        (finding["Severity"].get("Original"), "Severity.Original"),
        (1 <= len(finding["Types"]) <= 50 and all(TYPE_RE.match(t) for t in finding["Types"]), "Types"),
        (1 <= len(finding["Resources"]) <= 32, "Resources count"),
        (all(len(r["Id"]) <= 512 for r in finding["Resources"]), "Resource Id length"),
        (len(finding.get("ProductFields", {})) <= 50, "ProductFields count"),
        (all(len(k) <= 128 and len(v) <= 2048 for k, v in finding.get("ProductFields", {}).items()), "ProductFields sizes"),
        (len(finding.get("Remediation", {}).get("Recommendation", {}).get("Text", "")) <= 512, "Remediation text"),
        (len(json.dumps(finding)) <= 240 * 1024, "240 KB"),
    ]
    for resource in finding["Resources"]:
        other = resource.get("Details", {}).get("Other", {})
        checks.append((len(other) <= 50 and all(len(k) <= 128 and len(v) <= 1024 for k, v in other.items()), "Details.Other"))
    return [name for ok, name in checks if not ok]


def make_sarif(n: int, *, tool="semgrep", fingerprints=True, line_offset=0) -> bytes:
    """A synthetic but well-formed SARIF 2.1.0 report with ``n`` results."""
    levels = ["error", "warning", "note"]
    rules = [
        {
            "id": f"python.synthetic.rule-{r}",
            "shortDescription": {"text": f"Synthetic rule {r}"},
            "fullDescription": {"text": f"Synthetic rule {r} used for load testing the importer."},
            "helpUri": f"https://semgrep.dev/r/python.synthetic.rule-{r}",
            "help": {"text": "Fix it."},
            "defaultConfiguration": {"level": levels[r % 3]},
            "properties": {"tags": [f"CWE-{79 + r}: synthetic", "security"]},
        }
        for r in range(20)
    ]
    results = []
    for i in range(n):
        result = {
            "ruleId": f"python.synthetic.rule-{i % 20}",
            "message": {"text": f"Synthetic finding number {i}."},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f"src/module_{i // 50}.py", "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": 10 + i % 50 + line_offset, "endLine": 11 + i % 50 + line_offset, "startColumn": 5},
                    }
                }
            ],
        }
        if fingerprints:
            result["partialFingerprints"] = {"primaryLocationLineHash": f"{i:016x}:1"}
        results.append(result)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": tool, "rules": rules}}, "results": results}],
    }
    return json.dumps(doc).encode()


def big_asff(i: int, pad: int) -> dict:
    """A valid ASFF finding of roughly ``pad`` * 50 bytes (ProductFields)."""
    return {
        "SchemaVersion": "2018-10-08",
        "Id": f"load/test/{i:06d}",
        "ProductArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default",
        "GeneratorId": "load/test",
        "AwsAccountId": ACCOUNT,
        "Types": ["Software and Configuration Checks/Vulnerabilities/SAST"],
        "CreatedAt": "2024-03-05T10:00:00.000Z",
        "UpdatedAt": "2024-03-05T10:00:00.000Z",
        "Severity": {"Label": "LOW", "Original": "note"},
        "Title": f"Large finding {i}",
        "Description": "Large synthetic finding used to exercise the 6 MB request limit.",
        "ProductFields": {f"field{k:02d}": ("x" * pad) for k in range(50)},
        "Resources": [{"Type": "Other", "Id": "https://example.com/repo"}],
    }


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------
@pytest.fixture
def aws_env(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "PRODUCT_ARN", "DEFAULT_SEVERITY_THRESHOLD", "MAX_REPORT_BYTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("REPORT_BUCKET", REPORT_BUCKET)


@pytest.fixture
def aws(aws_env, monkeypatch):
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=REPORT_BUCKET)
        s3.create_bucket(Bucket=SOURCE_BUCKET)
        key_arn = boto3.client("kms", region_name=REGION).create_key(Description="scan reports")["KeyMetadata"]["Arn"]
        monkeypatch.setenv("REPORT_KMS_KEY_ARN", key_arn)
        yield {"s3": s3, "kms_key_arn": key_arn, "securityhub": boto3.client("securityhub", region_name=REGION)}


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def runtime(aws, clock):
    return Runtime(
        s3=aws["s3"],
        securityhub=aws["securityhub"],
        sts=boto3.client("sts", region_name=REGION),
        codepipeline=boto3.client("codepipeline", region_name=REGION),
        artifact_s3_factory=lambda creds: boto3.client(
            "s3",
            region_name=REGION,
            aws_access_key_id=creds["accessKeyId"],
            aws_secret_access_key=creds["secretAccessKey"],
            aws_session_token=creds["sessionToken"],
        ),
        sleep=clock.sleep,
        clock=clock.clock,
        rng=random.Random(1234),
        now=lambda: NOW,
    )


def event_for(name: str | None = None, *, body: bytes | None = None, via_s3: bool = True, s3=None, **overrides) -> dict:
    fmt, tool, stage = (FIXTURE_CASES[name][:3]) if name else ("sarif", "semgrep", "sast")
    body = fixture_bytes(name) if body is None else body
    event = {
        "format": fmt,
        "tool": tool,
        "stage": stage,
        "team": "payments",
        "pipeline": "payments-pipeline",
        "execution_id": "2f1c0d9e-7b6a-4c3d-9e8f-1a2b3c4d5e6f",
        "repository": "https://github.com/example/payments",
        "commit": "8d1e4c2b9a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d",
        "severity_threshold": "HIGH",
    }
    if via_s3:
        key = f"payments/{uuid.uuid4()}/{name or 'report.json'}"
        s3.put_object(Bucket=SOURCE_BUCKET, Key=key, Body=body)
        event["report"] = {"bucket": SOURCE_BUCKET, "key": key}
    else:
        event["report_body"] = body.decode("utf-8")
    event.update(overrides)
    return event


def all_findings(securityhub) -> list[dict]:
    pages = securityhub.get_paginator("get_findings").paginate(PaginationConfig={"PageSize": 100})
    return [f for page in pages for f in page["Findings"]]


def count_calls(client) -> list[dict]:
    """Record every BatchImportFindings request actually sent by ``client``."""
    calls: list[dict] = []

    def before_call(params, **_):
        body = params["body"]
        calls.append({"bytes": len(body), "ids": [f["Id"] for f in json.loads(body)["Findings"]]})

    client.meta.events.register("before-call.securityhub.BatchImportFindings", before_call)
    return calls


# ---------------------------------------------------------------------------
# end-to-end on realistic fixture reports
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(FIXTURE_CASES))
def test_fixture_report_end_to_end(name, aws, runtime):
    fmt, tool, stage, expected_counts, expected_status = FIXTURE_CASES[name]
    calls = count_calls(runtime.securityhub)
    event = event_for(name, s3=aws["s3"])

    result = handler.process(event, FakeContext(), runtime)

    total = sum(expected_counts.values())
    assert result["status"] == expected_status, result
    assert result["counts_by_severity"] == {label: expected_counts.get(label, 0) for label in reversed(severity.LABELS)}
    assert result["total_findings"] == result["imported"] == total
    assert result["failed"] == [] and result["failed_count"] == 0
    assert result["threshold"] == "HIGH"
    assert result["blocking"] == expected_counts.get("HIGH", 0) + expected_counts.get("CRITICAL", 0)
    assert result["report_s3_uri"] == (
        f"s3://{REPORT_BUCKET}/reports/payments/payments-pipeline/2f1c0d9e-7b6a-4c3d-9e8f-1a2b3c4d5e6f/{stage}-{tool}.json"
    )
    assert len(calls) == 1 and len(calls[0]["ids"]) == total

    stored = all_findings(aws["securityhub"])
    assert len(stored) == total
    for finding in stored:
        assert asff_problems(finding) == [], finding["Id"]
        assert finding["ProductArn"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
        assert finding["AwsAccountId"] == ACCOUNT
        assert finding["CreatedAt"] == finding["UpdatedAt"] == "2024-03-05T10:20:30.123Z"
        assert finding["GeneratorId"].startswith(f"{tool}/")
        assert finding["ProductFields"]["executionId"] == event["execution_id"]
        assert finding["ProductFields"]["reportS3Uri"] == result["report_s3_uri"]
        assert finding["FindingProviderFields"]["Severity"] == finding["Severity"]
    assert sorted(f["Severity"]["Label"] for f in stored) == sorted(
        label for label, n in expected_counts.items() for _ in range(n)
    )


def test_sast_sarif_mapping_details(aws, runtime):
    handler.process(event_for("semgrep.sarif", s3=aws["s3"]), FakeContext(), runtime)
    by_rule = {f["ProductFields"]["ruleId"]: f for f in all_findings(aws["securityhub"])}

    sqli = by_rule["python.lang.security.audit.formatted-sql-query.formatted-sql-query"]
    assert sqli["Severity"] == {"Label": "MEDIUM", "Original": "warning"}  # rule defaultConfiguration.level
    assert sqli["Types"] == ["Software and Configuration Checks/Vulnerabilities/SAST"]
    assert sqli["Title"].endswith("(payments/repository.py:48)")
    assert sqli["Description"].startswith("Detected possible formatted SQL query.")
    assert sqli["SourceUrl"] == "https://semgrep.dev/r/python.lang.security.audit.formatted-sql-query.formatted-sql-query"
    code = sqli["Vulnerabilities"][0]["CodeVulnerabilities"][0]
    assert code["Cwes"] == ["CWE-89"]
    assert code["FilePath"] == {"FilePath": "payments/repository.py", "FileName": "repository.py", "StartLine": 48, "EndLine": 48}
    assert sqli["Resources"][0]["Id"] == "https://github.com/example/payments"
    assert sqli["Resources"][0]["Details"]["Other"]["commit"] == "8d1e4c2b9a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d"
    # the code snippet is not copied into Security Hub
    assert "cursor.execute" not in json.dumps(sqli)

    assert by_rule["python.lang.security.audit.subprocess-shell-true.subprocess-shell-true"]["Severity"]["Label"] == "HIGH"
    pickle = by_rule["python.lang.security.deserialization.pickle.avoid-pickle"]
    assert pickle["Severity"] == {"Label": "CRITICAL", "Original": "security-severity 9.1"}
    assert by_rule["python.django.security.audit.allowed-hosts-wildcard"]["Severity"] == {"Label": "LOW", "Original": "note"}


def test_secrets_never_copied_and_colliding_results_kept(aws, runtime):
    fake_secret = "ghp_" + "Zx9" * 12  # built at run time, never stored in the repo
    doc = json.loads(fixture_bytes("gitleaks.sarif"))
    leaked = copy.deepcopy(doc["runs"][0]["results"][0])
    leaked["message"]["text"] = f"github-pat has detected secret {fake_secret} for file ci/run.sh"
    leaked["ruleId"] = "github-pat"
    leaked["locations"][0]["physicalLocation"]["region"]["snippet"]["text"] = fake_secret
    doc["runs"][0]["results"].append(leaked)
    body = json.dumps(doc).encode()

    result = handler.process(event_for("gitleaks.sarif", body=body, s3=aws["s3"]), FakeContext(), runtime)

    stored = all_findings(aws["securityhub"])
    assert result["imported"] == len(stored) == 6
    assert fake_secret not in json.dumps(stored)
    assert all(f["Types"] == ["Sensitive Data Identifications/Passwords", "Effects/Data Exposure"] for f in stored)
    assert all(f["Severity"]["Label"] == "HIGH" for f in stored)
    # the two generic-api-key hits share file, rule and commit fingerprint: still two findings
    generic = [f for f in stored if f["ProductFields"]["ruleId"] == "generic-api-key"]
    assert len(generic) == 2 and len({f["Id"] for f in generic}) == 2
    assert {f["Resources"][0]["Details"]["Other"]["startLine"] for f in generic} == {"27", "31"}
    # commit metadata from the fingerprints (author e-mail) stays out of Security Hub
    assert "jane.doe@example.com" not in json.dumps(stored)
    # ...but the raw report, secret included, is kept encrypted for the investigation
    obj = aws["s3"].get_object(Bucket=REPORT_BUCKET, Key=result["report_s3_uri"].split("/", 3)[3])
    assert obj["ServerSideEncryption"] == "aws:kms" and fake_secret.encode() in obj["Body"].read()


def test_sca_pip_audit_mapping(aws, runtime):
    result = handler.process(event_for("pip-audit.json", s3=aws["s3"]), FakeContext(), runtime)
    assert result["warnings"] == [
        "pip-audit could not audit payments-common: Dependency not found on PyPI and could not be audited: payments-common (1.4.0)"
    ]
    flask = next(f for f in all_findings(aws["securityhub"]) if "flask" in f["Title"])
    assert flask["Title"] == "CVE-2023-30861 in flask 2.2.2"
    assert flask["Types"] == ["Software and Configuration Checks/Vulnerabilities/CVE"]
    assert flask["Severity"] == {"Label": "MEDIUM", "Original": "UNSCORED (pip-audit reports no severity)"}
    vuln = flask["Vulnerabilities"][0]
    assert vuln["Id"] == "CVE-2023-30861"
    assert vuln["RelatedVulnerabilities"] == ["PYSEC-2023-62", "GHSA-m2qf-hxjv-5gpq"]
    assert vuln["VulnerablePackages"][0] == {
        "Name": "flask",
        "Version": "2.2.2",
        "PackageManager": "PyPI",
        "FixedInVersion": "2.2.5, 2.3.2",
        "Remediation": "Upgrade flask to 2.2.5 or later.",
    }
    assert vuln["FixAvailable"] == "YES"
    assert flask["Remediation"]["Recommendation"]["Text"] == "Upgrade flask to 2.2.5 or later."


def test_clean_report_passes_without_calling_security_hub(aws, runtime):
    calls = count_calls(runtime.securityhub)
    clean = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Semgrep OSS", "rules": []}}, "results": []}]}
    result = handler.process(event_for(body=json.dumps(clean).encode(), s3=aws["s3"]), FakeContext(), runtime)
    assert (result["status"], result["imported"], result["total_findings"], calls) == ("PASS", 0, 0, [])
    assert result["report_s3_uri"] is not None


def test_non_object_event_is_an_error(aws, runtime):
    result = handler.process(["not", "an", "object"], FakeContext(), runtime)
    assert result["status"] == "ERROR" and result["error"]["type"] == "InvalidEvent"


def test_unscored_severity_is_configurable(aws, runtime):
    result = handler.process(
        event_for("pip-audit.json", s3=aws["s3"], unscored_severity="HIGH"), FakeContext(), runtime
    )
    assert result["status"] == "FAIL" and result["blocking"] == 6


def test_osv_grouping_and_severity_sources(aws, runtime):
    handler.process(event_for("osv-scanner.json", s3=aws["s3"]), FakeContext(), runtime)
    by_pkg = {f["Vulnerabilities"][0]["VulnerablePackages"][0]["Name"]: f for f in all_findings(aws["securityhub"])}
    assert set(by_pkg) == {"django", "pyyaml", "jinja2"}  # GHSA + PYSEC of django grouped into one
    django = by_pkg["django"]
    assert django["Severity"] == {"Label": "CRITICAL", "Original": "CVSS 9.8"}  # group max_severity
    assert django["Vulnerabilities"][0]["Id"] == "CVE-2022-28346"
    assert django["Vulnerabilities"][0]["RelatedVulnerabilities"] == ["GHSA-2gwj-7jmv-h26r", "PYSEC-2022-190"]
    assert django["Vulnerabilities"][0]["Cvss"][0]["BaseScore"] == 9.8
    assert django["Remediation"]["Recommendation"]["Text"] == "Upgrade django to 3.2.13 or later."
    # no max_severity: computed from the CVSS v3.1 vector
    assert by_pkg["pyyaml"]["Severity"] == {"Label": "CRITICAL", "Original": "CVSS 9.8"}
    # no CVSS at all: GitHub's database_specific.severity
    assert by_pkg["jinja2"]["Severity"] == {"Label": "MEDIUM", "Original": "MODERATE"}


def test_trivy_unknown_severity_falls_back_to_cvss(aws, runtime):
    handler.process(event_for("trivy.json", s3=aws["s3"]), FakeContext(), runtime)
    werkzeug = next(f for f in all_findings(aws["securityhub"]) if "werkzeug" in f["Title"])
    assert werkzeug["Severity"] == {"Label": "HIGH", "Original": "CVSS 7.5"}
    assert werkzeug["LastObservedAt"] == "2024-03-05T10:02:11.482Z"


def test_zap_mapping(aws, runtime):
    handler.process(event_for("zap-baseline.json", s3=aws["s3"]), FakeContext(), runtime)
    stored = all_findings(aws["securityhub"])
    by_ref = {f["ProductFields"]["ruleId"]: f for f in stored}
    assert {ref: f["Severity"]["Label"] for ref, f in by_ref.items()} == {
        "10062": "HIGH",
        "10038-1": "MEDIUM",
        "10020-1": "MEDIUM",
        "10036": "LOW",
        "10021": "LOW",
        "10027": "INFORMATIONAL",
    }
    csp = by_ref["10038-1"]
    assert csp["Resources"][0]["Id"] == "https://staging.payments.example.com"
    assert csp["Severity"]["Original"] == "Medium (High)"
    assert csp["Confidence"] == 90
    assert "<p>" not in csp["Description"] and "\u2014" in csp["Description"]  # HTML stripped, &mdash; decoded
    assert "Affected URLs (3):" in csp["Description"]
    assert csp["SourceUrl"].startswith("https://developer.mozilla.org/")
    # evidence (here a card number) is not copied into Security Hub
    assert "4111111111111111" not in json.dumps(stored)


@pytest.mark.parametrize(
    "risk, label", [("0", "INFORMATIONAL"), ("1", "LOW"), ("2", "MEDIUM"), ("3", "HIGH"), (3, "HIGH")]
)
def test_zap_riskcode_to_label(risk, label):
    doc = {"site": [{"@name": "https://x.example", "alerts": [{"pluginid": "1", "alert": "A", "riskcode": risk}]}]}
    (finding,) = parsers.parse_report("zap", json.dumps(doc), parsers.ParseOptions(stage="dast")).findings
    assert finding.severity == label


def test_zap_false_positive_is_imported_suppressed_and_not_blocking(aws, runtime):
    doc = json.loads(fixture_bytes("zap-baseline.json"))
    doc["site"][0]["alerts"][0]["confidence"] = "0"  # the High PII alert marked false positive
    result = handler.process(event_for("zap-baseline.json", body=json.dumps(doc).encode(), s3=aws["s3"]), FakeContext(), runtime)
    assert result["status"] == "PASS" and result["blocking"] == 0 and result["suppressed"] == 1
    assert result["imported"] == 6
    pii = next(f for f in all_findings(aws["securityhub"]) if f["ProductFields"]["ruleId"] == "10062")
    assert pii["Workflow"] == {"Status": "SUPPRESSED"}


@pytest.mark.parametrize(
    "vector, score",
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
        ("CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", None),
        ("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", None),
    ],
)
def test_cvss3_base_score(vector, score):
    assert severity.cvss3_base_score(vector) == score


# ---------------------------------------------------------------------------
# stable ids / idempotency
# ---------------------------------------------------------------------------
def test_reimport_updates_instead_of_duplicating(aws, runtime):
    first = handler.process(event_for("semgrep.sarif", s3=aws["s3"]), FakeContext(), runtime)
    ids_first = {f["Id"] for f in all_findings(aws["securityhub"])}

    runtime.now = lambda: NOW + timedelta(hours=1)
    second = handler.process(
        event_for("semgrep.sarif", s3=aws["s3"], execution_id="9e8d7c6b-0000-4000-8000-000000000002"), FakeContext(), runtime
    )
    stored = all_findings(aws["securityhub"])

    assert first["imported"] == second["imported"] == 6
    assert {f["Id"] for f in stored} == ids_first  # same Ids, execution id is not part of them
    assert len(stored) == 6  # not 12
    assert all(f["UpdatedAt"] == "2024-03-05T11:20:30.123Z" for f in stored)  # updated in place
    assert first["report_s3_uri"] != second["report_s3_uri"]  # but each run's raw report is kept


def _ids(body: bytes, stage="sast", team="payments", pipeline="payments-pipeline", tool="semgrep") -> list[str]:
    ctx = asff.ScanContext(ACCOUNT, REGION, "aws", "arn", team, pipeline, stage, tool, "sarif", "exec", "2024-01-01T00:00:00.000Z")
    return asff.assign_ids(parsers.parse_report("sarif", body, parsers.ParseOptions(stage=stage)).findings, ctx)


def test_ids_follow_fingerprints_not_line_numbers():
    assert _ids(make_sarif(30)) == _ids(make_sarif(30, line_offset=7))
    # without fingerprints the location is the identity
    assert set(_ids(make_sarif(30, fingerprints=False))).isdisjoint(_ids(make_sarif(30, fingerprints=False, line_offset=7)))


def test_ids_are_scoped_and_unique():
    body = make_sarif(200)
    ids = _ids(body)
    assert len(set(ids)) == 200
    assert all(re.fullmatch(r"payments/payments-pipeline/sast/semgrep/[0-9a-f]{64}", i) for i in ids)
    assert set(ids).isdisjoint(_ids(body, team="checkout"))
    assert set(ids).isdisjoint(_ids(body, pipeline="payments-hotfix"))
    assert set(ids).isdisjoint(_ids(body, tool="codeql"))


def test_exact_duplicate_results_get_distinct_ids():
    doc = json.loads(make_sarif(1, fingerprints=False))
    doc["runs"][0]["results"] *= 3
    ids = _ids(json.dumps(doc).encode())
    assert len(set(ids)) == 3 and ids == _ids(json.dumps(doc).encode())


# ---------------------------------------------------------------------------
# batching
# ---------------------------------------------------------------------------
def test_10000_findings_use_exactly_100_calls(aws, runtime, clock, capsys):
    n = 10_000
    calls = count_calls(runtime.securityhub)
    event = event_for(body=make_sarif(n), s3=aws["s3"], severity_threshold="CRITICAL")

    started = time.perf_counter()
    result = handler.process(event, FakeContext(), runtime)
    wall = time.perf_counter() - started

    assert result["status"] == "PASS", result.get("error")
    assert result["imported"] == result["total_findings"] == n
    assert len(calls) == math.ceil(n / 100) == 100
    assert all(len(c["ids"]) == 100 and c["bytes"] <= 6_000_000 for c in calls)
    assert len({i for c in calls for i in c["ids"]}) == n
    assert len(all_findings(aws["securityhub"])) == n
    # paced to 10 TPS (virtual clock): 99 gaps of 0.1 s
    assert sum(clock.sleeps) == pytest.approx(9.9, abs=1e-6)
    with capsys.disabled():
        print(
            f"\n[findings_importer] 10,000 findings: {len(calls)} BatchImportFindings calls, "
            f"wall time {wall:.2f} s in-process against moto (plus {sum(clock.sleeps):.1f} s of 10 TPS pacing "
            f"that a real run would spend waiting)"
        )


def test_6mb_limit_forces_extra_calls(aws, runtime):
    findings = [big_asff(i, pad=2000) for i in range(120)]  # ~100 KB each, ~12 MB total
    assert all(asff_problems(f) == [] for f in findings)
    assert sum(len(json.dumps(f)) for f in findings) > 2 * 6_000_000
    calls = count_calls(runtime.securityhub)

    outcome = Importer(runtime.securityhub, sleep=runtime.sleep, clock=runtime.clock).import_findings(findings)

    assert outcome.failed == [] and outcome.imported == 120
    assert len(calls) > math.ceil(120 / 100)
    assert all(c["bytes"] <= 6_000_000 for c in calls)
    assert [i for c in calls for i in c["ids"]] == [f["Id"] for f in findings]  # order kept, none twice
    assert max(c["bytes"] for c in calls) > 5_000_000  # batches are filled, not split needlessly
    assert len(all_findings(aws["securityhub"])) == 120


def test_request_size_measure_is_exact(aws, runtime):
    findings = [big_asff(i, pad=10) for i in range(7)]
    calls = count_calls(runtime.securityhub)
    Importer(runtime.securityhub, sleep=runtime.sleep, clock=runtime.clock).import_findings(findings)
    assert calls[0]["bytes"] == importer.request_size(findings)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    sizes=st.lists(st.integers(min_value=50, max_value=240 * 1024), min_size=0, max_size=400),
    max_bytes=st.sampled_from([300_000, 1_000_000, 6_000_000]),
)
def test_chunking_respects_both_limits_and_is_greedy(sizes, max_bytes):
    items = [({"Id": str(i)}, size) for i, size in enumerate(sizes) if size + 16 <= max_bytes]
    batches = list(importer.chunk(items, 100, max_bytes))

    def body(batch):
        return 16 + sum(s for _, s in batch) + 2 * (len(batch) - 1)

    sized = []
    position = 0
    for batch in batches:
        sized.append(items[position : position + len(batch)])
        position += len(batch)
    assert [f for b in batches for f in b] == [f for f, _ in items]  # nothing lost, order kept
    for index, batch in enumerate(sized):
        assert len(batch) in range(1, 101) and body(batch) <= max_bytes
        if index + 1 < len(sized):  # greedy: the next item did not fit
            nxt = sized[index + 1][0]
            assert len(batch) == 100 or body(batch + [nxt]) > max_bytes


# ---------------------------------------------------------------------------
# throttling, partial failures, fatal errors
# ---------------------------------------------------------------------------
def _stubbed_securityhub():
    client = boto3.client("securityhub", region_name=REGION, config=Config(retries={"total_max_attempts": 1}))
    return client, Stubber(client)


def _ok(n):
    return {"FailedCount": 0, "SuccessCount": n, "FailedFindings": []}


@pytest.mark.parametrize(
    "code, status",
    [
        ("ThrottlingException", 400),
        ("TooManyRequestsException", 429),
        ("Throttling", 400),
        ("RequestLimitExceeded", 400),
        ("LimitExceededException", 400),
        ("InternalException", 500),
        ("SomethingUnmodelled", 429),
    ],
)
def test_throttling_is_retried_with_exponential_backoff(aws_env, clock, code, status):
    client, stub = _stubbed_securityhub()
    findings = [big_asff(i, pad=1) for i in range(3)]
    for _ in range(3):
        stub.add_client_error("batch_import_findings", service_error_code=code, http_status_code=status)
    stub.add_response("batch_import_findings", _ok(3), {"Findings": findings})
    policy = RetryPolicy(rate_per_second=0)

    with stub:
        outcome = Importer(client, policy=policy, sleep=clock.sleep, clock=clock.clock, rng=random.Random(7)).import_findings(findings)
        stub.assert_no_pending_responses()

    assert outcome.imported == 3 and outcome.failed == []
    assert outcome.calls == 4 and outcome.retries == 3
    assert len(clock.sleeps) == 3
    for attempt, slept in enumerate(clock.sleeps, start=1):
        cap = policy.base_delay * 2 ** (attempt - 1)
        assert cap / 2 <= slept <= cap  # exponential, with jitter


def test_throttling_bounded_then_reported(aws_env, clock):
    class AlwaysThrottled:
        calls = 0

        def batch_import_findings(self, Findings):
            AlwaysThrottled.calls += 1
            raise client_error("ThrottlingException")

    findings = [big_asff(i, pad=1) for i in range(5)]
    policy = RetryPolicy(max_attempts=4, failed_finding_passes=2, rate_per_second=0)
    outcome = Importer(AlwaysThrottled(), policy=policy, sleep=clock.sleep, clock=clock.clock, rng=random.Random(1)).import_findings(findings)

    assert AlwaysThrottled.calls == 4 * 3  # attempts per request x (1 + passes)
    assert outcome.imported == 0
    assert [f["Id"] for f in outcome.failed] == [f["Id"] for f in findings]
    assert all(f["ErrorCode"] == "ThrottlingException" for f in outcome.failed)
    assert all(s <= policy.max_delay for s in clock.sleeps)


class PartiallyFailing:
    """Forwards to a real (moto) client but fails chosen Ids ``times`` times."""

    def __init__(self, inner, fail_ids, times):
        self.inner, self.remaining = inner, {i: times for i in fail_ids}
        self.sent: list[list[str]] = []

    def batch_import_findings(self, Findings):
        self.sent.append([f["Id"] for f in Findings])
        failing = [f for f in Findings if self.remaining.get(f["Id"], 0) > 0]
        for f in failing:
            self.remaining[f["Id"]] -= 1
        passing = [f for f in Findings if f not in failing]
        response = self.inner.batch_import_findings(Findings=passing) if passing else _ok(0)
        return {
            "FailedCount": len(failing),
            "SuccessCount": response["SuccessCount"],
            "FailedFindings": [{"Id": f["Id"], "ErrorCode": "InternalFailure", "ErrorMessage": "injected"} for f in failing],
        }


def test_failed_findings_are_resent_alone(aws, runtime):
    findings = [big_asff(i, pad=1) for i in range(250)]
    flaky = {findings[3]["Id"], findings[150]["Id"], findings[249]["Id"]}
    client = PartiallyFailing(aws["securityhub"], flaky, times=2)

    outcome = Importer(client, sleep=runtime.sleep, clock=runtime.clock, rng=random.Random(3)).import_findings(findings)

    assert outcome.failed == [] and outcome.imported == 250
    assert [len(s) for s in client.sent] == [100, 100, 50, 3, 3]  # only the failed ones re-sent
    assert set(client.sent[3]) == set(client.sent[4]) == flaky
    assert len(all_findings(aws["securityhub"])) == 250


def test_persistent_failures_reported_with_status_error(aws, runtime):
    body = fixture_bytes("semgrep.sarif")
    ctx = asff.ScanContext(ACCOUNT, REGION, "aws", "arn", "payments", "payments-pipeline", "sast", "semgrep", "sarif", "e", "t")
    doomed = asff.assign_ids(parsers.parse_report("sarif", body, parsers.ParseOptions()).findings, ctx)[1]
    runtime.securityhub = PartiallyFailing(aws["securityhub"], {doomed}, times=10**6)

    result = handler.process(event_for("semgrep.sarif", body=body, s3=aws["s3"]), FakeContext(), runtime)

    assert result["status"] == "ERROR"
    assert result["error"]["type"] == "ImportFailed"
    assert "1 of 6 finding(s) could not be imported" in result["error"]["message"]
    assert result["imported"] == 5 and result["failed_count"] == 1
    assert result["failed"] == [{"Id": doomed, "ErrorCode": "InternalFailure", "ErrorMessage": "injected"}]
    assert sum(doomed in s for s in runtime.securityhub.sent) == 1 + RetryPolicy().failed_finding_passes
    assert result["blocking"] == 2  # the gate verdict is still computed
    # the full list of failures, with the findings, is kept next to the report
    key = result["failed_report_s3_uri"].split("/", 3)[3]
    assert key.endswith("/sast-semgrep.failed.json")
    obj = aws["s3"].get_object(Bucket=REPORT_BUCKET, Key=key)
    assert obj["ServerSideEncryption"] == "aws:kms"
    saved = json.loads(obj["Body"].read())
    assert [f["Id"] for f in saved["findings"]] == [doomed]


def test_unattributed_failures_resend_whole_batch(aws_env, clock):
    class Vague:
        def __init__(self):
            self.calls = 0

        def batch_import_findings(self, Findings):
            self.calls += 1
            if self.calls == 1:
                return {"FailedCount": 2, "SuccessCount": len(Findings) - 2, "FailedFindings": []}
            return _ok(len(Findings))

    client = Vague()
    findings = [big_asff(i, pad=1) for i in range(10)]
    outcome = Importer(client, sleep=clock.sleep, clock=clock.clock, rng=random.Random(1)).import_findings(findings)
    assert client.calls == 2 and outcome.imported == 10 and outcome.failed == []


def test_fatal_error_stops_without_retrying(aws_env, clock):
    client, stub = _stubbed_securityhub()
    stub.add_client_error("batch_import_findings", service_error_code="AccessDeniedException", http_status_code=403)
    findings = [big_asff(i, pad=1) for i in range(150)]
    with stub:
        outcome = Importer(client, sleep=clock.sleep, clock=clock.clock).import_findings(findings)
        stub.assert_no_pending_responses()  # exactly one call, no retry
    assert outcome.calls == 1 and outcome.imported == 0
    assert len(outcome.failed) == 150 and {f["ErrorCode"] for f in outcome.failed} == {"AccessDeniedException"}


def test_client_side_validation_isolates_a_bad_finding(aws, runtime):
    findings = [big_asff(i, pad=1) for i in range(5)]
    del findings[2]["Resources"]
    findings[3]["Severity"]["Label"] = "SEVERE"  # botocore does not check enums; Security Hub would
    calls = count_calls(runtime.securityhub)
    outcome = Importer(runtime.securityhub, sleep=runtime.sleep, clock=runtime.clock).import_findings(findings)
    assert outcome.imported == 4 and len(calls) == 1
    assert [(f["Id"], f["ErrorCode"]) for f in outcome.failed] == [(findings[2]["Id"], "ClientValidationError")]
    assert "Resources" in outcome.failed[0]["ErrorMessage"]


def test_deadline_stops_sending_and_reports_the_rest(aws_env, clock):
    client, stub = _stubbed_securityhub()
    findings = [big_asff(i, pad=1) for i in range(300)]
    stub.add_response("batch_import_findings", _ok(100), {"Findings": findings[:100]})
    remaining = iter([600.0, 5.0, 5.0])  # seconds left, asked before each request
    with stub:
        outcome = Importer(client, sleep=clock.sleep, clock=clock.clock, time_left=lambda: next(remaining)).import_findings(findings)
    assert outcome.imported == 100 and len(outcome.failed) == 200
    assert {f["ErrorCode"] for f in outcome.failed} == {"DeadlineExceeded"}


def test_rate_limiter_keeps_10_tps(clock):
    limiter = importer.RateLimiter(10, clock.clock, clock.sleep)
    times = []
    for _ in range(25):
        limiter.acquire()
        times.append(clock.now)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) == pytest.approx(0.1)


# ---------------------------------------------------------------------------
# malformed input: clear error, raw report still archived with SSE-KMS
# ---------------------------------------------------------------------------
MALFORMED = [
    ("sarif", b'{"version": "2.1.0", "runs": [', "sarif report is malformed: not valid JSON"),
    ("sarif", json.dumps({"version": "2.0.0", "runs": []}).encode(), "sarif report is malformed at $.version: unsupported SARIF version '2.0.0'"),
    ("sarif", json.dumps({"version": "2.1.0"}).encode(), "sarif report is malformed at $.runs: missing"),
    ("sarif", json.dumps({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "r"}]}]}).encode(),
     "sarif report is malformed at $.runs[0].results[0].message: missing the required 'message' object"),
    ("zap", json.dumps({"@programName": "ZAP", "@version": "2.14.0"}).encode(), "zap report is malformed at $.site: missing 'site'"),
    ("zap", json.dumps({"site": [{"@name": "https://x", "alerts": [{"pluginid": "1", "alert": "a", "riskcode": "7"}]}]}).encode(),
     "zap report is malformed at $.site[0].alerts[0].riskcode: riskcode must be 0, 1, 2 or 3, got '7'"),
    ("pip-audit", json.dumps({"fixes": []}).encode(), "pip-audit report is malformed at $.dependencies: missing 'dependencies'"),
    ("osv", json.dumps({"results": [{"packages": [{"package": {"version": "1"}}]}]}).encode(),
     "osv report is malformed at $.results[0].packages[0].package.name: package without a 'name'"),
    ("trivy", json.dumps({"SchemaVersion": 1}).encode(), "trivy report is malformed at $.SchemaVersion: unsupported SchemaVersion 1"),
    ("sarif", b"   ", "sarif report is malformed: the report is empty"),
    ("sarif", b"\xff\xfe{\x00}\x00", "sarif report is malformed: not valid UTF-8"),
]


@pytest.mark.parametrize("fmt, body, message", MALFORMED, ids=[m[2][:60] for m in MALFORMED])
def test_malformed_report_fails_clearly_and_is_archived(aws, runtime, fmt, body, message):
    event = event_for(body=body, s3=aws["s3"], format=fmt, tool="scanner", stage="sast")

    result = handler.process(event, FakeContext(), runtime)

    assert result["status"] == "ERROR"
    assert result["error"]["type"] == "MalformedReport"
    assert result["error"]["message"].startswith(message)
    assert result["imported"] == 0 and all_findings(aws["securityhub"]) == []
    key = "reports/payments/payments-pipeline/2f1c0d9e-7b6a-4c3d-9e8f-1a2b3c4d5e6f/sast-scanner.json"
    assert result["report_s3_uri"] == f"s3://{REPORT_BUCKET}/{key}"
    obj = aws["s3"].get_object(Bucket=REPORT_BUCKET, Key=key)
    assert obj["ServerSideEncryption"] == "aws:kms"
    assert obj["SSEKMSKeyId"] == aws["kms_key_arn"]
    assert obj["Body"].read() == body  # byte for byte


def test_raise_on_error_raises_after_archiving(aws, runtime):
    event = event_for(body=b"not json", s3=aws["s3"], raise_on_error=True)
    with pytest.raises(FindingsImportFailed, match="sarif report is malformed: not valid JSON"):
        handler.process(event, FakeContext(), runtime)
    listed = aws["s3"].list_objects_v2(Bucket=REPORT_BUCKET, Prefix="reports/")
    assert [o["Key"] for o in listed["Contents"]] == [
        "reports/payments/payments-pipeline/2f1c0d9e-7b6a-4c3d-9e8f-1a2b3c4d5e6f/sast-semgrep.json"
    ]


def test_invalid_event_is_an_error_but_report_is_kept(aws, runtime):
    event = event_for("semgrep.sarif", via_s3=False, team="", stage="fuzzing", severity_threshold="SEVERE")
    result = handler.process(event, FakeContext(), runtime)
    assert result["status"] == "ERROR" and result["error"]["type"] == "InvalidEvent"
    for fragment in ("'team' is required", "'stage' 'fuzzing' is not one of", "severity_threshold must be one of"):
        assert fragment in result["error"]["message"]
    key = "reports/unknown/payments-pipeline/2f1c0d9e-7b6a-4c3d-9e8f-1a2b3c4d5e6f/fuzzing-semgrep.json"
    head = aws["s3"].head_object(Bucket=REPORT_BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == aws["kms_key_arn"]


def test_unreadable_source_report(aws, runtime):
    event = event_for("semgrep.sarif", s3=aws["s3"])
    event["report"]["key"] = "does/not/exist.sarif"
    result = handler.process(event, FakeContext(), runtime)
    assert result["status"] == "ERROR" and result["error"]["type"] == "ReportUnavailable"
    assert "cannot read report s3://" in result["error"]["message"] and "NoSuchKey" in result["error"]["message"]


def test_oversized_report_is_archived_by_copy_and_rejected(aws, runtime, monkeypatch):
    monkeypatch.setenv("MAX_REPORT_BYTES", "1000")
    result = handler.process(event_for("semgrep.sarif", s3=aws["s3"]), FakeContext(), runtime)
    assert result["status"] == "ERROR" and "above the 1000 byte limit" in result["error"]["message"]
    head = aws["s3"].head_object(Bucket=REPORT_BUCKET, Key=result["report_s3_uri"].split("/", 3)[3])
    assert head["ServerSideEncryption"] == "aws:kms" and head["ContentLength"] == len(fixture_bytes("semgrep.sarif"))


# ---------------------------------------------------------------------------
# archive, identity, threshold
# ---------------------------------------------------------------------------
def test_raw_report_archived_under_deterministic_key(aws, runtime):
    event = event_for("semgrep.sarif", via_s3=False, team="../../etc", pipeline="pay ments/pipe")
    result = handler.process(event, FakeContext(), runtime)
    key = "reports/etc/pay_ments_pipe/2f1c0d9e-7b6a-4c3d-9e8f-1a2b3c4d5e6f/sast-semgrep.json"
    assert result["report_s3_uri"] == f"s3://{REPORT_BUCKET}/{key}"
    obj = aws["s3"].get_object(Bucket=REPORT_BUCKET, Key=key)
    assert obj["ServerSideEncryption"] == "aws:kms" and obj["SSEKMSKeyId"] == aws["kms_key_arn"]
    assert obj["Body"].read() == fixture_bytes("semgrep.sarif")
    assert obj["Metadata"]["sha256"] == result["report_sha256"]
    assert obj["Metadata"]["source"] == "inline"


def test_account_from_sts_without_context_and_product_arn_override(aws, runtime, monkeypatch):
    result = handler.process(event_for("trivy.json", s3=aws["s3"]), None, runtime)
    assert result["imported"] == 2
    assert {f["ProductArn"] for f in all_findings(aws["securityhub"])} == {
        f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    }
    monkeypatch.setenv("PRODUCT_ARN", f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/custom")
    handler.process(event_for("trivy.json", s3=aws["s3"]), FakeContext(), runtime)
    assert {f["ProductArn"] for f in all_findings(aws["securityhub"])} == {
        f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/custom"
    }


@pytest.mark.parametrize(
    "fixture, threshold, status, blocking",
    [
        ("semgrep.sarif", "HIGH", "FAIL", 2),
        ("semgrep.sarif", "CRITICAL", "FAIL", 1),
        ("semgrep.sarif", "low", "FAIL", 6),
        ("semgrep.sarif", "NONE", "PASS", 0),
        ("pip-audit.json", "HIGH", "PASS", 0),
        ("pip-audit.json", "MEDIUM", "FAIL", 6),
        ("zap-baseline.json", "HIGH", "FAIL", 1),
        ("zap-baseline.json", "CRITICAL", "PASS", 0),
        ("zap-baseline.json", "LOW", "FAIL", 5),
        ("zap-baseline.json", "INFORMATIONAL", "FAIL", 6),
    ],
)
def test_severity_threshold(aws, runtime, fixture, threshold, status, blocking):
    result = handler.process(event_for(fixture, s3=aws["s3"], severity_threshold=threshold), FakeContext(), runtime)
    assert (result["status"], result["blocking"], result["threshold"]) == (status, blocking, "NONE" if threshold == "NONE" else threshold.upper())


def test_default_threshold_from_environment(aws, runtime, monkeypatch):
    monkeypatch.setenv("DEFAULT_SEVERITY_THRESHOLD", "MEDIUM")
    event = event_for("pip-audit.json", s3=aws["s3"])
    del event["severity_threshold"]
    result = handler.process(event, FakeContext(), runtime)
    assert result["threshold"] == "MEDIUM" and result["status"] == "FAIL"


# ---------------------------------------------------------------------------
# size limits of single findings
# ---------------------------------------------------------------------------
def test_long_fields_are_truncated_to_asff_limits(aws, runtime):
    doc = json.loads(make_sarif(1))
    doc["runs"][0]["tool"]["driver"]["rules"][0]["shortDescription"]["text"] = "T" * 1000
    doc["runs"][0]["results"][0]["message"]["text"] = "D" * 50_000
    doc["runs"][0]["tool"]["driver"]["rules"][0]["help"]["text"] = "R" * 5000
    handler.process(event_for(body=json.dumps(doc).encode(), s3=aws["s3"]), FakeContext(), runtime)
    (finding,) = all_findings(aws["securityhub"])
    assert len(finding["Title"]) == 256 and finding["Title"].endswith("...")
    assert len(finding["Description"]) == 1024 and finding["Description"].endswith("...")
    assert len(finding["Remediation"]["Recommendation"]["Text"]) == 512
    assert asff_problems(finding) == []


def test_oversized_finding_is_shrunk_below_240kb():
    finding = big_asff(1, pad=2048)
    finding["Resources"][0]["Details"] = {"Other": {f"k{i}": "v" * 1024 for i in range(50)}}
    finding["Vulnerabilities"] = [{"Id": "CVE-2024-0001", "ReferenceUrls": ["https://e.example/" + "a" * 4000] * 30}]
    assert len(json.dumps(finding)) > 240 * 1024
    shrunk = asff.enforce_size_limit(copy.deepcopy(finding))
    assert len(json.dumps(shrunk)) <= 240 * 1024
    assert asff_problems(shrunk) == []
    assert shrunk["Id"] == finding["Id"] and shrunk["Title"] == finding["Title"]


# ---------------------------------------------------------------------------
# CodePipeline invoke action (PutJob*Result stubbed: moto lacks them)
# ---------------------------------------------------------------------------
def _artifact_zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _job(aws, files: dict[str, bytes], user_parameters) -> dict:
    key = f"payments-pipeline/ScanOutput/{uuid.uuid4().hex[:7]}"
    aws["s3"].put_object(Bucket=SOURCE_BUCKET, Key=key, Body=_artifact_zip(files))
    return {
        "CodePipeline.job": {
            "id": "11111111-2222-4333-8444-555555555555",
            "accountId": ACCOUNT,
            "data": {
                "actionConfiguration": {
                    "configuration": {
                        "FunctionName": "findings-importer",
                        "UserParameters": user_parameters if isinstance(user_parameters, str) else json.dumps(user_parameters),
                    }
                },
                "inputArtifacts": [
                    {
                        "name": "ScanOutput",
                        "revision": None,
                        "location": {"type": "S3", "s3Location": {"bucketName": SOURCE_BUCKET, "objectKey": key}},
                    }
                ],
                "outputArtifacts": [],
                "artifactCredentials": {"accessKeyId": "ASIAEXAMPLE", "secretAccessKey": "secret", "sessionToken": "token"},
            },
        }
    }


def _params(fixture: str, **extra) -> dict:
    fmt, tool, stage = FIXTURE_CASES[fixture][:3]
    return {"format": fmt, "tool": tool, "stage": stage, "team": "payments", "pipeline": "payments-pipeline",
            "execution_id": "0f9e8d7c-6b5a-4a3b-8c2d-1e0f9a8b7c6d", "severity_threshold": "HIGH", **extra}


def _stub_codepipeline(runtime):
    client = boto3.client("codepipeline", region_name=REGION)
    captured: list[tuple[str, dict]] = []
    client.meta.events.register(
        "provide-client-params.codepipeline.*",
        lambda params, model, **_: captured.append((model.name, copy.deepcopy(params))),
    )
    runtime.codepipeline = client
    return Stubber(client), captured


def test_codepipeline_pass_reports_success(aws, runtime):
    stub, captured = _stub_codepipeline(runtime)
    stub.add_response("put_job_success_result", {}, {"jobId": "11111111-2222-4333-8444-555555555555",
                                                      "executionDetails": ANY, "outputVariables": ANY})
    event = _job(aws, {"reports/pip-audit.json": fixture_bytes("pip-audit.json"), "buildspec.log": b"ok"},
                 _params("pip-audit.json", report_path="reports/pip-audit.json"))
    with stub:
        result = handler.process(event, FakeContext(), runtime)
        stub.assert_no_pending_responses()
    assert result["status"] == "PASS" and result["imported"] == 6
    ((name, params),) = captured
    assert name == "PutJobSuccessResult"
    assert params["executionDetails"]["externalExecutionId"] == "0f9e8d7c-6b5a-4a3b-8c2d-1e0f9a8b7c6d"
    assert params["executionDetails"]["summary"].startswith("PASS: pip-audit (sca) found 6 finding(s)")
    assert params["outputVariables"]["status"] == "PASS" and params["outputVariables"]["blocking"] == "0"
    assert result["report_s3_uri"].endswith("/0f9e8d7c-6b5a-4a3b-8c2d-1e0f9a8b7c6d/sca-pip-audit.json")


def test_codepipeline_blocking_findings_fail_the_job(aws, runtime):
    stub, captured = _stub_codepipeline(runtime)
    stub.add_response("put_job_failure_result", {}, {"jobId": ANY, "failureDetails": ANY})
    params = _params("semgrep.sarif")
    del params["execution_id"]  # falls back to the job id
    event = _job(aws, {"semgrep.sarif": fixture_bytes("semgrep.sarif")}, params)
    with stub:
        result = handler.process(event, FakeContext(), runtime)
        stub.assert_no_pending_responses()
    assert result["status"] == "FAIL" and result["imported"] == 6
    ((name, sent),) = captured
    assert name == "PutJobFailureResult"
    assert sent["failureDetails"]["type"] == "JobFailed"
    assert "2 at or above HIGH" in sent["failureDetails"]["message"]
    assert sent["failureDetails"]["externalExecutionId"] == "11111111-2222-4333-8444-555555555555"


def test_codepipeline_malformed_report_fails_the_job(aws, runtime):
    stub, captured = _stub_codepipeline(runtime)
    stub.add_response("put_job_failure_result", {}, {"jobId": ANY, "failureDetails": ANY})
    event = _job(aws, {"zap.json": b'{"@programName": "ZAP"}'}, _params("zap-baseline.json"))
    with stub:
        result = handler.process(event, FakeContext(), runtime)
    assert result["status"] == "ERROR"
    message = captured[0][1]["failureDetails"]["message"]
    assert "zap report is malformed at $.site" in message
    head = aws["s3"].head_object(Bucket=REPORT_BUCKET, Key=result["report_s3_uri"].split("/", 3)[3])
    assert head["ServerSideEncryption"] == "aws:kms"


def test_codepipeline_bad_user_parameters_is_configuration_error(aws, runtime):
    stub, captured = _stub_codepipeline(runtime)
    stub.add_response("put_job_failure_result", {}, {"jobId": ANY, "failureDetails": ANY})
    event = _job(aws, {"r.json": b"{}"}, "{not json")
    with stub:
        result = handler.process(event, FakeContext(), runtime)
    assert result["status"] == "ERROR"
    assert captured[0][1]["failureDetails"]["type"] == "ConfigurationError"
    assert "UserParameters is not valid JSON" in captured[0][1]["failureDetails"]["message"]


def test_codepipeline_ambiguous_artifact_needs_report_path(aws, runtime):
    stub, captured = _stub_codepipeline(runtime)
    stub.add_response("put_job_failure_result", {}, {"jobId": ANY, "failureDetails": ANY})
    event = _job(aws, {"a.json": b"{}", "b.sarif": b"{}"}, _params("semgrep.sarif"))
    with stub:
        result = handler.process(event, FakeContext(), runtime)
    assert result["error"]["type"] == "ReportUnavailable"
    assert "set 'report_path'" in captured[0][1]["failureDetails"]["message"]


# ---------------------------------------------------------------------------
# packaging / entry point
# ---------------------------------------------------------------------------
def test_handler_entry_point_with_default_clients(aws):
    handler.reset_runtime()
    try:
        result = handler.handler(event_for("osv-scanner.json", s3=aws["s3"]), FakeContext())
    finally:
        handler.reset_runtime()
    assert result["status"] == "FAIL" and result["imported"] == 3
    assert len(all_findings(aws["securityhub"])) == 3


def test_modules_import_flat_as_in_the_lambda_bundle():
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); import handler, parsers;"
        "assert handler.parsers is parsers and handler.handler;"
        "r = parsers.parse_report('zap', open(sys.argv[2], 'rb').read(), parsers.ParseOptions(stage='dast'));"
        "print(len(r.findings))"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(FUNCTION_DIR), str(FIXTURES / "zap-baseline.json")],
        capture_output=True, text=True, env=env, cwd="/", timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "6"


def test_function_has_no_third_party_imports():
    allowed = {"boto3", "botocore"}
    stdlib = set(sys.stdlib_module_names)
    local = {p.stem for p in FUNCTION_DIR.glob("*.py")}
    for path in FUNCTION_DIR.glob("*.py"):
        for match in re.finditer(r"^\s*(?:from|import)\s+([A-Za-z_][\w]*)", path.read_text(), re.M):
            name = match.group(1)
            assert name in stdlib or name in allowed or name in local or name == "__future__", f"{path.name}: {name}"
