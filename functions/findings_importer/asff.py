"""Conversion of normalised findings into the AWS Security Finding Format.

Field limits applied here are the documented ASFF ones (Title 256, Description
1024, Id/GeneratorId 512, Remediation text 512, ProductFields and
Resources[].Details.Other at most 50 pairs with keys <= 128 and values <= 2048
/ 1024 characters, at most 32 resources, finding <= 240 KB). Every string in
the output matches the API's ``.*\\S.*`` pattern: blank values are removed,
never sent.

Finding ``Id``s are stable: ``sha256`` over the scope (team, pipeline, stage,
tool) and the finding's natural key from the parser (rule id, location or
fingerprints, package/advisory, site/alert). The execution id and timestamps
are *not* part of it, so re-importing a report updates the existing Security
Hub findings instead of duplicating them.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

if __package__:
    from .model import Finding
else:  # flat Lambda bundle
    from model import Finding

SCHEMA_VERSION = "2018-10-08"
ID_VERSION = "v1"  # bump only if the identity scheme changes on purpose

MAX_TITLE = 256
MAX_DESCRIPTION = 1024
MAX_ID = 512
MAX_GENERATOR_ID = 512
MAX_REMEDIATION_TEXT = 512
MAX_MAP_ENTRIES = 50
MAX_MAP_KEY = 128
MAX_PRODUCT_FIELD_VALUE = 2048
MAX_OTHER_VALUE = 1024
MAX_RESOURCE_ID = 512
MAX_GENERIC_STRING = 1024
MAX_REFERENCE_URLS = 10
MAX_RELATED_VULNERABILITIES = 50
MAX_CWES = 20
MAX_FINDING_BYTES = 240 * 1024
ELLIPSIS = "..."

STAGE_TYPES = {
    "sast": ["Software and Configuration Checks/Vulnerabilities/SAST"],
    "dast": ["Software and Configuration Checks/Vulnerabilities/DAST"],
    "secrets": ["Sensitive Data Identifications/Passwords", "Effects/Data Exposure"],
}
TYPE_CVE = "Software and Configuration Checks/Vulnerabilities/CVE"
TYPE_SCA = "Software and Configuration Checks/Vulnerabilities/SCA"


class FindingTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class ScanContext:
    """Everything about the scan that is the same for all its findings."""

    account_id: str
    region: str
    partition: str
    product_arn: str
    team: str
    pipeline: str
    stage: str
    tool: str
    fmt: str
    execution_id: str
    timestamp: str  # CreatedAt/UpdatedAt, ISO 8601 UTC
    repository: str | None = None
    commit: str | None = None
    report_s3_uri: str | None = None


def product_arn(partition: str, region: str, account_id: str) -> str:
    """ARN of the account's default (custom integration) product."""
    return f"arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"


