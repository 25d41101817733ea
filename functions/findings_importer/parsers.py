"""Report parsers: SARIF 2.1.0, pip-audit JSON, OSV-Scanner JSON, Trivy JSON, ZAP JSON.

Every parser validates the structure it relies on and raises
:class:`errors.ReportFormatError` naming the format, the JSON path and the
problem. Parsers never drop a finding silently: anything skipped on purpose
(SARIF ``pass`` results, pip-audit dependencies that could not be audited) is
reported in :attr:`ParsedReport.warnings`.

Secrets: for the ``secrets`` stage the result message and code snippet are
never copied into a finding (scanners such as gitleaks put the secret itself
in ``region.snippet`` unless run with ``--redact``).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

if __package__:
    from . import severity as sev
    from .errors import ReportFormatError
    from .model import Cvss, Finding, Vulnerability
else:  # flat Lambda bundle
    import severity as sev
    from errors import ReportFormatError
    from model import Cvss, Finding, Vulnerability


@dataclass
class ParsedReport:
    format: str
    findings: list[Finding]
    tool_name: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ParseOptions:
    stage: str = "sast"
    #: Label for findings whose report carries no severity at all
    #: (pip-audit never does). Configurable per event.
    unscored_severity: str = "MEDIUM"


# --------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------
def decode_json(fmt: str, body: bytes | str) -> Any:
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ReportFormatError(fmt, f"not valid UTF-8 ({exc.reason} at byte {exc.start})")
    else:
        text = body.lstrip("\ufeff")
    if not text.strip():
        raise ReportFormatError(fmt, "the report is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportFormatError(
            fmt, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise ReportFormatError(fmt, "not valid JSON: nesting too deep") from None


def _s(value: Any) -> str | None:
    """Non-blank string or None (numbers are accepted and stringified)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _obj(fmt: str, value: Any, path: str, *, required: bool = True) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        what = "missing" if value is None else f"expected an object, got {type(value).__name__}"
        raise ReportFormatError(fmt, what, path)
    return value


def _arr(fmt: str, value: Any, path: str, *, required: bool = True) -> list:
    if value is None and not required:
        return []
    if not isinstance(value, list):
        what = "missing" if value is None else f"expected an array, got {type(value).__name__}"
        raise ReportFormatError(fmt, what, path)
    return value


