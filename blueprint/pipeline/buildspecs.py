"""Buildspecs of the platform-owned security scans, and the tools they pin.

The team owns its build (``buildspec.yml`` in its repository). The scans are the
platform's: their buildspecs are inline in the CodeBuild projects, so a team cannot skip
or weaken a scan by editing its repository.

Each scan

* installs its tool at an exact version (pip ``==`` pins; ``go install module@vX.Y.Z``,
  whose download the Go checksum database verifies; an image pinned by digest for ZAP),
* writes one report (SARIF or JSON) into ``.reports/`` and publishes only that file as
  its output artifact, for the findings importer to read from the artifact zip,
* never fails on *findings* (the importer judges them against the team's threshold and
  stops the pipeline), but fails on a tool error or a missing/unparseable report, so a
  broken scanner can never look like a clean scan (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

REPORT_DIR = ".reports"

# Exact versions. Bump deliberately, in review, like any other dependency.
SEMGREP = "1.185.0"  # PyPI
GITLEAKS = "v8.18.2"  # Go module github.com/zricethezav/gitleaks/v8
OSV_SCANNER = "v1.9.2"  # Go module github.com/google/osv-scanner
SCAN_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"  # AWS-curated; Python 3 and Go present


@dataclass(frozen=True)
class Scan:
    stage: str  # the importer's "stage": sast | secrets | sca | dast
    tool: str  # scanner name, part of every finding's Id
    format: str  # the importer's report format
    report: str  # file name inside the output artifact
    action: str  # CodePipeline action name
    artifact: str  # output artifact name


SCANS: dict[str, Scan] = {
    "sast": Scan("sast", "semgrep", "sarif", "semgrep.sarif", "SAST", "SastReport"),
    "secrets": Scan("secrets", "gitleaks", "sarif", "gitleaks.sarif", "SecretDetection", "SecretsReport"),
    "sca": Scan("sca", "osv-scanner", "osv", "osv-scanner.json", "SCA", "ScaReport"),
    "dast": Scan("dast", "zap", "zap", "zap-baseline.json", "ZAPBaseline", "DastReport"),
}


def _check_report(scan: Scan) -> str:
    # A report that is missing or not JSON fails the build: no silent "clean" scans.
    return f'python3 -c "import json,sys; json.load(open(sys.argv[1]))" "{REPORT_DIR}/{scan.report}"'


def _spec(install: list[str], build: list[str], scan: Scan) -> dict[str, Any]:
    phases: dict[str, Any] = {}
    if install:
        phases["install"] = {"commands": install}
    phases["build"] = {"commands": [f"mkdir -p {REPORT_DIR}", *build, _check_report(scan)]}
    return {
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": phases,
        "artifacts": {"base-directory": REPORT_DIR, "files": [scan.report], "discard-paths": "yes"},
    }


def sast() -> dict[str, Any]:
    s = SCANS["sast"]
    return _spec(
        [f'python3 -m pip install --disable-pip-version-check --no-cache-dir "semgrep=={SEMGREP}"'],
        [
            # Exit 0 with findings (no --error); a non-zero exit is a scanner failure.
            f"semgrep scan --config p/default --metrics off --exclude {REPORT_DIR} --sarif --output {REPORT_DIR}/{s.report} .",
        ],
        s,
    )


def secrets() -> dict[str, Any]:
    s = SCANS["secrets"]
    return _spec(
        [f"GOBIN=/usr/local/bin go install github.com/zricethezav/gitleaks/v8@{GITLEAKS}"],
        [
            # --redact: the report (and Security Hub) must never hold the secret itself.
            f"gitleaks detect --no-git --source . --redact --exit-code 0 --report-format sarif --report-path {REPORT_DIR}/{s.report}",
        ],
        s,
    )


def sca() -> dict[str, Any]:
    s = SCANS["sca"]
    out = f"{REPORT_DIR}/{s.report}"
    return _spec(
        [f"GOBIN=/usr/local/bin go install github.com/google/osv-scanner/cmd/osv-scanner@{OSV_SCANNER}"],
        [
            # 0: clean, 1: vulnerabilities found (judged by the importer), 128: no lockfile
            # found (an empty, valid report); anything else is a scanner failure.
            "set +e\n"
            f"osv-scanner scan --recursive --format json --output {out} .\n"
            "rc=$?\n"
            "set -e\n"
            f'if [ "$rc" -eq 128 ]; then echo \'{{"results": []}}\' > {out}; '
            'elif [ "$rc" -gt 1 ]; then echo "osv-scanner failed ($rc)"; exit "$rc"; fi\n',
        ],
        s,
    )


def dast() -> dict[str, Any]:
    """ZAP baseline (passive) scan; the project's build image *is* the ZAP image."""
    s = SCANS["dast"]
    return _spec(
        [],
        [
            # ZAP writes reports under /zap/wrk. Exit 1 (FAIL rules) and 2 (WARN) are
            # findings for the importer; 3 and above mean ZAP itself failed.
            "mkdir -p /zap/wrk\n"
            "rules=\n"
            "if [ -f .zap/rules.tsv ]; then cp .zap/rules.tsv /zap/wrk/rules.tsv; rules='-c rules.tsv'; fi\n"
            "set +e\n"
            f'/zap/zap-baseline.py -t "$DAST_TARGET_URL" -J {s.report} $rules\n'
            "rc=$?\n"
            "set -e\n"
            'if [ "$rc" -ge 3 ]; then echo "ZAP failed ($rc)"; exit "$rc"; fi\n'
            f"cp /zap/wrk/{s.report} {REPORT_DIR}/{s.report}\n",
        ],
        s,
    )


BUILDERS = {"sast": sast, "secrets": secrets, "sca": sca, "dast": dast}


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Multi-line shell blocks as literal blocks: readable in the console and in reviews.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(kind: str) -> str:
    """The buildspec as YAML, deterministic."""
    return yaml.dump(BUILDERS[kind](), Dumper=_Dumper, sort_keys=False, width=1000)
