"""Mermaid diagrams of the organization that stay readable (and renderable) at any size.

Mermaid refuses a graph over 500 edges and a GitHub comment over 65,536 characters; a
diagram with hundreds of accounts is unreadable long before that. So:

* up to :data:`FULL_LIMIT` accounts, the whole tree is drawn: OUs, accounts, and the
  policies attached to each target;
* above it, a summary: each OU with its account count and its policies, plus the changed
  part (changed, added and removed accounts and policies) with the OUs that hold them.

Added, changed and removed nodes have their own styles and a legend. Every diagram is
checked against :data:`MAX_EDGES` and :data:`MAX_CHARS`; if the changed part alone would
pass them, it is cut to fit, and the diagram says how many it left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

OU = "aws:organizations/organizationalUnit:OrganizationalUnit"
ACCOUNT = "aws:organizations/account:Account"
POLICY = "aws:organizations/policy:Policy"
ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"

FULL_LIMIT = 40  # accounts: above this, summary + changes
MAX_EDGES = 400  # Mermaid's hard limit is 500
MAX_CHARS = 40_000  # well within a comment, with room for the rest
STYLES = {
    "policy": "fill:#fff5d6,stroke:#b58900",
    "added": "fill:#d6f5d6,stroke:#1a7f37,stroke-width:2px",
    "changed": "fill:#ffe9c2,stroke:#bc4c00,stroke-width:2px",
    "removed": "fill:#ffd6d6,stroke:#cf222e,stroke-width:2px,stroke-dasharray:4 3",
}


@dataclass
class Graph:
    nodes: dict[str, str] = field(default_factory=dict)  # key -> node text
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (from, arrow, to)
    classes: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    ids: dict[str, str] = field(default_factory=dict)

    def nid(self, key: str) -> str:
        if key not in self.ids:
            self.ids[key] = f"n{len(self.ids)}"
        return self.ids[key]

    def node(self, key: str, text: str, cls: str | None = None) -> str:
        n = self.nid(key)
        self.nodes[key] = text
        if cls and n not in self.classes[cls]:
            self.classes[cls].append(n)
        return n

    def edge(self, a: str, b: str, arrow: str = "-->") -> None:
        self.edges.append((self.nid(a), arrow, self.nid(b)))

    def render(self, notes: Sequence[str] = ()) -> str:
        out = ["graph LR"]
        out += [f"  {self.nid(k)}{t}" for k, t in self.nodes.items()]
        out += [f"  {a} {arrow} {b}" for a, arrow, b in self.edges]
        for cls, style in STYLES.items():
            out.append(f"  classDef {cls} {style}")
        for cls, members in self.classes.items():
            if members:
                out.append(f"  class {','.join(members)} {cls}")
        for i, note in enumerate(notes):
            out.append(f'  note{i}["{_text(note)}"]')
        return "\n".join(out)


def _text(s: str) -> str:
    """Node text safe inside ["..."]: no quotes, brackets or pipes that would end the node."""
    return "".join("'" if c == '"' else ("(" if c in "[{<" else (")" if c in "]}>" else ("/" if c == "|" else c))) for c in s)


def _index(doc: dict[str, Any]) -> dict[str, Any]:
    res = doc.get("resources") or []
    by_id = {r["id"]: r for r in res if r.get("id")}
    ous = [r for r in res if r["type"] == OU]
    accounts = [r for r in res if r["type"] == ACCOUNT]
    attached: dict[str, list[dict[str, Any]]] = defaultdict(list)  # target id -> policies
    for r in res:
        if r["type"] == ATTACHMENT and r["inputs"].get("policyId") in by_id:
            attached[r["inputs"].get("targetId", "")].append(by_id[r["inputs"]["policyId"]])
    return {"by_id": by_id, "ous": ous, "accounts": accounts, "attached": attached}


def org_diagram(doc: dict[str, Any], marks: dict[str, str] | None = None, removed: Sequence[dict[str, Any]] = ()) -> str:
    """The organization of one plan; ``marks`` maps URNs to added/changed, ``removed`` lists removed nodes."""
    marks = marks or {}
    ix = _index(doc)
    big = len(ix["accounts"]) > FULL_LIMIT
    g = Graph()
    g.node("root", '(["Root"])')
    ou_keys = {}
    for r in ix["ous"]:
        ou_keys[r["id"]] = r["urn"]
        g.node(r["urn"], f'["OU {_text(r["inputs"]["name"])}"]', marks.get(r["urn"]))
    for r in ix["ous"]:
        parent = ix["by_id"].get(r["inputs"].get("parentId", ""))
        g.edge(parent["urn"] if parent else "root", r["urn"])

    per_ou: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in ix["accounts"]:
        per_ou[a["inputs"].get("parentId", "")].append(a)
    left_out = 0
    for parent_id, accounts in per_ou.items():
        parent = ou_keys.get(parent_id, "root")
        shown = accounts if not big else [a for a in accounts if a["urn"] in marks]
        if big and len(accounts) > len(shown):
            key = f"count:{parent_id}"
            g.node(key, f'("{len(accounts) - len(shown)} more account(s)")')
            g.edge(parent, key)
        for a in shown:
            if len(g.edges) >= MAX_EDGES - 20:
                left_out += 1
                continue
            g.node(a["urn"], f'("{_text(a["inputs"].get("name", a["name"]))}")', marks.get(a["urn"]))
            g.edge(parent, a["urn"])
    # Policies: per target (OUs and the root always; accounts only where drawn).
    for target_id, policies in ix["attached"].items():
        target = "root" if target_id.startswith("r-") else (ou_keys.get(target_id) or ix["by_id"].get(target_id, {}).get("urn"))
        if target is None or target not in g.ids:
            continue
        for p in policies:
            if len(g.edges) >= MAX_EDGES - 10:
                left_out += 1
                break
            g.node(p["urn"], f'[["{_text(p["inputs"].get("name", p["name"]))}"]]', marks.get(p["urn"]) or "policy")
            g.edge(p["urn"], target, "-.->")
    for r in removed:
        key = f"removed:{r['urn']}"
        g.node(key, f'("{_text(r["label"])} (removed)")', "removed")
    notes = []
    if big:
        notes.append(f"Summary of {len(ix['accounts'])} accounts: unchanged accounts are counted per OU")
    if left_out:
        notes.append(f"{left_out} node(s) left out to stay under {MAX_EDGES} edges; see the plan JSON")
    return g.render(notes) + "\n" + "\n".join(legend_lines())


def legend_lines() -> list[str]:
    """A legend drawn as a small subgraph of one node per style."""
    return [
        "  subgraph legend[Legend]",
        '    lg_added["added"]:::added',
        '    lg_changed["changed"]:::changed',
        '    lg_removed["removed"]:::removed',
        '    lg_policy[["policy"]]:::policy',
        "  end",
    ]


def stats(block: str) -> dict[str, int]:
    """Nodes, edges and characters of one diagram, as Mermaid counts them."""
    lines = [ln.strip() for ln in block.splitlines()]
    edges = sum(1 for ln in lines if "-->" in ln or "-.->" in ln)
    nodes = sum(1 for ln in lines if ln and ln[0] in "nl" and ("[" in ln or "(" in ln) and "-->" not in ln and "-.->" not in ln)
    return {"nodes": nodes, "edges": edges, "chars": len(block)}
