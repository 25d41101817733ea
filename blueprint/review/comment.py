"""The pull-request comment: the verdict first, within a budget, never cut mid-block.

    python -m blueprint.review.comment --build build --run-url URL --out build/comment.md

Reads what the review job wrote (``plan-<stack>.json/.md``, ``diff-<stack>.json/.md``,
``checkov-<stack>.json``) and builds one comment with fixed sections in this order:

1. **Verdict**: mandatory findings, access-flow violations, unwaived checkov failures and
   critical changes, per stack. Never dropped.
2. **Security changes**: flows whose decision flips, then the security-relevant changes.
3. **Diagram**: the organization, changed nodes styled (``blueprint.review.diagram``).
4. **Details**: the rest of the diff and of the plan, and the waived checkov rows.

Every section is made of whole blocks (a table, a fenced block, a ``<details>``); when the
comment would pass :data:`BUDGET`, whole blocks are dropped, lowest priority first, and the
comment says what it dropped and where the full reports are (the workflow artifact).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUDGET = 60_000
MARKER = "<!-- secure-org-plan -->"
VERDICT, SECURITY, DIAGRAM, DETAILS = 1, 2, 3, 4  # lower keeps longer
NAMES = {SECURITY: "security changes", DIAGRAM: "diagram", DETAILS: "details"}


@dataclass
class Block:
    priority: int
    title: str  # what the comment says when it drops this block
    text: str


def _blocks(markdown: str) -> list[str]:
    """Split Markdown at headings (###, ####) outside fences: each piece is whole."""
    out, cur, fence = [], [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fence = not fence
        if not fence and re.match(r"#{3,4} ", line) and cur:
            out.append("\n".join(cur).strip("\n"))
            cur = []
        cur.append(line)
    if cur:
        out.append("\n".join(cur).strip("\n"))
    return [b for b in out if b.strip()]


def _heading(block: str) -> str:
    return block.splitlines()[0].lstrip("#").strip()


def verdict(stack: str, plan: dict[str, Any] | None, diff: dict[str, Any] | None, checkov: dict[str, Any] | None) -> str:
    lines = [f"**`{stack}`**"]
    if plan is None:
        return f"**`{stack}`**: no plan was produced (see the job log)."
    if plan.get("config_errors"):
        lines.append(f"- configuration rejected: {len(plan['config_errors'])} problem(s)")
        lines += [f"  - {e}" for e in plan["config_errors"][:10]]
        return "\n".join(lines)
    findings = [f for f in plan.get("findings", []) if f["severity"] == "mandatory"]
    flows = (plan.get("summary") or {}).get("flows") or {}
    flow_bad = [f for f in findings if f["rule"] == "access-flow"]
    other = [f for f in findings if f["rule"] != "access-flow"]
    lines.append(f"- mandatory findings: **{len(other)}**" + "".join(f"\n  - `{f['rule']}`: {_one_line(f['message'])}" for f in other[:10]))
    lines.append(f"- access-flow violations: **{len(flow_bad)}** of {flows.get('evaluated', 0)} flow instances"
                 + "".join(f"\n  - {_one_line(f['message'])}" for f in flow_bad[:10]))
    if checkov is not None:
        s = checkov["summary"]
        bad = [f for f in checkov.get("findings", []) if f.get("status") != "WAIVED"]
        lines.append(f"- checkov: **{s['unwaived']}** unwaived failing check(s), {s['waived']} waived, {s['passed']} passed"
                     + "".join(f"\n  - `{f.get('check_id')}` {f.get('resource', '')}" for f in bad[:10]))
    if diff is not None:
        sec = diff["summary"]["security"]
        lines.append(f"- changes: {diff['summary']['added']} added, {diff['summary']['removed']} removed, {diff['summary']['changed']} changed; "
                     f"**{sec['critical']} critical**, {sec['high']} high")
    more = len(other) > 10 or len(flow_bad) > 10
    if more:
        lines.append("- (first 10 of each listed; all of them are in the plan JSON artifact)")
    return "\n".join(lines)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split()).replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def blocks_for(stack: str, plan_md: str | None, diff_md: str | None) -> list[Block]:
    out: list[Block] = []
    for b in _blocks(diff_md or ""):
        head = _heading(b)
        if head.startswith("Plan diff"):
            out.append(Block(SECURITY, f"{stack}: diff summary", b))
        elif head.startswith(("Security-relevant", "Access flows whose decision", "Would be deleted", "Left behind")):
            out.append(Block(SECURITY, f"{stack}: {head}", b))
        elif head.startswith("Organization"):
            out.append(Block(DIAGRAM, f"{stack}: diagram", b))
        else:
            out.append(Block(DETAILS, f"{stack}: {head}", b))
    for b in _blocks(plan_md or ""):
        head = _heading(b)
        if head.startswith("Organization") and diff_md:
            continue  # the diff's diagram already shows it, with the changes marked
        out.append(Block(DIAGRAM if head.startswith("Organization") else DETAILS, f"{stack} plan: {head}", b))
    return out


def build(stacks: dict[str, dict[str, Any]], run_url: str = "", budget: int = BUDGET) -> str:
    """``stacks[name]`` holds ``plan``, ``plan_md``, ``diff``, ``diff_md``, ``checkov`` (any may be None)."""
    head = [MARKER, "# secure-org offline review", ""]
    if run_url:
        head += [f"Full plans, diffs and checkov reports: the `offline-review` artifact of [this run]({run_url}).", ""]
    head += ["## Verdict", ""] + [verdict(n, s.get("plan"), s.get("diff"), s.get("checkov")) + "\n" for n, s in stacks.items()]
    blocks: list[Block] = []
    for name, s in stacks.items():
        blocks += blocks_for(name, s.get("plan_md"), s.get("diff_md"))
    blocks.sort(key=lambda b: b.priority)  # stable: stacks keep their order within a priority

    def assemble(kept: list[Block], dropped: list[Block]) -> str:
        body = list(head)
        for prio in (SECURITY, DIAGRAM, DETAILS):
            part = [b.text for b in kept if b.priority == prio]
            if part:
                body += [f"## {NAMES[prio].capitalize()}", "", *[t + "\n" for t in part]]
        if dropped:
            body += ["## Left out to fit one comment", "",
                     *[f"- {b.title} ({len(b.text):,} characters)" for b in dropped],
                     "", "They are in the `offline-review` artifact" + (f" of [this run]({run_url})." if run_url else ".")]
        return "\n".join(body) + "\n"

    kept, dropped = list(blocks), []
    text = assemble(kept, dropped)
    # Drop whole blocks, lowest priority (and within it the largest) first, until it fits.
    while len(text) > budget and kept:
        worst = max(kept, key=lambda b: (b.priority, len(b.text)))
        kept.remove(worst)
        dropped.append(worst)
        text = assemble(kept, dropped)
    return text


def _read(path: Path, as_json: bool) -> Any:
    if not path.exists():
        return None
    return json.loads(path.read_text()) if as_json else path.read_text()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--build", type=Path, default=Path("build"))
    ap.add_argument("--stacks", nargs="*", default=["prod", "dev"])
    ap.add_argument("--run-url", default="")
    ap.add_argument("--out", type=Path, default=Path("build/comment.md"))
    ap.add_argument("--budget", type=int, default=BUDGET)
    args = ap.parse_args(argv)
    stacks = {}
    for s in args.stacks:
        b = args.build
        stacks[s] = {"plan": _read(b / f"plan-{s}.json", True), "plan_md": _read(b / f"plan-{s}.md", False),
                     "diff": _read(b / f"diff-{s}.json", True), "diff_md": _read(b / f"diff-{s}.md", False),
                     "checkov": _read(b / f"checkov-{s}.json", True)}
    text = build(stacks, args.run_url, args.budget)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out} ({len(text):,} characters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
