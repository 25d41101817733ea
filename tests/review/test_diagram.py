"""Diagrams stay within Mermaid's limits and readable at 1 to 1,000 accounts."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from blueprint.review import diagram
from tests.conftest import REPO
from tests.review.scaled import scaled_plan

SIZES = (1, 10, 100, 1000)


def _ids(block: str) -> set[str]:
    return set(re.findall(r"^\s+(n\d+|note\d+|lg_\w+)[\[\(]", block, re.M))


@pytest.mark.parametrize("accounts", SIZES)
def test_every_size_stays_under_the_limits(accounts):
    doc = scaled_plan(accounts)
    block = diagram.org_diagram(doc)
    s = diagram.stats(block)
    assert s["edges"] < 500 and s["chars"] < 50_000, s
    assert s["edges"] <= diagram.MAX_EDGES
    # Every edge joins declared nodes (no dangling ids that Mermaid would invent).
    declared = _ids(block)
    for a, b in re.findall(r"^\s+(n\d+) -\.?->? (n\d+)$", block, re.M):
        assert a in declared and b in declared, (a, b)


def test_small_orgs_are_drawn_whole_and_large_ones_summarized():
    small = diagram.org_diagram(scaled_plan(10))
    assert "more account(s)" not in small and "Summary of" not in small
    big_doc = scaled_plan(1000)
    big = diagram.org_diagram(big_doc)
    assert "Summary of 1000 accounts" in big and "more account(s)" in big


def test_changed_part_is_drawn_with_its_style_and_a_legend():
    doc = scaled_plan(1000)
    accounts = [r for r in doc["resources"] if r["type"] == diagram.ACCOUNT]
    new = accounts[-1]
    block = diagram.org_diagram(doc, marks={new["urn"]: "added"},
                                removed=[{"urn": "urn:x", "label": "old-team-prod", "type": diagram.ACCOUNT}])
    name = new["inputs"]["name"]
    node = re.search(rf'^\s+(n\d+)\("{re.escape(name)}"\)$', block, re.M)
    assert node, "the added account is drawn even in the summary"
    assert re.search(rf"^\s+class .*\b{node.group(1)}\b.* added$", block, re.M)
    assert "old-team-prod (removed)" in block
    for label in ("added", "changed", "removed", "policy"):
        assert f'lg_{label}' in block and f"classDef {label} " in block


def test_node_text_cannot_break_the_graph():
    assert diagram._text('a"b[c]{d}|e<f>') == "a'b(c)(d)/e(f)"


PARSER = REPO / "tools" / "mermaid"


@pytest.mark.skipif(shutil.which("node") is None or not (PARSER / "node_modules" / "mermaid").exists(),
                    reason="Mermaid's parser is not installed (make mermaid-parser): structural limits are checked above")
def test_mermaids_own_parser_accepts_every_diagram(tmp_path):
    files = []
    for accounts in SIZES:
        doc = scaled_plan(accounts)
        marks = {r["urn"]: "added" for r in [a for a in doc["resources"] if a["type"] == diagram.ACCOUNT][-2:]}
        for i, block in enumerate((diagram.org_diagram(doc), diagram.org_diagram(doc, dict(marks), [{"urn": "u", "label": 'x"y', "type": "t"}]))):
            files.append(tmp_path / f"org-{accounts}-{i}.mmd")
            files[-1].write_text(block)
    broken = tmp_path / "broken.mmd"
    broken.write_text("graph LR\n  a --> \n")
    done = subprocess.run(["node", str(PARSER / "parse.mjs"), *map(str, files)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("ok ") == len(files)
    # The parser is real: it rejects a broken diagram.
    bad = subprocess.run(["node", str(PARSER / "parse.mjs"), str(broken)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "FAIL" in bad.stdout
