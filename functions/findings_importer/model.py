"""Tool-neutral representation of one scanner finding.

Parsers produce :class:`Finding` objects; :mod:`asff` turns them into ASFF.
Nothing here depends on AWS.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cvss:
    version: str  # "3.1"
    base_score: float
    vector: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Vulnerability:
    """Package vulnerability (SCA)."""

    id: str  # primary id, a CVE when the advisory has one
    aliases: tuple[str, ...] = ()
    package: str | None = None
    version: str | None = None
    ecosystem: str | None = None
    fixed_versions: tuple[str, ...] = ()
    manifest: str | None = None
    cvss: tuple[Cvss, ...] = ()
    vendor: str | None = None
    vendor_severity: str | None = None
    reference_urls: tuple[str, ...] = ()


@dataclass
class Finding:
    """One normalised finding.

    ``identity`` is the format's natural key for the finding *excluding* the
    team/pipeline/stage/tool scope (which :mod:`asff` adds) and excluding
    anything that changes between runs (execution id, timestamps).
    ``disambiguator`` is only used when two findings of the same report share
    an identity (e.g. the same rule matching twice in one file without
    fingerprints); it normally holds the line/column.
    """

    rule_id: str
    title: str
    description: str
    severity: str  # one of severity.LABELS
    severity_original: str
    identity: tuple[str, ...]
    disambiguator: tuple[str, ...] = ()
    rule_name: str | None = None
    file_path: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    target: str | None = None  # DAST: the scanned site; becomes the resource id
    source_url: str | None = None
    remediation: str | None = None
    remediation_url: str | None = None
    cwes: tuple[str, ...] = ()
    vulnerability: Vulnerability | None = None
    confidence: int | None = None  # 0..100
    suppressed: bool = False
    observed_at: str | None = None  # ISO 8601 UTC of the scan, when the report says
    details: dict[str, str] = field(default_factory=dict)  # -> Resources[0].Details.Other
