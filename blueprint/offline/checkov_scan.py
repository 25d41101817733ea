"""checkov on the offline plan: export each stack as Terraform plan JSON, scan it offline, apply waivers.

    python -m blueprint.offline.checkov_scan --checkov venv-checkov/bin/checkov --stacks dev prod

For each stack: plan it (``blueprint.offline.plan``), export ``build/tfplan-<stack>.json``
(``blueprint.offline.tfplan``), write every CloudFormation template the plan deploys
(StackSets, stacks; parameters filled in per deployment) to ``build/cfn-<stack>/``, and run
checkov once on all of it -- frameworks ``terraform_plan``, ``cloudformation`` and
``secrets`` -- with no network use (``--skip-download``, no platform API key, no update
check). Then apply ``checkov-waivers.yaml``, print a table and write
``build/checkov-<stack>.json``. See docs/checkov.md.

Exit codes: 0 every failing check is waived; 1 an unwaived failure (an expired waiver's
included), or with --fail-on-stale a waiver that matches nothing; 2 the scan could not run
(configuration error, bad waiver file, checkov missing or crashed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from blueprint.offline import tfplan

REPO = Path(__file__).resolve().parent.parent.parent
WAIVERS = REPO / "checkov-waivers.yaml"
DEFAULT_CHECKOV = REPO / "venv-checkov" / "bin" / "checkov"
FRAMEWORKS = ("terraform_plan", "cloudformation", "secrets")
# Terraform types whose attribute is a whole CloudFormation template: checkov's terraform_plan
# checks do not look inside it, so each distinct template is also scanned as CloudFormation.
TEMPLATE_ATTRIBUTES = {"aws_cloudformation_stack_set": "template_body", "aws_cloudformation_stack": "template_body"}
EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2

# Environment for the checkov process: nothing that would make it talk to a platform or PyPI.
OFFLINE_ENV = {
    "BC_SKIP_MAPPING": "TRUE",  # no download of the check-id mapping
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",  # no "new version available" lookup
    "LOG_LEVEL": "WARNING",
}
PLATFORM_VARS = ("BC_API_KEY", "PRISMA_API_URL", "BC_PLATFORM", "CKV_API_KEY")


class ScanError(Exception):
    pass


# --- waivers -----------------------------------------------------------------------------


@dataclass
class Waiver:
    check: str
    resource: str | list[str]  # fnmatch pattern(s) on the Terraform address (e.g. "aws_s3_bucket.*-logs-bucket")
    reason: str
    expires: dt.date | None = None
    stacks: list[str] | None = None  # None: every stack
    # Only resources carrying this tag (set from config, e.g. privileged-reason): the waiver
    # follows the declaration, so a new team's declared exception needs no waiver edit.
    when_tag: str | None = None
    matched: int = 0

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def applies(self, stack: str, check_id: str, address: str, tags: dict[str, Any] | None = None) -> bool:
        if self.stacks is not None and stack not in self.stacks:
            return False
        if self.when_tag is not None and not (tags or {}).get(self.when_tag):
            return False
        patterns = [self.resource] if isinstance(self.resource, str) else self.resource
        return check_id == self.check and any(fnmatch.fnmatchcase(address, p) for p in patterns)

    def label(self) -> str:
        resource = self.resource if isinstance(self.resource, str) else " ".join(self.resource)
        return (f"{self.check} {resource}" + (f" (tagged {self.when_tag})" if self.when_tag else "")
                + (f" [{', '.join(self.stacks)}]" if self.stacks else ""))


def load_waivers(path: Path) -> list[Waiver]:
    """Read and validate ``checkov-waivers.yaml``; every problem is reported at once."""
    if not path.exists():
        return []
    doc = yaml.safe_load(path.read_text()) or {}
    items = doc.get("waivers") or []
    problems, out = [], []
    for i, item in enumerate(items):
        where = f"{path.name}: waivers[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: not a mapping")
            continue
        unknown = set(item) - {"check", "resource", "reason", "expires", "stacks", "when_tag"}
        if unknown:
            problems.append(f"{where}: unknown keys {sorted(unknown)}")
        check, resource, reason = item.get("check"), item.get("resource"), item.get("reason")
        if not isinstance(check, str) or not check.startswith("CKV"):
            problems.append(f"{where}: 'check' must be a checkov id such as CKV_AWS_144")
        patterns = resource if isinstance(resource, list) else [resource]
        if not patterns or not all(isinstance(p, str) and p for p in patterns):
            problems.append(f"{where}: 'resource' must be an address pattern (or a list of them) such as aws_s3_bucket.*-logs-bucket")
        if not isinstance(reason, str) or len(reason.strip()) < 20:
            problems.append(f"{where}: 'reason' must say why (at least 20 characters)")
        expires = item.get("expires")
        if expires is not None and not isinstance(expires, dt.date):
            try:
                expires = dt.date.fromisoformat(str(expires))
            except ValueError:
                problems.append(f"{where}: 'expires' must be a date (YYYY-MM-DD)")
                expires = None
        stacks = item.get("stacks")
        if stacks is not None and (not isinstance(stacks, list) or not all(isinstance(s, str) for s in stacks)):
            problems.append(f"{where}: 'stacks' must be a list of stack names")
            stacks = None
        when_tag = item.get("when_tag")
        if when_tag is not None and (not isinstance(when_tag, str) or not when_tag):
            problems.append(f"{where}: 'when_tag' must be a tag key such as privileged-reason")
        if not any(p.startswith(where) for p in problems):
            out.append(Waiver(str(check), resource if isinstance(resource, list) else str(resource), str(reason).strip(), expires, stacks, when_tag))
    if problems:
        raise ScanError("invalid waivers:\n  " + "\n  ".join(problems))
    return out


# --- checkov -----------------------------------------------------------------------------


def _executable(checkov: Path) -> str:
    """An absolute path (checkov runs with the plan's folder as working directory)."""
    if os.sep in str(checkov):
        return str(checkov.absolute())
    return shutil.which(str(checkov)) or str(checkov)


def checkov_command(checkov: Path, files: list[Path], quiet: bool = True) -> list[str]:
    cmd = [_executable(checkov)]
    for f in files:
        cmd += ["-f", str(f.absolute())]
    cmd += [
        "--framework",
        *FRAMEWORKS,
        "--skip-download",
        "--output",
        "json",
        "--compact",
    ]
    if quiet:
        cmd.append("--quiet")  # failed checks only; the summary still counts the passed ones
    return cmd


def run_checkov(checkov: Path, files: list[Path], quiet: bool = True) -> list[dict[str, Any]]:
    """Run checkov on a Terraform-plan file and templates; return its reports (one per framework)."""
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARS} | OFFLINE_ENV
    try:
        proc = subprocess.run(
            checkov_command(checkov, files, quiet),
            capture_output=True,
            text=True,
            env=env,
            cwd=files[0].absolute().parent,
            timeout=600,
        )
    except FileNotFoundError as exc:
        raise ScanError(f"checkov not found at {checkov} (make venv-checkov/.installed)") from exc
    if proc.returncode not in (0, 1):
        raise ScanError(f"checkov exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    try:
        out = json.loads(proc.stdout)
    except ValueError as exc:
        raise ScanError(f"checkov printed no JSON:\n{proc.stdout[:1000]}\n{proc.stderr[-2000:]}") from exc
    reports = out if isinstance(out, list) else [out]
    # A framework with nothing to scan prints just a summary; normalise it to a report.
    return [r if "results" in r else {"check_type": "?", "results": {"failed_checks": [], "passed_checks": []}, "summary": r} for r in reports]


def checkov_version(checkov: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in PLATFORM_VARS} | OFFLINE_ENV
    try:
        proc = subprocess.run([_executable(checkov), "--version"], capture_output=True, text=True, env=env, timeout=120)
    except FileNotFoundError as exc:
        raise ScanError(f"checkov not found at {checkov}") from exc
    return proc.stdout.strip()


def _address_of_line(plan_text: str) -> dict[int, str]:
    """Line number (1-based) -> the Terraform address whose block holds it (for secrets findings,
    which checkov reports by file line)."""
    out, current = {}, ""
    for n, line in enumerate(plan_text.splitlines(), start=1):
        s = line.strip()
        if s.startswith('"address": "'):
            current = s[len('"address": "') :].rstrip('",')
        out[n] = current
    return out


def _with_parameters(template: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The template with its parameters' defaults set to the values a deployment passes.

    checkov evaluates a template with its parameter defaults and drops resources whose
    condition is false, so a template whose defaults mean "not assigned" would show it
    nothing; this gives it the values of a real deployment instead."""
    out = json.loads(json.dumps(template))
    params = out.get("Parameters") or {}
    for key, value in values.items():
        if key in params and isinstance(params[key], dict) and isinstance(value, (str, int, float, bool)):
            params[key]["Default"] = value
    return out


def extract_templates(plan: dict[str, Any], out_dir: Path) -> dict[Path, list[str]]:
    """Write each distinct deployment of a CloudFormation template embedded in the plan to
    ``out_dir``, parameters filled in; return file -> the Terraform addresses that deploy it
    (stack sets first, then stacks, then stack-set instances).

    A stack is scanned with its parameters; a stack set with its own, and once more per
    instance that overrides some (e.g. one per team account), attributed to that instance."""
    import hashlib

    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.json"):
        old.unlink()
    planned = {r["address"]: r for r in plan["planned_values"]["root_module"]["resources"]}
    configured = {r["address"]: r for r in plan["configuration"]["root_module"]["resources"]}
    instances: dict[str, list[str]] = {}
    for address, r in planned.items():
        if r["type"] != "aws_cloudformation_stack_set_instance":
            continue
        ref = (configured.get(address, {}).get("expressions", {}).get("stack_set_name") or {}).get("references") or []
        target = ref[1] if len(ref) > 1 else next(
            (a for a, s in planned.items() if s["type"] == "aws_cloudformation_stack_set" and s["values"].get("name") == r["values"].get("stack_set_name")),
            None,
        )
        if target:
            instances.setdefault(target, []).append(address)

    deployments: list[tuple[str, dict[str, Any], dict[str, Any]]] = []  # (address, template, parameter values)
    for address, r in planned.items():
        attr = TEMPLATE_ATTRIBUTES.get(r["type"])
        body = r["values"].get(attr) if attr else None
        if not isinstance(body, str) or not body.strip():
            continue
        try:
            template = json.loads(body)
        except ValueError:
            continue  # a YAML template: not exported (none in this program)
        params = dict(r["values"].get("parameters") or {})
        overriding = [i for i in instances.get(address, []) if planned[i]["values"].get("parameter_overrides")]
        if r["type"] == "aws_cloudformation_stack" or len(overriding) < len(instances.get(address, [])) or not overriding:
            deployments.append((address, template, params))
        for inst in overriding:
            deployments.append((inst, template, params | planned[inst]["values"]["parameter_overrides"]))

    order = ["aws_cloudformation_stack_set", "aws_cloudformation_stack", "aws_cloudformation_stack_set_instance"]
    users: dict[str, list[str]] = {}
    texts: dict[str, str] = {}
    for address, template, params in deployments:
        text = json.dumps(_with_parameters(template, params), indent=1)  # one key a line: checkov reports lines
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        texts[digest] = text
        users.setdefault(digest, []).append(address)
    out = {}
    for digest, text in texts.items():
        path = out_dir / f"template-{digest}.json"
        path.write_text(text + "\n")
        out[path] = sorted(users[digest], key=lambda a: (order.index(a.split(".")[0]), a))
    return out


@dataclass
class Finding:
    check_id: str
    name: str
    address: str
    urn: str
    pulumi_type: str
    framework: str
    guideline: str | None = None
    status: str = "FAILED"  # FAILED | WAIVED | EXPIRED
    reason: str | None = None
    waiver: str | None = None


@dataclass
class StackResult:
    stack: str
    plan_file: Path
    findings: list[Finding] = field(default_factory=list)
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    parsing_errors: int = 0
    resources: int = 0
    notes: list[str] = field(default_factory=list)
    passed_checks: list[dict[str, str]] = field(default_factory=list)  # only when not quiet
    tags: dict[str, dict[str, Any]] = field(default_factory=dict)  # URN -> the resource's tags in the plan

    @property
    def unwaived(self) -> list[Finding]:
        return [f for f in self.findings if f.status != "WAIVED"]

    @property
    def waived(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "WAIVED"]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "tfplan": str(self.plan_file),
            "summary": {
                "resources": self.resources,
                "checks_run": self.passed + self.failed,
                "passed": self.passed,
                "failed": self.failed,
                "waived": len(self.waived),
                "unwaived": len(self.unwaived),
                "skipped": self.skipped,
                "parsing_errors": self.parsing_errors,
            },
            "findings": [f.__dict__ for f in self.findings],
            "passed_checks": self.passed_checks,
            "conversion_notes": self.notes,
        }


def collect(
    reports: list[dict[str, Any]],
    plan: dict[str, Any],
    plan_text: str,
    stack: str,
    templates: dict[Path, list[str]] | None = None,
) -> StackResult:
    """Turn checkov's reports into findings keyed by Terraform address and Pulumi URN.

    A finding inside an embedded CloudFormation template is addressed
    ``<address of the stack set, stack or instance>#<CloudFormation type>.<logical id>``."""
    meta = plan.get("pulumi", {}).get("resources", {})
    by_file = {str(p.absolute()): users for p, users in (templates or {}).items()}
    lines = None
    result = StackResult(stack=stack, plan_file=Path())
    seen: set[tuple[str, str]] = set()
    for rep in reports:
        fw = rep.get("check_type", "?")
        summary = rep.get("summary", {})
        result.passed += summary.get("passed", 0)
        result.failed += summary.get("failed", 0)
        result.skipped += summary.get("skipped", 0)
        result.parsing_errors += summary.get("parsing_errors", 0)
        if fw in ("terraform_plan", "cloudformation"):
            result.resources += summary.get("resource_count", 0)
        for c in rep["results"].get("failed_checks", []):
            address = c.get("resource_address") or c.get("resource") or ""
            template_users = by_file.get(c.get("file_abs_path", ""))
            if template_users:
                where = c.get("resource", "") if fw != "secrets" else f"line {(c.get('file_line_range') or [0])[0]}"
                address = f"{template_users[0]}#{where}"
            elif fw == "secrets":
                lines = lines or _address_of_line(plan_text)
                start = (c.get("file_line_range") or [0])[0]
                address = lines.get(start, "") or address
            key = (c["check_id"], address)
            if key in seen:  # secrets: the same value in planned_values and resource_changes
                result.failed -= 1
                continue
            seen.add(key)
            m = meta.get(address.split("#", 1)[0], {})
            result.findings.append(
                Finding(
                    check_id=c["check_id"],
                    name=c.get("check_name", ""),
                    address=address,
                    urn=m.get("urn", ""),
                    pulumi_type=m.get("type", ""),
                    framework=fw,
                    guideline=c.get("guideline"),
                )
            )
        for c in rep["results"].get("passed_checks", []):
            address = c.get("resource_address") or c.get("resource", "")
            template_users = by_file.get(c.get("file_abs_path", ""))
            if template_users:
                address = f"{template_users[0]}#{c.get('resource', '')}"
            result.passed_checks.append({"check_id": c["check_id"], "address": address})
    return result


def apply_waivers(result: StackResult, waivers: list[Waiver], today: dt.date) -> None:
    for f in result.findings:
        for w in waivers:
            if not w.applies(result.stack, f.check_id, f.address, result.tags.get(f.urn)):
                continue
            w.matched += 1
            if w.expired(today):
                f.status, f.waiver = "EXPIRED", w.label()
                f.reason = f"waiver expired {w.expires}: {w.reason}"
                continue
            f.status, f.waiver, f.reason = "WAIVED", w.label(), w.reason
            break


def stale_waivers(waivers: list[Waiver], stacks: list[str]) -> list[Waiver]:
    """Waivers for a scanned stack that matched no finding: the problem is gone (or the pattern is wrong)."""
    return [w for w in waivers if w.matched == 0 and (w.stacks is None or set(w.stacks) & set(stacks))]


# --- one stack ---------------------------------------------------------------------------


def scan_stack(stack: str, checkov: Path, out_dir: Path, quiet: bool = True, doc: dict[str, Any] | None = None) -> StackResult:
    """Plan (unless ``doc`` is given), export and scan one stack; waivers are not applied here."""
    if doc is None:
        from blueprint.offline.plan import EXIT_CONFIG, plan_stack

        code, doc = plan_stack(stack)
        if code == EXIT_CONFIG:
            raise ScanError(f"{stack}: configuration rejected; run `make plan STACK={stack}`")
    plan_file, conversion = tfplan.export(doc, out_dir)
    templates = extract_templates(conversion.plan, out_dir / f"cfn-{stack}")
    reports = run_checkov(checkov, [plan_file, *templates], quiet)
    result = collect(reports, conversion.plan, plan_file.read_text(), stack, templates)
    result.plan_file = plan_file
    result.notes = conversion.notes()
    result.tags = {r["urn"]: r["inputs"]["tags"] for r in doc["resources"] if isinstance(r["inputs"].get("tags"), dict)}
    return result


# --- report ------------------------------------------------------------------------------


def table(results: list[StackResult]) -> str:
    rows = [("stack", "check", "resource", "status", "why")]
    for r in results:
        for f in sorted(r.findings, key=lambda f: (f.status == "WAIVED", f.check_id, f.address)):
            why = f.reason or f.name
            rows.append((r.stack, f.check_id, f.address, f.status, why if len(why) <= 90 else why[:87] + "..."))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(widths[i]) if i < 4 else c for i, c in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "-" * min(160, max(len(line) for line in lines)))
    out = ["\n".join(lines) if len(rows) > 1 else "no failing checks", ""]
    out.append(f"{'stack':8} {'resources':>9} {'checks':>7} {'passed':>7} {'failed':>7} {'waived':>7} {'unwaived':>9}")
    for r in results:
        out.append(
            f"{r.stack:8} {r.resources:>9} {r.passed + r.failed:>7} {r.passed:>7} {r.failed:>7} {len(r.waived):>7} {len(r.unwaived):>9}"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--checkov", type=Path, default=Path(os.environ.get("CHECKOV_BIN") or DEFAULT_CHECKOV))
    ap.add_argument("--stacks", nargs="+", default=["dev", "prod"])
    ap.add_argument("--waivers", type=Path, default=WAIVERS)
    ap.add_argument("--out", type=Path, default=REPO / "build")
    ap.add_argument("--all-results", action="store_true", help="keep passed checks in the report (no --quiet)")
    ap.add_argument("--fail-on-stale", action="store_true", help="a waiver that matches nothing fails the run")
    ap.add_argument("--plans", type=Path, help="reuse written plans (<dir>/plan-<stack>.json) instead of planning again (CI plans once)")
    ap.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today(), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    try:
        waivers = load_waivers(args.waivers)
        print(f"checkov {checkov_version(args.checkov)} (offline: --skip-download, no platform key)")
        results = []
        for stack in args.stacks:
            doc = json.loads((args.plans / f"plan-{stack}.json").read_text()) if args.plans else None
            r = scan_stack(stack, args.checkov, args.out, quiet=not args.all_results, doc=doc)
            apply_waivers(r, waivers, args.today)
            (args.out / f"checkov-{stack}.json").write_text(json.dumps(r.to_json(), indent=1) + "\n")
            results.append(r)
    except ScanError as exc:
        print(f"checkov scan: {exc}", file=sys.stderr)
        return EXIT_ERROR

    print(table(results))
    for r in results:
        for note in r.notes:
            print(f"note ({r.stack}): {note}")
        if r.parsing_errors:
            print(f"ERROR ({r.stack}): checkov could not parse {r.plan_file}")
    stale = stale_waivers(waivers, args.stacks)
    for w in stale:
        print(f"stale waiver (matches nothing in {', '.join(args.stacks)}): {w.label()} -- remove it if the problem is fixed")
    unwaived = sum(len(r.unwaived) for r in results)
    bad = unwaived or any(r.parsing_errors for r in results) or (args.fail_on_stale and stale)
    print(f"\n{'FAIL' if bad else 'OK'}: {unwaived} unwaived failing check(s); reports in {args.out}/checkov-<stack>.json")
    return EXIT_FAILED if bad else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