def partition_for_region(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def truncate(value: Any, limit: int) -> str | None:
    """Trim and cut ``value`` to ``limit`` characters (marking the cut)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


_SEGMENT = re.compile(r"[^A-Za-z0-9._-]+")


def id_segment(value: str, limit: int = 64) -> str:
    cleaned = _SEGMENT.sub("-", value).strip("-.") or "unknown"
    return cleaned[:limit]


def stable_id(ctx: ScanContext, key: tuple[str, ...]) -> str:
    material = "\x1f".join((ID_VERSION, ctx.team, ctx.pipeline, ctx.stage, ctx.tool) + tuple(key))
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
    prefix = "/".join(id_segment(x) for x in (ctx.team, ctx.pipeline, ctx.stage, ctx.tool))
    return f"{prefix}/{digest}"


def assign_ids(findings: list[Finding], ctx: ScanContext) -> list[str]:
    """Stable, unique Ids for one report's findings (same order).

    Findings whose natural key collides are told apart first by their
    disambiguator (line/column), then by their order of occurrence, so two
    distinct results never overwrite each other in Security Hub.
    """
    keys = [tuple(f.identity) for f in findings]
    counts = Counter(keys)
    keys = [
        key + ("@",) + tuple(f.disambiguator) if counts[key] > 1 and f.disambiguator else key
        for key, f in zip(keys, findings)
    ]
    counts = Counter(keys)
    seen: Counter = Counter()
    out = []
    for key in keys:
        if counts[key] > 1:
            seen[key] += 1
            key = key + ("#", str(seen[key]))
        out.append(stable_id(ctx, key))
    return out


def _clean(value: Any) -> Any:
    """Drop None, blank strings and empty containers, recursively."""
    if isinstance(value, dict):
        cleaned = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v is not None} or None
    if isinstance(value, list):
        cleaned = [_clean(v) for v in value]
        return [v for v in cleaned if v is not None] or None
    if isinstance(value, str):
        return value if value.strip() else None
    return value


def _string_map(pairs: dict[str, Any], value_limit: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs.items():
        key_text = truncate(key, MAX_MAP_KEY)
        value_text = truncate(value, value_limit)
        if key_text and value_text and key_text not in out:
            out[key_text] = value_text
        if len(out) == MAX_MAP_ENTRIES:
            break
    return out


def finding_types(ctx: ScanContext, finding: Finding) -> list[str]:
    if ctx.stage == "secrets":
        return list(STAGE_TYPES["secrets"])
    vuln = finding.vulnerability
    if vuln is not None:
        ids = (vuln.id,) + tuple(vuln.aliases)
        return [TYPE_CVE if any(i.upper().startswith("CVE-") for i in ids) else TYPE_SCA]
    return list(STAGE_TYPES.get(ctx.stage, STAGE_TYPES["sast"]))


def _vulnerabilities(ctx: ScanContext, finding: Finding) -> list[dict] | None:
    vuln = finding.vulnerability
    if vuln is not None:
        return [
            {
                "Id": truncate(vuln.id, MAX_GENERIC_STRING),
                "VulnerablePackages": [
                    {
                        "Name": truncate(vuln.package, MAX_GENERIC_STRING),
                        "Version": truncate(vuln.version, MAX_GENERIC_STRING),
                        "PackageManager": truncate(vuln.ecosystem, MAX_GENERIC_STRING),
                        "FixedInVersion": truncate(", ".join(vuln.fixed_versions), MAX_GENERIC_STRING),
                        "FilePath": truncate(vuln.manifest, MAX_GENERIC_STRING),
                        "Remediation": truncate(finding.remediation, MAX_REMEDIATION_TEXT),
                    }
                ],
                "Cvss": [
                    {
                        "Version": c.version,
                        "BaseScore": float(c.base_score),
                        "BaseVector": truncate(c.vector, MAX_GENERIC_STRING),
                        "Source": truncate(c.source, MAX_GENERIC_STRING),
                    }
                    for c in vuln.cvss
                ],
                "RelatedVulnerabilities": [
                    truncate(a, MAX_GENERIC_STRING) for a in vuln.aliases[:MAX_RELATED_VULNERABILITIES]
                ],
                "Vendor": {
                    "Name": truncate(vuln.vendor or ctx.tool, MAX_GENERIC_STRING),
                    "Url": finding.source_url,
                    "VendorSeverity": truncate(vuln.vendor_severity, MAX_GENERIC_STRING),
                },
                "ReferenceUrls": list(vuln.reference_urls[:MAX_REFERENCE_URLS]),
                "FixAvailable": "YES" if vuln.fixed_versions else "NO",
            }
        ]
    if ctx.stage == "sast" and (finding.cwes or finding.file_path):
        return [
            {
                "Id": truncate(finding.rule_id, MAX_GENERIC_STRING),
                "Vendor": {"Name": truncate(ctx.tool, MAX_GENERIC_STRING), "Url": finding.source_url},
                "CodeVulnerabilities": [
                    {
                        "Cwes": list(finding.cwes[:MAX_CWES]),
                        "FilePath": {
                            "FilePath": truncate(finding.file_path, MAX_GENERIC_STRING),
                            "FileName": truncate(posixpath.basename(finding.file_path or ""), MAX_GENERIC_STRING),
                            "StartLine": finding.start_line,
                            "EndLine": finding.end_line,
                        },
                    }
                ],
            }
        ]
    return None


def to_asff(finding: Finding, ctx: ScanContext, finding_id: str) -> dict[str, Any]:
    """Build one ASFF finding (already cleaned and size-checked)."""
    types = finding_types(ctx, finding)
    severity = {"Label": finding.severity, "Original": truncate(finding.severity_original, MAX_GENERIC_STRING)}
    resource_id = finding.target or ctx.repository or f"{ctx.team}/{ctx.pipeline}"
    other = {
        "team": ctx.team,
        "pipeline": ctx.pipeline,
        "stage": ctx.stage,
        "repository": ctx.repository,
        "commit": ctx.commit,
    }
    other.update(finding.details)
    product_fields = {
        "team": ctx.team,
        "pipeline": ctx.pipeline,
        "stage": ctx.stage,
        "tool": ctx.tool,
        "format": ctx.fmt,
        "executionId": ctx.execution_id,
        "repository": ctx.repository,
        "commit": ctx.commit,
        "ruleId": finding.rule_id,
        "ruleName": finding.rule_name,
        "cwe": ", ".join(finding.cwes),
        "reportS3Uri": ctx.report_s3_uri,
    }
    title = truncate(finding.title, MAX_TITLE) or truncate(f"{ctx.tool} finding {finding.rule_id}", MAX_TITLE)
    description = truncate(finding.description, MAX_DESCRIPTION) or title
    source_url = finding.source_url if finding.source_url and re.match(r"^https?://\S+$", finding.source_url) else None
    asff = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id[:MAX_ID],
        "ProductArn": ctx.product_arn,
        "ProductName": truncate(ctx.tool, MAX_GENERIC_STRING),
        "GeneratorId": truncate(f"{ctx.tool}/{finding.rule_id}", MAX_GENERATOR_ID),
        "AwsAccountId": ctx.account_id,
        "Region": ctx.region,
        "Types": types,
        "CreatedAt": ctx.timestamp,
        "UpdatedAt": ctx.timestamp,
        "LastObservedAt": finding.observed_at or ctx.timestamp,
        "Severity": severity,
        "Confidence": finding.confidence,
        "Title": title,
        "Description": description,
        "Remediation": {
            "Recommendation": {
                "Text": truncate(finding.remediation, MAX_REMEDIATION_TEXT),
                "Url": finding.remediation_url
                if finding.remediation_url and re.match(r"^https?://\S+$", finding.remediation_url)
                else None,
            }
        },
        "SourceUrl": source_url,
        "ProductFields": _string_map(product_fields, MAX_PRODUCT_FIELD_VALUE),
        "Resources": [
            {
                "Type": "Other",
                "Id": truncate(resource_id, MAX_RESOURCE_ID),
                "Partition": ctx.partition,
                "Region": ctx.region,
                "Details": {"Other": _string_map(other, MAX_OTHER_VALUE)},
            }
        ],
        "Vulnerabilities": _vulnerabilities(ctx, finding),
        "FindingProviderFields": {
            "Severity": dict(severity),
            "Types": list(types),
            "Confidence": finding.confidence,
        },
        "Workflow": {"Status": "SUPPRESSED"} if finding.suppressed else None,
        "RecordState": "ACTIVE",
    }
    return enforce_size_limit(_clean(asff))


def serialized_size(asff: dict) -> int:
    """Bytes this finding occupies in a BatchImportFindings request body.

    botocore serialises rest-json bodies with ``json.dumps`` defaults
    (ASCII-escaped), so this is exact, not an estimate.
    """
    return len(json.dumps(asff))


_CORE_PRODUCT_FIELDS = ("team", "pipeline", "stage", "tool", "ruleId")


def _drop_reference_urls(finding: dict) -> None:
    for vuln in finding.get("Vulnerabilities", []):
        vuln.pop("ReferenceUrls", None)


def _drop_resource_details(finding: dict) -> None:
    for resource in finding.get("Resources", []):
        resource.pop("Details", None)


def _drop_vulnerabilities(finding: dict) -> None:
    finding.pop("Vulnerabilities", None)


def _keep_core_product_fields(finding: dict) -> None:
    fields = finding.get("ProductFields") or {}
    finding["ProductFields"] = {k: v for k, v in fields.items() if k in _CORE_PRODUCT_FIELDS}


def _drop_remediation(finding: dict) -> None:
    finding.pop("Remediation", None)


# Optional parts dropped, in this order, until a finding fits in 240 KB.
_SHRINK_STEPS = (
    _drop_reference_urls,
    _drop_resource_details,
    _drop_vulnerabilities,
    _keep_core_product_fields,
    _drop_remediation,
)


def enforce_size_limit(asff: dict, limit: int = MAX_FINDING_BYTES) -> dict:
    """Return ``asff`` (modified in place) once it serialises to <= ``limit``."""
    if serialized_size(asff) <= limit:
        return asff
    for step in _SHRINK_STEPS:
        step(asff)
        if serialized_size(asff) <= limit:
            return asff
    raise FindingTooLarge(f"finding {asff.get('Id')} is {serialized_size(asff)} bytes, above {limit}")
