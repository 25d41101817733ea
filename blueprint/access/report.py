"""The access flows in the plan's text and Markdown: violations first, then a compact table."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any


def _decider(i: dict[str, Any]) -> str:
    if i["decision"] == "ALLOW":
        return "allowed"
    parts = [p for p in (i.get("layer"), i.get("sid")) if p]
    return " ".join(parts) if parts else "denied"


def rows(instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per flow template: expectation, instances, violations, what decided."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in instances:
        grouped[i["flow"]].append(i)
    out = []
    for flow, items in grouped.items():
        deciders = Counter(_decider(i) for i in items)
        out.append({
            "flow": flow, "expect": items[0]["expect"], "instances": len(items),
            "violations": sum(1 for i in items if not i["ok"]),
            "decided_by": ", ".join(f"{d} ({n})" if len(deciders) > 1 else d for d, n in deciders.most_common(3)),
        })
    return sorted(out, key=lambda r: (-r["violations"], r["expect"], r["flow"]))


def summary_line(doc: dict[str, Any]) -> str:
    s = (doc.get("summary") or {}).get("flows")
    if not s:
        return ""
    return f"access flows: {s['templates']} templates, {s['evaluated']} evaluated, {s['violations']} violation(s)"


def markdown(doc: dict[str, Any]) -> list[str]:
    s = (doc.get("summary") or {}).get("flows")
    if not s:
        return []
    instances = doc.get("flows") or []
    lines = ["### Access flows", "",
             f"**{s['evaluated']}** flow instances from **{s['templates']}** templates, evaluated across SCPs, RCPs, "
             f"identity policies, boundaries and resource policies: **{s['violations']}** violation(s).", ""]
    bad = [i for i in instances if not i["ok"]]
    if bad:
        lines += ["| flow | expected | principal | action | resource | decided by |", "|---|---|---|---|---|---|"]
        lines += [f"| {i['flow']} | {i['expect']} | `{i['principal']}` | `{i['action']}` | `{i['resource']}` | "
                  f"{i['decision']} {_decider(i)} |" for i in bad[:50]]
        if len(bad) > 50:
            lines.append(f"| … | | | | | {len(bad) - 50} more in build/plan-{doc['stack']}.json |")
        lines.append("")
    table = rows(instances)
    lines += ["<details><summary>Every flow template</summary>", "", "| flow | expected | instances | decided by |", "|---|---|---:|---|"]
    lines += [f"| {r['flow']} | {r['expect']} | {r['instances']} | {r['decided_by']} |" for r in table]
    lines += ["", "</details>", ""]
    return lines


def _key(i: dict[str, Any]) -> tuple[str, str, str, str]:
    return i["flow"], i["principal"], i["action"], i["resource"]


def flow_changes(base_doc: dict[str, Any] | None, head_doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Flow instances whose decision differs between two plans: newly denied, newly allowed.

    Violations first (a change that breaks the catalogue), then the rest by flow.
    """
    if not base_doc or "flows" not in base_doc:
        return []
    before = {_key(i): i for i in base_doc["flows"]}
    out = []
    for i in head_doc.get("flows") or []:
        old = before.get(_key(i))
        if old is None or old["decision"] == i["decision"]:
            continue
        out.append({**{k: i[k] for k in ("flow", "expect", "principal", "action", "resource", "ok")},
                    "change": "newly denied" if i["decision"] == "DENY" else "newly allowed",
                    "before": old["decision"], "after": i["decision"], "decided_by": _decider(i)})
    return sorted(out, key=lambda c: (c["ok"], c["flow"], c["principal"], c["action"], c["resource"]))


def flow_change_lines(changes: list[dict[str, Any]], limit: int = 40) -> list[str]:
    if not changes:
        return []
    lines = ["#### Access flows whose decision changes", "",
             "| | change | flow | principal | action | resource | decided by |", "|---|---|---|---|---|---|---|"]
    for c in changes[:limit]:
        mark = "ok" if c["ok"] else "**VIOLATION**"
        lines.append(f"| {mark} | {c['change']} | {c['flow']} ({c['expect']}) | `{c['principal']}` | `{c['action']}` | "
                     f"`{c['resource']}` | {c['decided_by']} |")
    if len(changes) > limit:
        lines.append(f"| | | {len(changes) - limit} more | | | | |")
    return lines + [""]
