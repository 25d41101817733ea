"""checkov waivers follow declarations: a tag from config, not a resource name per team."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from blueprint.offline import checkov_scan as scan

TODAY = dt.date(2026, 11, 30)


def _result(*found: tuple[str, str, dict]) -> scan.StackResult:
    r = scan.StackResult("prod", Path("x.json"))
    for address, urn, tags in found:
        r.findings.append(scan.Finding("CKV_AWS_316", "privileged", address, urn, "aws:codebuild/project:Project", "terraform_plan"))
        r.tags[urn] = tags
    return r


def test_a_declared_exception_is_waived_for_any_team_and_an_undeclared_one_is_not():
    (w,) = [w for w in scan.load_waivers(scan.WAIVERS) if w.check == "CKV_AWS_316"]
    assert w.when_tag == "privileged-reason" and "*" in w.resource
    r = _result(("aws_codebuild_project.org-delivery-newteam-build", "urn:new", {"privileged-reason": "docker builds", "team": "newteam"}),
                ("aws_codebuild_project.org-delivery-other-build", "urn:other", {"team": "other"}))
    scan.apply_waivers(r, [w], TODAY)
    status = {f.urn: f.status for f in r.findings}
    assert status == {"urn:new": "WAIVED", "urn:other": "FAILED"}


def test_expired_tag_waivers_fail_again():
    w = scan.Waiver("CKV_AWS_316", "aws_codebuild_project.*", "a reason long enough to pass", dt.date(2026, 1, 1), None, "privileged-reason")
    r = _result(("aws_codebuild_project.a", "urn:a", {"privileged-reason": "x"}))
    scan.apply_waivers(r, [w], TODAY)
    assert r.findings[0].status == "EXPIRED"


def test_when_tag_must_be_a_tag_key(tmp_path):
    f = tmp_path / "w.yaml"
    f.write_text("waivers:\n  - {check: CKV_AWS_1, resource: 'a.*', reason: 'a reason long enough here', when_tag: ''}\n")
    with pytest.raises(scan.ScanError, match="'when_tag' must be a tag key"):
        scan.load_waivers(f)
