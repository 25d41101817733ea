"""`make explain` and the flow section of `make diff`."""

from __future__ import annotations

import copy
import json

import pytest

from blueprint.access import explain
from blueprint.offline import diff as plan_diff
from tests.conftest import plan_of


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory):
    code, doc = plan_of("prod")
    assert code == 0
    path = tmp_path_factory.mktemp("explain") / "plan-prod.json"
    path.write_text(json.dumps(doc))
    return path


def _run(capsys, plan_file, *args: str) -> tuple[int, str, str]:
    code = explain.main(["--stack", "prod", "--plan", str(plan_file), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_allowed_request_shows_the_granting_statement(capsys, plan_file):
    code, out, _ = _run(capsys, plan_file, "--principal", "tooling:role/payments-codepipeline", "--action", "lambda:InvokeFunction",
                        "--resource", "arn:aws:lambda:eu-west-1:<account:tooling>:function:secure-org-findings-importer")
    assert code == 0
    assert "[ImportFindings]" in out
    assert out.rstrip().splitlines()[-2] == "decision: ALLOW"


def test_denied_request_names_layer_policy_and_sid(capsys, plan_file):
    code, out, _ = _run(capsys, plan_file, "--principal", "team-admin:payments-prod", "--action", "events:DeleteRule",
                        "--resource", "arn:aws:events:eu-west-1:<account:payments-prod>:rule/secure-org-root-sign-in")
    assert code == 1
    last = [line for line in out.splitlines() if line.startswith("decision:")][0]
    assert last.startswith("decision: DENY (scp SCP acme-scp-root-") and last.endswith("ProtectPlatformResources)")
    assert "identity  allow" in out  # the administrator's own policy allowed it; the guardrail did not


def test_context_keys_change_the_decision(capsys, plan_file):
    args = ["--principal", "tooling:role/payments-pipeline-prod-deployer", "--action", "codepipeline:PutApprovalResult",
            "--resource", "arn:aws:codepipeline:eu-west-1:<account:tooling>:payments-pipeline/Approval/ProductionApproval"]
    assert _run(capsys, plan_file, *args)[0] == 1
    assert _run(capsys, plan_file, *args, "--context", "aws:MultiFactorAuthPresent=true")[0] == 0


@pytest.mark.parametrize("principal", ["nobody-prod:role/x", "tooling:role/no-such-role", "team-admin:no-such-account"])
def test_unknown_names_are_clear_errors(capsys, plan_file, principal):
    code, _, err = _run(capsys, plan_file, "--principal", principal, "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/k")
    assert code == 2 and err.startswith("explain: ")


def test_diff_lists_flows_whose_decision_flips():
    _, head = plan_of("prod")
    base = copy.deepcopy(head)
    # The base plan denied the pipeline the importer; the head allows it again.
    for i in base["flows"]:
        if i["flow"] == "pipeline-invokes-findings-importer":
            i.update(decision="DENY", ok=False, layer="scp", sid="ProtectPlatformResources")
    d = plan_diff.diff_plans(base, head)
    assert {c["flow"] for c in d["flows"]} == {"pipeline-invokes-findings-importer"}
    assert all(c["change"] == "newly allowed" and c["ok"] for c in d["flows"])
    md = plan_diff.markdown(d, head)
    assert md.index("#### Access flows whose decision changes") < md.index("### Plan findings") if "### Plan findings" in md else True
    assert "| ok | newly allowed | pipeline-invokes-findings-importer (ALLOW) |" in md
    reverse = plan_diff.diff_plans(head, base)
    assert all(c["change"] == "newly denied" and not c["ok"] for c in reverse["flows"])
    assert "FLOW VIOLATION" in plan_diff.summary_text(reverse)
