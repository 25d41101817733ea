"""How the diff shows what `pulumi up` would delete, replace, leave behind or stop on.

The fate of each resource is decided in diff_lifecycle; this renders it for the PR comment
(Markdown) and the terminal.
"""

from __future__ import annotations

from typing import Any

OUTCOME = {"blocked": "🛑 stops `pulumi up` (protected)", "deleted": "deleted", "replaced": "replaced"}


def count_line(fate: dict[str, list[dict[str, Any]]]) -> str:
    """One line for the top of the diff ("" when nothing is deleted, replaced or left behind)."""
    n = {k: len(v) for k, v in fate.items()}
    if not any(n.values()):
        return ""
    line = f"`pulumi up` would delete **{n['deleted']}**, replace **{n['replaced']}** and leave behind **{n['left_behind']}** resource(s)"
    if n["blocked"]:
        line += f"; it stops first on **{n['blocked']}** protected resource(s)"
    return line + "."


def markdown_lines(fate: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines: list[str] = []
    # Every protected, data-holding or replaced resource by name; other deletions counted by type.
    rows = fate["blocked"] + [e for e in fate["deleted"] if e["data"]] + fate["replaced"]
    rest = [e for e in fate["deleted"] if not e["data"]]
    if rows or rest:
        lines += ["### Would be deleted or replaced", ""]
        if fate["blocked"]:
            lines += ["`pulumi up` stops with \"resource is protected\" before changing anything: restore the resource in "
                      "config, or unprotect it on purpose (`pulumi state unprotect '<urn>'`) after review.", ""]
        if rows:
            lines += ["| outcome | resource | type | why | data lost |", "|---|---|---|---|---|"]
            for e in sorted(rows, key=lambda e: (e["outcome"] != "blocked", not e["data"], e["label"])):
                if e["outcome"] != "blocked":
                    lost = f"**{e['loses']}**" if e["data"] else "-"
                else:  # nothing yet: `pulumi up` stops; say what unprotecting it would cost
                    lost = f"once unprotected: {e['loses']}" if e["data"] and e.get("then") in ("deleted", "closed", "replaced") else "-"
                lines.append(f"| {OUTCOME[e['outcome']]} | `{e['label']}` | {e['type'].split(':')[-1]} | {e['why'].replace('|', '/')} | {lost} |")
            lines.append("")
        if rest:
            kinds: dict[str, int] = {}
            for e in rest:
                kinds[e["type"].split(":")[-1]] = kinds.get(e["type"].split(":")[-1], 0) + 1
            lines += [f"{'Also deleted' if rows else 'Deleted'}, holding no data: {len(rest)} resource(s) ("
                      + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))) + ").", ""]
    if fate["left_behind"]:
        lines += ["### Left behind", "",
                  "Removed from the program but retained (`retain_on_delete`): `pulumi up` stops managing them and leaves "
                  "them in AWS, data and settings included. Remove them on purpose once nothing needs them:", ""]
        for e in sorted(fate["left_behind"], key=lambda e: (not e["data"], e["label"])):
            extra = f", with its {len(e['settings'])} setting(s)" if e.get("settings") else ""
            lines.append(f"- `{e['label']}` ({e['type'].split(':')[-1]}{extra}): {e['cleanup']}")
        lines.append("")
    return lines


def text_lines(fate: dict[str, list[dict[str, Any]]]) -> list[str]:
    n = {k: len(v) for k, v in fate.items()}
    if not any(n.values()):
        return []
    out = [f"  pulumi up would delete {n['deleted']}, replace {n['replaced']}, leave behind {n['left_behind']}"
           + (f"; it stops on {n['blocked']} protected resource(s)" if n["blocked"] else "")]
    for e in fate["blocked"] + fate["deleted"] + fate["replaced"]:
        if e["data"] or e["outcome"] == "blocked":
            out.append(f"  [{e['outcome']}] {e['label']} ({e['type'].split(':')[-1]}): {e['why']}")
    return out
