"""The PR comment: verdict first, within budget at any org size, never cut inside a block."""

from __future__ import annotations

import copy
import re

import pytest

from blueprint.offline import diff as plan_diff
from blueprint.offline import report
from blueprint.review import comment
from tests.review.scaled import scaled_plan

SIZES = (1, 10, 100, 1000)


def _balanced(text: str) -> None:
    assert text.count("```") % 2 == 0, "a code fence is left open"
    assert text.count("<details>") == text.count("</details>"), "a <details> is left open"
    for block in re.findall(r"```mermaid\n(.*?)```", text, re.S):
        assert block.startswith("graph LR") and block.rstrip().endswith("end"), "a diagram was cut"
    for line in text.splitlines():
        if line.startswith("|"):
            assert line.rstrip().endswith("|"), f"a table row was cut: {line[:80]}"


def _stack(accounts: int, changed: bool) -> dict:
    head = scaled_plan(accounts)
    base = copy.deepcopy(head)
    if changed:
        # A new team's accounts and a dropped guardrail statement: additions and a critical change.
        newest = {r["urn"] for r in head["resources"] if r["type"] == "aws:organizations/account:Account"}
        newest = set(sorted(newest)[-3:])
        base["resources"] = [r for r in base["resources"] if r["urn"] not in newest]
        for r in base["resources"]:
            if r["type"] == "aws:organizations/policy:Policy" and '"organizations:LeaveOrganization"' in r["inputs"]["content"]:
                # The base denied one more action: the head no longer does (a weakening).
                r["inputs"]["content"] = r["inputs"]["content"].replace(
                    '"organizations:LeaveOrganization"', '["organizations:LeaveOrganization","organizations:DeleteOrganization"]', 1)
    d = plan_diff.diff_plans(base, head)
    return {"plan": head, "plan_md": report.markdown(head), "diff": d, "diff_md": plan_diff.markdown(d, head), "checkov": None}


@pytest.mark.parametrize("accounts", SIZES)
@pytest.mark.parametrize("changed", [False, True])
def test_comment_is_within_budget_and_whole(accounts, changed):
    text = comment.build({"prod": _stack(accounts, changed)}, run_url="https://ci.example/run/1")
    assert len(text) <= comment.BUDGET
    _balanced(text)
    assert text.startswith(comment.MARKER)
    assert text.index("## Verdict") < text.index("## Security changes") if "## Security changes" in text else True
    assert "None" not in re.sub(r"None\.", "", text), "Python's None leaked into the comment"


def test_sections_come_in_order_and_the_smallest_priority_goes_first():
    stacks = {"prod": _stack(1000, True), "dev": _stack(10, True)}
    full = comment.build(stacks, budget=10**9)
    order = [full.index(h) for h in ("## Verdict", "## Security changes", "## Diagram", "## Details")]
    assert order == sorted(order)
    tight = comment.build(stacks, budget=len(full) - 1)
    assert "## Left out to fit one comment" in tight
    dropped = tight.split("## Left out to fit one comment", 1)[1]
    assert "plan:" in dropped or "Other changes" in dropped  # details go first
    assert "## Security changes" in tight and "## Diagram" in tight
    _balanced(tight)
    # Even a tiny budget keeps the verdict whole and says what it dropped.
    tiny = comment.build(stacks, budget=2_000)
    assert "## Verdict" in tiny and "diagram" in tiny.split("## Left out", 1)[1]
    _balanced(tiny)


def test_verdict_names_findings_flow_violations_checkov_and_criticals():
    s = _stack(10, True)
    s["plan"]["findings"] = [
        {"rule": "policy-size", "severity": "mandatory", "urn": "", "message": "too big"},
        {"rule": "access-flow", "severity": "mandatory", "urn": "", "message": "required flow x is denied"},
    ]
    s["checkov"] = {"summary": {"unwaived": 1, "waived": 3, "passed": 10},
                    "findings": [{"check_id": "CKV_AWS_1", "resource": "aws_s3_bucket.x", "status": "FAILED"}]}
    text = comment.build({"prod": s})
    verdict = text.split("## Verdict", 1)[1].split("## ", 1)[0]
    assert "mandatory findings: **1**" in verdict and "`policy-size`: too big" in verdict
    assert "access-flow violations: **1**" in verdict and "required flow x is denied" in verdict
    assert "checkov: **1** unwaived" in verdict and "`CKV_AWS_1`" in verdict
    assert "**1 critical**" in verdict


def test_missing_reports_do_not_break_the_comment():
    text = comment.build({"prod": {"plan": None}, "dev": {"plan": {"config_errors": ["Pulumi.dev.yaml: teams[0].name: bad"]}}})
    assert "no plan was produced" in text and "configuration rejected: 1 problem" in text
    _balanced(text)