def _opt_int(fmt: str, value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReportFormatError(fmt, f"expected an integer, got {value!r}", path)
    return value


def _dedupe(items) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return tuple(seen)


def _primary_id(ids) -> str:
    ids = sorted(set(i for i in ids if i))
    cves = [i for i in ids if i.upper().startswith("CVE-")]
    return (cves or ids)[0]


def _cwes_from_tags(tags: Any) -> list[str]:
    out = []
    if isinstance(tags, list):
        for tag in tags:
            if isinstance(tag, str):
                out.extend(f"CWE-{n}" for n in re.findall(r"\bCWE-(\d+)", tag, re.I))
    return out


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def upgrade_target(installed: str | None, fixed: tuple[str, ...] | list[str]) -> str | None:
    """The lowest fixed version above ``installed`` (approximate ordering)."""
    if not fixed:
        return None
    if installed:
        current = _version_key(installed)
        newer = [v for v in fixed if _version_key(v) > current]
        if newer:
            return min(newer, key=_version_key)
    return max(fixed, key=_version_key)


def _upgrade_text(name: str, installed: str | None, fixed) -> str:
    target = upgrade_target(installed, fixed)
    if target:
        return f"Upgrade {name} to {target} or later."
    return f"No fixed release of {name} is known yet; assess the exposure and mitigate."


def _pypi_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def iso_utc(value: Any) -> str | None:
    """Normalise an ISO-8601 timestamp to ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC)."""
    text = _s(value)
    if not text:
        return None
    text = text.replace("Z", "+00:00").replace("z", "+00:00")
    # Python < 3.11 can't parse nanoseconds; trim the fraction to microseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_TAG_BREAK = re.compile(r"<\s*(br\s*/?|/p|/li|/div|/h\d)\s*>", re.I)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(value: Any) -> str:
    text = _s(value) or ""
    text = _TAG_BREAK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


_URL = re.compile(r"https?://[^\s<>\"']+")


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and bool(re.match(r"^https?://\S+$", value))


# --------------------------------------------------------------------------
# SARIF 2.1.0
# --------------------------------------------------------------------------
def _sarif_text(message: dict | None, rule: dict | None) -> str | None:
    if not isinstance(message, dict):
        return None
    text = _s(message.get("text"))
    if text is None and message.get("id") and rule:
        strings = rule.get("messageStrings") or {}
        entry = strings.get(message["id"]) if isinstance(strings, dict) else None
        if isinstance(entry, dict):
            text = _s(entry.get("text"))
    if text and isinstance(message.get("arguments"), list):
        for index, arg in enumerate(message["arguments"]):
            text = text.replace("{%d}" % index, str(arg))
    return text


def _sarif_rules(fmt: str, run: dict, path: str):
    tool = _obj(fmt, run.get("tool"), f"{path}.tool")
    driver = _obj(fmt, tool.get("driver"), f"{path}.tool.driver")
    name = _s(driver.get("name"))
    if not name:
        raise ReportFormatError(fmt, "missing the tool name", f"{path}.tool.driver.name")
    by_id: dict[str, dict] = {}
    driver_rules = _arr(fmt, driver.get("rules"), f"{path}.tool.driver.rules", required=False)
    for idx, rule in enumerate(driver_rules):
        rule = _obj(fmt, rule, f"{path}.tool.driver.rules[{idx}]")
        if _s(rule.get("id")):
            by_id.setdefault(rule["id"], rule)
    for ext in tool.get("extensions") or []:
        if isinstance(ext, dict):
            for rule in ext.get("rules") or []:
                if isinstance(rule, dict) and _s(rule.get("id")):
                    by_id.setdefault(rule["id"], rule)
    return name, by_id, driver_rules


def _sarif_location(fmt: str, result: dict, artifacts: list, path: str):
    locations = _arr(fmt, result.get("locations"), f"{path}.locations", required=False)
    for li, loc in enumerate(locations):
        loc = _obj(fmt, loc, f"{path}.locations[{li}]")
        phys = loc.get("physicalLocation")
        if not isinstance(phys, dict):
            continue
        art = phys.get("artifactLocation") if isinstance(phys.get("artifactLocation"), dict) else {}
        uri = _s(art.get("uri"))
        index = art.get("index")
        if uri is None and isinstance(index, int) and 0 <= index < len(artifacts):
            location = artifacts[index].get("location") if isinstance(artifacts[index], dict) else None
            uri = _s(location.get("uri")) if isinstance(location, dict) else None
        if uri and uri.startswith("file://"):
            uri = uri[len("file://"):]
        region = phys.get("region") if isinstance(phys.get("region"), dict) else {}
        rpath = f"{path}.locations[{li}].physicalLocation.region"
        start = _opt_int(fmt, region.get("startLine"), f"{rpath}.startLine")
        end = _opt_int(fmt, region.get("endLine"), f"{rpath}.endLine")
        col = _opt_int(fmt, region.get("startColumn"), f"{rpath}.startColumn")
        return uri, start, end if end is not None else start, col
    return None, None, None, None


def _security_severity(*bags: Any) -> float | None:
    for bag in bags:
        if isinstance(bag, dict) and "security-severity" in bag:
            try:
                score = float(bag["security-severity"])
            except (TypeError, ValueError):
                continue
            if 0.0 <= score <= 10.0:
                return score
    return None


def _fingerprint(result: dict) -> tuple[str, ...]:
    for key in ("partialFingerprints", "fingerprints"):
        bag = result.get(key)
        if isinstance(bag, dict):
            parts = tuple(sorted(f"{k}={v}" for k, v in bag.items() if _s(v)))
            if parts:
                return (key,) + parts
    return ()


def _is_suppressed(result: dict) -> bool:
    sups = result.get("suppressions")
    if not isinstance(sups, list) or not sups:
        return False
    statuses = [s.get("status") if isinstance(s, dict) else None for s in sups]
    return all(status in (None, "accepted") for status in statuses)


def parse_sarif(doc: Any, opts: ParseOptions) -> ParsedReport:
    fmt = "sarif"
    doc = _obj(fmt, doc, "$")
    version = doc.get("version")
    if version is None:
        raise ReportFormatError(fmt, "missing 'version' (expected '2.1.0')", "$.version")
    if version != "2.1.0":
        raise ReportFormatError(
            fmt, f"unsupported SARIF version {version!r} (only '2.1.0' is supported)", "$.version"
        )
    runs = _arr(fmt, doc.get("runs"), "$.runs")
    report = ParsedReport(format=fmt, findings=[])
    secrets = opts.stage == "secrets"
    skipped = 0
    for ri, run in enumerate(runs):
        rpath = f"$.runs[{ri}]"
        run = _obj(fmt, run, rpath)
        tool_name, rules, rule_list = _sarif_rules(fmt, run, rpath)
        report.tool_name = report.tool_name or tool_name
        artifacts = run.get("artifacts") if isinstance(run.get("artifacts"), list) else []
        observed = None
        invocations = run.get("invocations")
        if isinstance(invocations, list) and invocations and isinstance(invocations[0], dict):
            observed = iso_utc(invocations[0].get("endTimeUtc")) or iso_utc(
                invocations[0].get("startTimeUtc")
            )
        results = _arr(fmt, run.get("results"), f"{rpath}.results", required=False)
        for i, result in enumerate(results):
            path = f"{rpath}.results[{i}]"
            result = _obj(fmt, result, path)
            kind = result.get("kind", "fail")
            if kind in ("pass", "notApplicable") or result.get("baselineState") == "absent":
                skipped += 1
                continue
            rule = None
            rule_index = result.get("ruleIndex")
            if isinstance(result.get("rule"), dict) and isinstance(result["rule"].get("index"), int):
                rule_index = result["rule"]["index"]
            rule_id = _s(result.get("ruleId")) or (
                _s(result["rule"].get("id")) if isinstance(result.get("rule"), dict) else None
            )
            if rule_id:
                rule = rules.get(rule_id) or rules.get(rule_id.split("/")[0])
            if rule is None and isinstance(rule_index, int) and 0 <= rule_index < len(rule_list):
                rule = rule_list[rule_index]
                rule_id = rule_id or _s(rule.get("id"))
            rule = rule or {}
            rule_id = rule_id or "unidentified-rule"
            message = result.get("message")
            if not isinstance(message, dict):
                raise ReportFormatError(fmt, "missing the required 'message' object", f"{path}.message")
            text = _sarif_text(message, rule)

            uri, start, end, col = _sarif_location(fmt, result, artifacts, path)

            level = result.get("level")
            if level is None and isinstance(rule.get("defaultConfiguration"), dict):
                level = rule["defaultConfiguration"].get("level")
            if level is not None and level not in sev.SARIF_LEVELS:
                raise ReportFormatError(
                    fmt, f"invalid level {level!r} (expected error, warning, note or none)", f"{path}.level"
                )
            if level is None and kind != "fail":
                level = "none"
            score = _security_severity(result.get("properties"), rule.get("properties"))
            if score is not None:
                label, original = sev.label_from_score(score), f"security-severity {score:g}"
            elif level is not None:
                label, original = sev.SARIF_LEVELS[level], level
            elif secrets:
                # A committed credential is an exposure whatever the tool says.
                label, original = "HIGH", "unspecified (secrets default)"
            else:
                label, original = "MEDIUM", "warning (SARIF default level)"

            short = rule.get("shortDescription") if isinstance(rule.get("shortDescription"), dict) else {}
            full = rule.get("fullDescription") if isinstance(rule.get("fullDescription"), dict) else {}
            help_ = rule.get("help") if isinstance(rule.get("help"), dict) else {}
            rule_title = _s(short.get("text")) or _s(rule.get("name")) or rule_id
            where = f"{uri}:{start}" if uri and start else uri
            fp = _fingerprint(result)
            if fp:
                identity = (rule_id, uri or "") + fp
                disambiguator = (str(start or ""), str(col or ""))
            else:
                identity = (rule_id, uri or "", str(start or ""), str(col or ""))
                disambiguator = ()
                if not uri:
                    identity += ((text or ""),)
            details = {"path": uri, "startLine": start, "endLine": end}
            if secrets:
                commit = None
                if isinstance(result.get("partialFingerprints"), dict):
                    commit = _s(result["partialFingerprints"].get("commitSha"))
                details["foundInCommit"] = commit
                title = f"Potential secret ({rule_id})" + (f" in {where}" if where else "")
                description = (
                    f"{tool_name} found a potential secret matching rule '{rule_id}'"
                    + (f" in {uri}" if uri else "")
                    + (f" at line {start}" if start else "")
                    + (f" (commit {commit})" if commit else "")
                    + ". Rotate the credential, then remove it from the code and history."
                )
                if _s(short.get("text")):
                    description += f"\n\nRule: {short['text']}"
            else:
                title = f"{rule_title} ({where})" if where else rule_title
                description = text or _s(full.get("text")) or rule_title
                if _s(full.get("text")) and full["text"].strip() != description:
                    description += "\n\n" + full["text"].strip()
            props = rule.get("properties") if isinstance(rule.get("properties"), dict) else {}
            res_props = result.get("properties") if isinstance(result.get("properties"), dict) else {}
            cwes = _dedupe(_cwes_from_tags(props.get("tags")) + _cwes_from_tags(res_props.get("tags")))
            help_uri = rule.get("helpUri") if _is_url(rule.get("helpUri")) else None
            report.findings.append(
                Finding(
                    rule_id=rule_id,
                    rule_name=rule_title,
                    title=title,
                    description=description,
                    severity=label,
                    severity_original=original,
                    identity=identity,
                    disambiguator=disambiguator,
                    file_path=uri,
                    start_line=start,
                    end_line=end,
                    source_url=help_uri,
                    remediation=_s(help_.get("text")),
                    remediation_url=help_uri,
                    cwes=cwes,
                    suppressed=_is_suppressed(result),
                    observed_at=observed,
                    details={k: str(v) for k, v in details.items() if v is not None},
                )
            )
    if skipped:
        report.warnings.append(f"{skipped} SARIF result(s) with kind pass/notApplicable or baselineState absent were skipped")
    return report


# --------------------------------------------------------------------------
# pip-audit JSON (`pip-audit -f json`)
# --------------------------------------------------------------------------
def parse_pip_audit(doc: Any, opts: ParseOptions) -> ParsedReport:
    fmt = "pip-audit"
    if isinstance(doc, list):  # pip-audit < 2.0 emitted the dependency list directly
        deps, base = doc, "$"
    else:
        doc = _obj(fmt, doc, "$")
        if "dependencies" not in doc:
            raise ReportFormatError(fmt, "missing 'dependencies' array", "$.dependencies")
        deps, base = _arr(fmt, doc.get("dependencies"), "$.dependencies"), "$.dependencies"
    report = ParsedReport(format=fmt, findings=[], tool_name="pip-audit")
    for di, dep in enumerate(deps):
        path = f"{base}[{di}]"
        dep = _obj(fmt, dep, path)
        name = _s(dep.get("name"))
        if not name:
            raise ReportFormatError(fmt, "dependency without a 'name'", f"{path}.name")
        version = _s(dep.get("version"))
        vulns = _arr(fmt, dep.get("vulns"), f"{path}.vulns", required=False)
        if dep.get("skip_reason") and not vulns:
            report.warnings.append(f"pip-audit could not audit {name}: {dep['skip_reason']}")
            continue
        for vi, vuln in enumerate(vulns):
            vpath = f"{path}.vulns[{vi}]"
            vuln = _obj(fmt, vuln, vpath)
            vid = _s(vuln.get("id"))
            if not vid:
                raise ReportFormatError(fmt, "vulnerability without an 'id'", f"{vpath}.id")
            aliases = [a for a in _arr(fmt, vuln.get("aliases"), f"{vpath}.aliases", required=False) if _s(a)]
            fixes = [f for f in _arr(fmt, vuln.get("fix_versions"), f"{vpath}.fix_versions", required=False) if _s(f)]
            primary = _primary_id([vid] + aliases)
            # pip-audit has no severity field; accept one if a future version adds it.
            label = sev.normalize_label(_s(vuln.get("severity")))
            if label:
                original = str(vuln["severity"])
            else:
                label, original = opts.unscored_severity, "UNSCORED (pip-audit reports no severity)"
            desc = _s(vuln.get("description")) or f"{name} {version or ''} is affected by {vid}."
            remediation = _upgrade_text(name, version, fixes)
            report.findings.append(
                Finding(
                    rule_id=vid,
                    rule_name=primary,
                    title=f"{primary} in {name} {version or ''}".strip(),
                    description=desc,
                    severity=label,
                    severity_original=original,
                    identity=("PyPI", _pypi_name(name), vid),
                    source_url=f"https://osv.dev/vulnerability/{vid}",
                    remediation=remediation,
                    remediation_url=f"https://osv.dev/vulnerability/{vid}",
                    vulnerability=Vulnerability(
                        id=primary,
                        aliases=tuple(a for a in _dedupe([vid] + aliases) if a != primary),
                        package=name,
                        version=version,
                        ecosystem="PyPI",
                        fixed_versions=tuple(fixes),
                        vendor="OSV",
                        reference_urls=(f"https://osv.dev/vulnerability/{vid}",),
                    ),
                    details={"package": name, "installedVersion": version or "unknown", "fixedVersions": ", ".join(fixes)},
                )
            )
    return report


# --------------------------------------------------------------------------
# OSV-Scanner JSON (`osv-scanner --format json`)
# --------------------------------------------------------------------------
def _osv_fixed_versions(vulns: list[dict], name: str, ecosystem: str | None) -> tuple[str, ...]:
    fixed = []
    for vuln in vulns:
        for affected in vuln.get("affected") or []:
            if not isinstance(affected, dict):
                continue
            pkg = affected.get("package") if isinstance(affected.get("package"), dict) else {}
            if _s(pkg.get("name")) and pkg["name"].lower() != name.lower():
                continue
            if ecosystem and _s(pkg.get("ecosystem")) and pkg["ecosystem"] != ecosystem:
                continue
            for rng in affected.get("ranges") or []:
                for event in (rng.get("events") or []) if isinstance(rng, dict) else []:
                    if isinstance(event, dict) and _s(event.get("fixed")):
                        fixed.append(event["fixed"])
    return _dedupe(fixed)


def _osv_cvss(vulns: list[dict], source: str) -> list[Cvss]:
    out = []
    for vuln in vulns:
        for entry in vuln.get("severity") or []:
            if not isinstance(entry, dict) or not _s(entry.get("score")):
                continue
            vector = entry["score"].strip()
            score = sev.cvss3_base_score(vector)
            if score is not None:
                out.append(Cvss(version=sev.cvss_version(vector) or "3.1", base_score=score, vector=vector, source=source))
    return out


def parse_osv(doc: Any, opts: ParseOptions) -> ParsedReport:
    fmt = "osv"
    doc = _obj(fmt, doc, "$")
    if "results" not in doc:
        raise ReportFormatError(fmt, "missing 'results' array", "$.results")
    results = _arr(fmt, doc.get("results"), "$.results")
    report = ParsedReport(format=fmt, findings=[], tool_name="osv-scanner")
    for ri, result in enumerate(results):
        rpath = f"$.results[{ri}]"
        result = _obj(fmt, result, rpath)
        source = result.get("source") if isinstance(result.get("source"), dict) else {}
        manifest = _s(source.get("path"))
        for pi, pkg_entry in enumerate(_arr(fmt, result.get("packages"), f"{rpath}.packages")):
            ppath = f"{rpath}.packages[{pi}]"
            pkg_entry = _obj(fmt, pkg_entry, ppath)
            pkg = _obj(fmt, pkg_entry.get("package"), f"{ppath}.package")
            name = _s(pkg.get("name"))
            if not name:
                raise ReportFormatError(fmt, "package without a 'name'", f"{ppath}.package.name")
            version, ecosystem = _s(pkg.get("version")), _s(pkg.get("ecosystem"))
            vulns = _arr(fmt, pkg_entry.get("vulnerabilities"), f"{ppath}.vulnerabilities", required=False)
            by_id: dict[str, dict] = {}
            for vi, vuln in enumerate(vulns):
                vuln = _obj(fmt, vuln, f"{ppath}.vulnerabilities[{vi}]")
                if not _s(vuln.get("id")):
                    raise ReportFormatError(fmt, "vulnerability without an 'id'", f"{ppath}.vulnerabilities[{vi}].id")
                by_id[vuln["id"]] = vuln
            groups = []
            covered: set[str] = set()
            for gi, group in enumerate(_arr(fmt, pkg_entry.get("groups"), f"{ppath}.groups", required=False)):
                group = _obj(fmt, group, f"{ppath}.groups[{gi}]")
                ids = [i for i in _arr(fmt, group.get("ids"), f"{ppath}.groups[{gi}].ids") if _s(i)]
                if not ids:
                    raise ReportFormatError(fmt, "group without ids", f"{ppath}.groups[{gi}].ids")
                groups.append((ids, group))
                covered.update(ids)
            groups += [([vid], {}) for vid in by_id if vid not in covered]
            for ids, group in groups:
                members = [by_id[i] for i in ids if i in by_id]
                aliases = set(ids)
                for item in [group] + members:
                    aliases.update(a for a in (item.get("aliases") or []) if _s(a))
                primary = _primary_id(aliases)
                cvss = _osv_cvss(members, "OSV")
                label = original = None
                max_sev = _s(group.get("max_severity"))
                if max_sev:
                    try:
                        score = float(max_sev)
                        label, original = sev.label_from_score(score), f"CVSS {score:g}"
                    except ValueError:
                        label = sev.normalize_label(max_sev)
                        original = max_sev if label else None
                if label is None and cvss:
                    best = max(c.base_score for c in cvss)
                    label, original = sev.label_from_score(best), f"CVSS {best:g}"
                if label is None:
                    words = []
                    for member in members:
                        dbs = member.get("database_specific") if isinstance(member.get("database_specific"), dict) else {}
                        mapped = sev.normalize_label(_s(dbs.get("severity")))
                        if mapped:
                            words.append((sev.rank(mapped), mapped, dbs["severity"]))
                    if words:
                        _, label, original = max(words)
                if label is None:
                    label, original = opts.unscored_severity, "UNSCORED (no severity in OSV record)"
                summary = next((_s(m.get("summary")) for m in members if _s(m.get("summary"))), None)
                details_text = next((_s(m.get("details")) for m in members if _s(m.get("details"))), None)
                refs = []
                for member in members:
                    for ref in member.get("references") or []:
                        if isinstance(ref, dict) and _is_url(ref.get("url")):
                            refs.append(ref["url"])
                cwes = []
                for member in members:
                    dbs = member.get("database_specific") if isinstance(member.get("database_specific"), dict) else {}
                    cwes += [c for c in (dbs.get("cwe_ids") or []) if _s(c)]
                fixed = _osv_fixed_versions(members, name, ecosystem)
                title = f"{primary} in {name} {version or ''}".strip() + (f": {summary}" if summary else "")
                description = "\n\n".join(x for x in (summary, details_text) if x) or f"{name} is affected by {primary}."
                url = f"https://osv.dev/vulnerability/{sorted(ids)[0]}"
                report.findings.append(
                    Finding(
                        rule_id=sorted(ids)[0],
                        rule_name=primary,
                        title=title,
                        description=description,
                        severity=label,
                        severity_original=original,
                        identity=(manifest or "", ecosystem or "", _pypi_name(name), primary),
                        source_url=url,
                        remediation=_upgrade_text(name, version, fixed),
                        remediation_url=url,
                        cwes=_dedupe(cwes),
                        vulnerability=Vulnerability(
                            id=primary,
                            aliases=tuple(sorted(a for a in aliases if a != primary)),
                            package=name,
                            version=version,
                            ecosystem=ecosystem,
                            fixed_versions=fixed,
                            manifest=manifest,
                            cvss=tuple(cvss),
                            vendor="OSV",
                            vendor_severity=original,
                            reference_urls=_dedupe([url] + refs),
                        ),
                        details={
                            "package": name,
                            "installedVersion": version or "unknown",
                            "ecosystem": ecosystem or "unknown",
                            "manifest": manifest or "unknown",
                            "fixedVersions": ", ".join(fixed),
                        },
                    )
                )
    return report


# --------------------------------------------------------------------------
# Trivy JSON (`trivy fs|image --format json`, SchemaVersion 2)
# --------------------------------------------------------------------------
def parse_trivy(doc: Any, opts: ParseOptions) -> ParsedReport:
    fmt = "trivy"
    doc = _obj(fmt, doc, "$")
    if "SchemaVersion" not in doc:
        raise ReportFormatError(fmt, "missing 'SchemaVersion' (not a Trivy JSON report)", "$.SchemaVersion")
    if doc["SchemaVersion"] != 2:
        raise ReportFormatError(fmt, f"unsupported SchemaVersion {doc['SchemaVersion']!r} (expected 2)", "$.SchemaVersion")
    report = ParsedReport(format=fmt, findings=[], tool_name="trivy")
    observed = iso_utc(doc.get("CreatedAt"))
    artifact = _s(doc.get("ArtifactName"))
    for ri, result in enumerate(_arr(fmt, doc.get("Results"), "$.Results", required=False)):
        rpath = f"$.Results[{ri}]"
        result = _obj(fmt, result, rpath)
        target = _s(result.get("Target")) or artifact or "unknown"
        for vi, vuln in enumerate(_arr(fmt, result.get("Vulnerabilities"), f"{rpath}.Vulnerabilities", required=False)):
            vpath = f"{rpath}.Vulnerabilities[{vi}]"
            vuln = _obj(fmt, vuln, vpath)
            vid, pkg = _s(vuln.get("VulnerabilityID")), _s(vuln.get("PkgName"))
            if not vid:
                raise ReportFormatError(fmt, "missing 'VulnerabilityID'", f"{vpath}.VulnerabilityID")
            if not pkg:
                raise ReportFormatError(fmt, "missing 'PkgName'", f"{vpath}.PkgName")
            version = _s(vuln.get("InstalledVersion"))
            cvss = []
            for source, data in (vuln.get("CVSS") or {}).items() if isinstance(vuln.get("CVSS"), dict) else []:
                if isinstance(data, dict) and isinstance(data.get("V3Score"), (int, float)):
                    vector = _s(data.get("V3Vector"))
                    cvss.append(Cvss(version=sev.cvss_version(vector or "") or "3.1", base_score=float(data["V3Score"]), vector=vector, source=source))
            label = sev.normalize_label(_s(vuln.get("Severity")))
            original = _s(vuln.get("Severity"))
            if label is None and cvss:
                best = max(c.base_score for c in cvss)
                label, original = sev.label_from_score(best), f"CVSS {best:g}"
            if label is None:
                label, original = opts.unscored_severity, f"{original or 'UNKNOWN'} (unscored)"
            fixed = tuple(v.strip() for v in (_s(vuln.get("FixedVersion")) or "").split(",") if v.strip())
            url = vuln.get("PrimaryURL") if _is_url(vuln.get("PrimaryURL")) else None
            refs = [r for r in (vuln.get("References") or []) if _is_url(r)]
            title_text = _s(vuln.get("Title"))
            report.findings.append(
                Finding(
                    rule_id=vid,
                    rule_name=vid,
                    title=f"{vid} in {pkg} {version or ''}".strip() + (f": {title_text}" if title_text else ""),
                    description=_s(vuln.get("Description")) or title_text or f"{pkg} is affected by {vid}.",
                    severity=label,
                    severity_original=original,
                    identity=(target, _s(result.get("Type")) or "", pkg, _s(vuln.get("PkgPath")) or "", vid),
                    source_url=url,
                    remediation=_upgrade_text(pkg, version, fixed),
                    remediation_url=url,
                    cwes=_dedupe(c for c in (vuln.get("CweIDs") or []) if _s(c)),
                    observed_at=observed,
                    vulnerability=Vulnerability(
                        id=vid,
                        package=pkg,
                        version=version,
                        ecosystem=_s(result.get("Type")),
                        fixed_versions=fixed,
                        manifest=target,
                        cvss=tuple(cvss),
                        vendor=_s(vuln.get("SeveritySource")) or "trivy",
                        vendor_severity=_s(vuln.get("Severity")),
                        reference_urls=_dedupe(([url] if url else []) + refs),
                    ),
                    details={"package": pkg, "installedVersion": version or "unknown", "target": target, "fixedVersions": ", ".join(fixed)},
                )
            )
    return report


# --------------------------------------------------------------------------
# OWASP ZAP traditional JSON report (zap-baseline.py -J / "traditional-json")
# --------------------------------------------------------------------------
MAX_ZAP_INSTANCES_LISTED = 10


def parse_zap(doc: Any, opts: ParseOptions) -> ParsedReport:
    fmt = "zap"
    doc = _obj(fmt, doc, "$")
    if "site" not in doc:
        raise ReportFormatError(fmt, "missing 'site' (expected ZAP's JSON report with site[].alerts[])", "$.site")
    sites = doc["site"]
    if isinstance(sites, dict):  # some ZAP versions emit a single object
        sites = [sites]
    sites = _arr(fmt, sites, "$.site")
    report = ParsedReport(format=fmt, findings=[], tool_name=_s(doc.get("@programName")) or "ZAP")
    for si, site in enumerate(sites):
        spath = f"$.site[{si}]"
        site = _obj(fmt, site, spath)
        site_name = _s(site.get("@name"))
        if not site_name:
            raise ReportFormatError(fmt, "site without '@name'", f"{spath}['@name']")
        for ai, alert in enumerate(_arr(fmt, site.get("alerts"), f"{spath}.alerts", required=False)):
            apath = f"{spath}.alerts[{ai}]"
            alert = _obj(fmt, alert, apath)
            plugin = _s(alert.get("pluginid"))
            if not plugin:
                raise ReportFormatError(fmt, "alert without 'pluginid'", f"{apath}.pluginid")
            name = _s(alert.get("alert")) or _s(alert.get("name"))
            if not name:
                raise ReportFormatError(fmt, "alert without 'alert'/'name'", f"{apath}.alert")
            try:
                risk = int(str(alert.get("riskcode")).strip())
            except ValueError:
                risk = None
            if risk not in sev.ZAP_RISK:
                raise ReportFormatError(fmt, f"riskcode must be 0, 1, 2 or 3, got {alert.get('riskcode')!r}", f"{apath}.riskcode")
            confidence = None
            if alert.get("confidence") is not None:
                try:
                    confidence = int(str(alert["confidence"]).strip())
                except ValueError:
                    raise ReportFormatError(fmt, f"confidence must be 0-4, got {alert['confidence']!r}", f"{apath}.confidence") from None
                if confidence not in sev.ZAP_CONFIDENCE:
                    raise ReportFormatError(fmt, f"confidence must be 0-4, got {alert['confidence']!r}", f"{apath}.confidence")
            instances = [x for x in _arr(fmt, alert.get("instances"), f"{apath}.instances", required=False) if isinstance(x, dict)]
            count = _s(alert.get("count")) or str(len(instances))
            listed = []
            for inst in instances[:MAX_ZAP_INSTANCES_LISTED]:
                line = " ".join(x for x in (_s(inst.get("method")), _s(inst.get("uri"))) if x)
                if _s(inst.get("param")):
                    line += f" (parameter: {inst['param']})"
                if line:
                    listed.append(f"- {line}")
            description = html_to_text(alert.get("desc")) or name
            if listed:
                description += f"\n\nAffected URLs ({count}):\n" + "\n".join(listed)
            refs = _dedupe(_URL.findall(_s(alert.get("reference")) or ""))
            cwe = _s(alert.get("cweid"))
            cwes = (f"CWE-{cwe}",) if cwe and cwe.isdigit() and int(cwe) > 0 else ()
            alert_ref = _s(alert.get("alertRef")) or plugin
            first = instances[0] if instances else {}
            report.findings.append(
                Finding(
                    rule_id=alert_ref,
                    rule_name=name,
                    title=f"{name} ({site_name})",
                    description=description,
                    severity=sev.ZAP_RISK[risk],
                    severity_original=_s(alert.get("riskdesc")) or f"riskcode {risk} ({sev.ZAP_RISK_NAMES[risk]})",
                    identity=(site_name, alert_ref),
                    target=site_name,
                    source_url=refs[0] if refs else None,
                    remediation=html_to_text(alert.get("solution")) or None,
                    remediation_url=refs[0] if refs else None,
                    cwes=cwes,
                    confidence=sev.ZAP_CONFIDENCE.get(confidence) if confidence is not None else None,
                    suppressed=confidence == 0,  # ZAP confidence 0 = marked false positive
                    details={
                        "site": site_name,
                        "pluginId": plugin,
                        "instances": count,
                        "sampleUri": _s(first.get("uri")),
                        "sampleMethod": _s(first.get("method")),
                        "sampleParam": _s(first.get("param")),
                        "wascId": _s(alert.get("wascid")),
                    },
                )
            )
    return report


# --------------------------------------------------------------------------
PARSERS: dict[str, Callable[[Any, ParseOptions], ParsedReport]] = {
    "sarif": parse_sarif,
    "pip-audit": parse_pip_audit,
    "osv": parse_osv,
    "trivy": parse_trivy,
    "zap": parse_zap,
}
FORMAT_ALIASES = {
    "sarif": "sarif",
    "sarif-2.1.0": "sarif",
    "pip-audit": "pip-audit",
    "pip_audit": "pip-audit",
    "pipaudit": "pip-audit",
    "osv": "osv",
    "osv-scanner": "osv",
    "trivy": "trivy",
    "zap": "zap",
    "owasp-zap": "zap",
}


def canonical_format(name: Any) -> str | None:
    return FORMAT_ALIASES.get(str(name).strip().lower()) if _s(name) else None


def parse_report(fmt: str, body: bytes | str, opts: ParseOptions) -> ParsedReport:
    """Decode and parse ``body`` as ``fmt`` (a canonical name from :data:`PARSERS`)."""
    parser = PARSERS[fmt]
    doc = decode_json(fmt, body)
    report = parser(doc, opts)
    for finding in report.findings:
        finding.details = {k: v for k, v in finding.details.items() if _s(v)}
    return report
