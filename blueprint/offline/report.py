"""Human views of an offline plan: a terminal tree and a PR-comment Markdown page."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from blueprint.access import report as access_report
from blueprint.offline import quotas


def account_labels(resources: list[dict[str, Any]]) -> dict[str, str]:
    """Provider URN -> the name of the account it acts in (by its allowed account id)."""
    names = {r["id"]: r["inputs"].get("name", r["name"]) for r in resources if r["type"] == "aws:organizations/account:Account"}
    out = {}
    for r in resources:
        if r["type"].startswith("pulumi:providers:"):
            allowed = r["inputs"].get("allowedAccountIds") or []
            if isinstance(allowed, str):
                allowed = json.loads(allowed)
            out[r["urn"]] = names.get(allowed[0], allowed[0]) if allowed else r["name"]
    return out


def account_of(r: dict[str, Any], labels: dict[str, str] | None = None) -> str:
    """Which account a resource deploys into, judged by its provider."""
    if not r["custom"] or r["type"].startswith("pulumi:providers:"):
        return ""
    if not r["provider"]:
        return "management"
    urn = r["provider"].rsplit("::", 1)[0]
    return (labels or {}).get(urn) or urn.rsplit("::", 1)[-1]


def _children(resources: list[dict[str, Any]]) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    urns = {r["urn"] for r in resources}
    kids: dict[str, list[dict[str, Any]]] = defaultdict(list)
    roots = []
    for r in resources:
        if r["parent"] in urns:
            kids[r["parent"]].append(r)
        else:
            roots.append(r)
    return kids, roots


def _flags(r: dict[str, Any], labels: dict[str, str]) -> str:
    flags = []
    if r["protect"]:
        flags.append("protected")
    if r["retain_on_delete"]:
        flags.append("retained")
    acct = account_of(r, labels)
    if acct:
        flags.append(f"@{acct}")
    return f"  [{', '.join(flags)}]" if flags else ""


def text(doc: dict[str, Any], tree: bool = True) -> str:
    """The terminal view: summary, guardrail fill, flows and findings (the tree only if asked)."""
    from blueprint.review.symbolic import symbolizer

    return symbolizer(doc)(_text(doc, tree))


def _text(doc: dict[str, Any], tree: bool) -> str:
    lines = [f"Offline plan of stack '{doc['stack']}' ({doc['source']})", ""]
    resources = doc["resources"]
    if tree and resources:
        kids, roots = _children(resources)
        labels = account_labels(resources)

        def walk(r: dict[str, Any], prefix: str, last: bool) -> None:
            branch = "`-- " if last else "|-- "
            lines.append(f"{prefix}{branch}{r['type']}  {r['name']}{_flags(r, labels)}")
            sub = kids.get(r["urn"], [])
            for i, c in enumerate(sub):
                walk(c, prefix + ("    " if last else "|   "), i == len(sub) - 1)

        for i, r in enumerate(roots):
            walk(r, "", i == len(roots) - 1)
        lines.append("")
    s = doc.get("summary", {})
    if s:
        lines.append(
            f"{s['resources']} resources in {s['components']} components, "
            f"{s['providers']} provider plugin instance(s) ({s['providers'] - 1} explicit + the default for the management account), "
            f"{s['protected']} protected"
        )
        width = max((len(t) for t in s["by_type"]), default=0)
        for t, n in s["by_type"].items():
            lines.append(f"  {t.ljust(width)}  {n}")
    for g in doc.get("guardrails", []):
        sizes = ", ".join(f"{p['chars']}" for p in g["policies"])
        lines.append(
            f"  {g['type']:<24} {g['target']:<16} {len(g['policies'])} policies ({sizes} of {g['max_chars']} chars), "
            f"{g['slots_used']}/{g['slots_max']} slots{' (merged)' if g['merged'] else ''}"
        )
    if access_report.summary_line(doc):
        lines.append(access_report.summary_line(doc))
    lines += quotas.text_lines(doc)
    findings = doc.get("findings", [])
    lines.append("")
    if findings:
        lines.append(f"{len(findings)} finding(s):")
        for f in findings:
            lines.append(f"  [{f['severity']}] {f['rule']}: {f['message']}  {f['urn']}")
    else:
        lines.append("no findings")
    return "\n".join(lines)


def mermaid(doc: dict[str, Any], marks: dict[str, str] | None = None, removed: Sequence[dict[str, Any]] = ()) -> str:
    """The organization as a Mermaid graph that scales (see blueprint.review.diagram)."""
    from blueprint.review.diagram import org_diagram

    return org_diagram(doc, marks, removed)


def markdown(doc: dict[str, Any]) -> str:
    """The PR view of one plan, deploy-time values as placeholders."""
    from blueprint.review.symbolic import symbolizer

    return symbolizer(doc)(_markdown(doc))


def _markdown(doc: dict[str, Any]) -> str:
    s = doc.get("summary", {})
    findings = doc.get("findings", [])
    mandatory = sum(1 for f in findings if f["severity"] == "mandatory")
    lines = [f"## Offline plan: `{doc['stack']}`", ""]
    if s:
        lines.append(
            f"**{s['resources']}** resources in **{s['components']}** components, "
            f"**{s['providers']}** provider plugin instance(s) ({s['providers'] - 1} explicit + the management account's default), "
            f"**{s['protected']}** protected. "
            f"Findings: **{mandatory}** mandatory, **{len(findings) - mandatory}** advisory."
        )
        lines += ["", "<details><summary>Resources by type</summary>", "", "| type | count |", "|---|---:|"]
        lines += [f"| `{t}` | {n} |" for t, n in s["by_type"].items()]
        lines += ["", "</details>", ""]
    if doc.get("guardrails"):
        lines += ["### Guardrails", "", "| type | target | policies (chars / limit) | slots | guardrails |", "|---|---|---|---|---|"]
        for g in doc["guardrails"]:
            sizes = ", ".join(f"{p['chars']}" for p in g["policies"])
            ids = ", ".join(sorted({i for p in g["policies"] for i in p["guardrails"]}))
            lines.append(
                f"| {g['type']} | {g['target']} | {sizes} / {g['max_chars']} | {g['slots_used']}/{g['slots_max']} | {ids} |"
            )
        lines.append("")
    lines += access_report.markdown(doc)
    lines += quotas.markdown_lines(doc)
    lines += ["### Findings", ""]
    if findings:
        lines += ["| severity | rule | resource | message |", "|---|---|---|---|"]
        lines += [f"| {f['severity']} | {f['rule']} | `{f['urn'].rsplit('::', 1)[-1]}` | {f['message']} |" for f in findings]
    else:
        lines.append("None.")
    if doc["resources"]:
        lines += ["", "### Organization", "", "```mermaid", mermaid(doc), "```"]
    return "\n".join(lines) + "\n"
