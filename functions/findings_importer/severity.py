"""Severity labels, ordering and the per-format severity mappings.

All scanners are normalised onto the Security Hub labels
``INFORMATIONAL < LOW < MEDIUM < HIGH < CRITICAL``.
"""

from __future__ import annotations

import math
import re

LABELS = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
_RANK = {label: i for i, label in enumerate(LABELS)}

#: Threshold value that disables the gate (never blocks).
THRESHOLD_DISABLED = "NONE"


def rank(label: str) -> int:
    return _RANK[label]


def normalize_label(value: str | None) -> str | None:
    """Map a vendor severity word onto a Security Hub label (None if unknown)."""
    if value is None:
        return None
    word = str(value).strip().upper()
    aliases = {
        "INFO": "INFORMATIONAL",
        "INFORMATIONAL": "INFORMATIONAL",
        "NONE": "INFORMATIONAL",
        "NEGLIGIBLE": "INFORMATIONAL",
        "LOW": "LOW",
        "MINOR": "LOW",
        "MEDIUM": "MEDIUM",
        "MODERATE": "MEDIUM",
        "HIGH": "HIGH",
        "IMPORTANT": "HIGH",
        "MAJOR": "HIGH",
        "CRITICAL": "CRITICAL",
    }
    return aliases.get(word)


def parse_threshold(value: str | None, default: str = "HIGH") -> str:
    """Validate a gate threshold: one of LABELS or ``NONE`` (gate disabled)."""
    if value is None or str(value).strip() == "":
        value = default
    word = str(value).strip().upper()
    if word in ("NONE", "OFF", "DISABLED"):
        return THRESHOLD_DISABLED
    label = normalize_label(word)
    if label is None:
        raise ValueError(
            f"severity_threshold must be one of {', '.join(LABELS)} or NONE, got {value!r}"
        )
    return label


def is_blocking(label: str, threshold: str) -> bool:
    if threshold == THRESHOLD_DISABLED:
        return False
    return rank(label) >= rank(threshold)


def label_from_score(score: float) -> str:
    """CVSS v3 qualitative rating (also GitHub's ``security-severity`` scale)."""
    if score >= 9.0:
        return "CRITICAL"
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    if score > 0.0:
        return "LOW"
    return "INFORMATIONAL"


SARIF_LEVELS = {
    "error": "HIGH",
    "warning": "MEDIUM",
    "note": "LOW",
    "none": "INFORMATIONAL",
}

ZAP_RISK = {0: "INFORMATIONAL", 1: "LOW", 2: "MEDIUM", 3: "HIGH"}
ZAP_RISK_NAMES = {0: "Informational", 1: "Low", 2: "Medium", 3: "High"}
# ZAP confidence 0=false positive, 1=low, 2=medium, 3=high, 4=user confirmed.
ZAP_CONFIDENCE = {0: 0, 1: 30, 2: 60, 3: 90, 4: 100}


# --------------------------------------------------------------------------
# CVSS v3.x base score (FIRST CVSS v3.1 specification, section 7).
# --------------------------------------------------------------------------
_AV = {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2}
_AC = {"L": 0.77, "H": 0.44}
_PR_UNCHANGED = {"N": 0.85, "L": 0.62, "H": 0.27}
_PR_CHANGED = {"N": 0.85, "L": 0.68, "H": 0.5}
_UI = {"N": 0.85, "R": 0.62}
_CIA = {"H": 0.56, "L": 0.22, "N": 0.0}
_CVSS3_RE = re.compile(r"^CVSS:3\.[01]/")


def _roundup(value: float) -> float:
    # The spec's floating-point-safe "round up to one decimal".
    as_int = int(round(value * 100000))
    if as_int % 10000 == 0:
        return as_int / 100000.0
    return (math.floor(as_int / 10000) + 1) / 10.0


def cvss3_base_score(vector: str) -> float | None:
    """Base score of a CVSS v3.0/v3.1 vector, or None if it is not one."""
    if not isinstance(vector, str) or not _CVSS3_RE.match(vector.strip()):
        return None
    metrics: dict[str, str] = {}
    for part in vector.strip().split("/")[1:]:
        if ":" not in part:
            return None
        key, _, val = part.partition(":")
        metrics[key] = val
    try:
        scope_changed = metrics["S"] == "C"
        if metrics["S"] not in ("U", "C"):
            return None
        av = _AV[metrics["AV"]]
        ac = _AC[metrics["AC"]]
        pr = (_PR_CHANGED if scope_changed else _PR_UNCHANGED)[metrics["PR"]]
        ui = _UI[metrics["UI"]]
        c, i, a = _CIA[metrics["C"]], _CIA[metrics["I"]], _CIA[metrics["A"]]
    except KeyError:
        return None
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    if scope_changed:
        impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    else:
        impact = 6.42 * iss
    exploitability = 8.22 * av * ac * pr * ui
    if impact <= 0:
        return 0.0
    if scope_changed:
        return _roundup(min(1.08 * (impact + exploitability), 10.0))
    return _roundup(min(impact + exploitability, 10.0))


def cvss_version(vector: str) -> str | None:
    match = re.match(r"^CVSS:(\d\.\d)/", vector or "")
    return match.group(1) if match else None
