"""The flow catalogue: its validation, and every flow of both stacks against the assembled org."""

from __future__ import annotations

from pathlib import Path

import pytest

from blueprint.access import flows as catalogue
from blueprint.offline import report
from tests.conftest import plan_of

CATALOGUE = catalogue.load()
BY_ID = {f.id: f for f in CATALOGUE}

# The minimum coverage, by capability: each must have at least one template.
REQUIRED = (
    "pipeline-starts-builds-and-scans", "pipeline-uses-artifact-store", "pipeline-uses-artifact-key",
    "pipeline-invokes-findings-importer", "importer-imports-to-security-hub", "importer-archives-reports",
    "pipeline-assumes-deploy-role", "deploy-role-passes-cfn-exec", "cfn-exec-creates-team-functions",
    "deploy-target-reads-revision", "deploy-target-decrypts-revision", "cloudtrail-delivers-org-trail",
    "config-delivers-snapshots", "prod-deployer-approves-with-mfa", "viewer-reads-pipeline-state",
    "baseline-function-sets-account-defaults", "audit-role-reads-configuration", "break-glass-acts",
)
FORBIDDEN = (
    "pipeline-cannot-assume-other-team-roles", "pipeline-cannot-use-other-team-artifacts", "pipeline-cannot-use-other-team-key",
    "people-cannot-act-on-other-team-pipeline", "team-cannot-disable-logging", "team-cannot-disable-detection",
    "team-cannot-silence-alert-rules", "team-cannot-delete-baseline-logs", "outsiders-cannot-read-buckets",
    "outsiders-cannot-use-keys", "outsiders-cannot-use-topics", "team-cannot-leave-organization", "team-cannot-create-iam-users",
    "prod-deployer-cannot-approve-without-mfa", "viewer-cannot-change-pipeline", "committer-cannot-merge",
    "build-owner-cannot-touch-production", "pipeline-reaches-only-its-own-buckets", "team-iac-cannot-touch-platform-resources",
)


def test_catalogue_covers_the_required_and_forbidden_flows():
    assert len(CATALOGUE) >= 40
    assert {f.expect for f in CATALOGUE} == {"allow", "deny"}
    for fid in REQUIRED:
        assert BY_ID[fid].expect == "allow", fid
    for fid in FORBIDDEN:
        assert BY_ID[fid].expect == "deny", fid


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_flow_holds_in_both_stacks(stack):
    code, doc = plan_of(stack)
    assert code == 0, [f["message"] for f in doc["findings"]]
    s = doc["summary"]["flows"]
    assert s["violations"] == 0 and s["templates"] == len(CATALOGUE)
    assert all(i["ok"] for i in doc["flows"])
    assert s["evaluated"] == len(doc["flows"])


def test_prod_evaluates_hundreds_of_instances_and_every_template():
    _, doc = plan_of("prod")
    assert doc["summary"]["flows"]["evaluated"] >= 500
    # Flows about accounts being closed select `decommissioned: true`: prod closes none, so they
    # have instances only in tests/access/test_suspended.py, which plans a team being closed.
    closing = {f.id for f in CATALOGUE if ("decommissioned", True) in f.where}
    assert closing and {i["flow"] for i in doc["flows"]} == set(BY_ID) - closing, "every template has instances in prod"


def test_deciding_layers_are_the_intended_ones():
    """A forbidden flow must be stopped by the control meant to stop it, not by accident."""
    _, doc = plan_of("prod")
    by_flow: dict[str, set] = {}
    for i in doc["flows"]:
        by_flow.setdefault(i["flow"], set()).add((i["layer"], i["sid"]))
    assert by_flow["team-cannot-silence-alert-rules"] == {("scp", "ProtectPlatformResources")}
    assert by_flow["team-cannot-remove-baseline-stack"] == {("scp", "ProtectPlatformResources")}
    # The break-glass roles are both critical and exempt by name: either statement stops it.
    assert by_flow["team-cannot-change-baseline-roles"] <= {("scp", "ProtectCriticalRoles"), ("scp", "ProtectExemptRoleNames")}
    assert by_flow["only-pipelines-invoke-the-importer"] == {("scp", "InvokePlatformFunctionsOnlyFromPipelines")}
    assert by_flow["outsiders-cannot-read-buckets"] == {("rcp", "EnforceOrgIdentities")}
    assert by_flow["insecure-transport-is-refused"] == {("rcp", "EnforceSecureTransport")}
    assert by_flow["prod-deployer-needs-mfa-to-take-on-duty"] == {("resource", None)}  # the trust policy's MFA condition


def test_markdown_and_text_show_the_flows():
    _, doc = plan_of("dev")
    md = report.markdown(doc)
    assert "### Access flows" in md and "| pipeline-invokes-findings-importer | ALLOW |" in md
    assert "access flows: " in report.text(doc, tree=False)


# -- catalogue validation -------------------------------------------------------------------
def _write(tmp_path: Path, body: str) -> Path:
    (tmp_path / "x.yaml").write_text(body)
    return tmp_path


GOOD = """
flows:
  - id: a
    expect: allow
    for_each: org
    principal: "{importer_role}"
    action: s3:GetObject
    resource: "arn:aws:s3:::b/k"
    why: because
"""


def test_catalogue_errors_name_file_flow_and_problem(tmp_path):
    bad = GOOD.replace("expect: allow", "expect: maybe").replace("for_each: org", "for_each: galaxy") + """
  - id: b
    expect: deny
    for_each: org
    principal: x
    action: y
    resource: z
    why: w
    colour: red
"""
    with pytest.raises(catalogue.CatalogueError) as err:
        catalogue.load(_write(tmp_path, bad))
    text = str(err.value)
    assert "x.yaml: flows[0] (a): expect must be allow or deny" in text
    assert "x.yaml: flows[1] (b): unknown keys ['colour']" in text


def test_duplicate_ids_are_rejected(tmp_path):
    with pytest.raises(catalogue.CatalogueError, match="id 'a' is also used"):
        catalogue.load(_write(tmp_path, GOOD + GOOD.replace("flows:\n", "")))


def test_unknown_placeholder_and_missing_resource_are_errors_not_passes():
    _, doc = plan_of("dev")
    from blueprint.access.check import assemble

    a = assemble(doc)
    typo = catalogue.Flow("t", "deny", "org", ("{importer_rol}",), ("s3:GetObject",), ("arn:aws:s3:::b/k",), why="x")
    with pytest.raises(catalogue.CatalogueError, match="unknown placeholder"):
        catalogue.evaluate(a.model, a.facts, [typo])
    gone = catalogue.Flow("g", "deny", "member_account", ("team-admin:{account}",), ("events:DeleteRule",),
                          ("arn:aws:events:{home_region}:{account}:rule/secure-org-no-such-rule",), why="x")
    result = catalogue.evaluate(a.model, a.facts, [gone])
    assert not result.instances and result.errors and "is not created by this plan" in result.errors[0]
    assert result.summary()["violations"] == len(result.errors)


def test_list_placeholders_expand_to_every_combination():
    values = {"a": ["x", "y"], "b": ["1", "2"], "c": "k"}
    assert catalogue._fill("{a}-{b}-{c}", values) == ["x-1-k", "x-2-k", "y-1-k", "y-2-k"]
