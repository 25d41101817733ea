"""Mutation tests: weaken or break one control, and the access model names exactly what broke.

Each mutation edits the recorded plan the way a change to the program or to a policy file
would (an SCP's content, a StackSet template, an inline policy), then evaluates the flow
catalogue again. One end-to-end case runs the real program with a changed guardrail file.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest

from blueprint import policies
from blueprint.access import check
from blueprint.offline.plan import EXIT_FINDINGS, plan_stack
from tests.conftest import plan_of

CATALOGUE = check.catalogue.load()


def _prod() -> dict[str, Any]:
    code, doc = plan_of("prod")
    assert code == 0
    return copy.deepcopy(doc)


def _edit_scp(doc: dict[str, Any], sid: str, edit: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
    """Apply ``edit`` to the SCP statement ``sid`` wherever it was packed (None drops it)."""
    hits = 0
    for r in doc["resources"]:
        if r["type"] != "aws:organizations/policy:Policy" or r["inputs"]["type"] != "SERVICE_CONTROL_POLICY":
            continue
        content = json.loads(r["inputs"]["content"])
        out = []
        for stmt in content["Statement"]:
            if stmt.get("Sid") == sid:
                hits += 1
                stmt = edit(stmt)
            if stmt is not None:
                out.append(stmt)
        content["Statement"] = out
        r["inputs"]["content"] = json.dumps(content)
    assert hits, f"no SCP statement {sid}"


def _edit_template(doc: dict[str, Any], stack_set: str, edit: Callable[[dict[str, Any]], None]) -> None:
    r = next(r for r in doc["resources"] if r["type"] == "aws:cloudformation/stackSet:StackSet" and r["inputs"]["name"] == stack_set)
    template = json.loads(r["inputs"]["templateBody"])
    edit(template)
    r["inputs"]["templateBody"] = json.dumps(template)


def _violations(doc: dict[str, Any]) -> tuple[set[str], list[str]]:
    summary, instances, findings = check.run(doc, CATALOGUE)
    return {i["flow"] for i in instances if not i["ok"]}, [f["message"] for f in findings]


def test_unmutated_prod_has_no_violation():
    assert _violations(_prod()) == (set(), [])


def test_importer_denial_put_back_stops_every_pipeline():
    doc = _prod()
    _edit_scp(doc, "ProtectPlatformResources", lambda s: {**s, "Action": [*s["Action"], "lambda:InvokeFunction"]})
    flows, messages = _violations(doc)
    assert flows == {"pipeline-invokes-findings-importer"}
    assert len(messages) == 4  # one per pipeline team in prod
    assert all("DENY (scp SCP acme-scp-root-" in m and "ProtectPlatformResources" in m for m in messages)
    assert any("tooling:role/payments-codepipeline lambda:InvokeFunction" in m for m in messages)


def test_removing_an_exemption_a_required_flow_needs():
    doc = _prod()
    _edit_scp(doc, "ProtectS3AccountPublicAccessBlock",
              lambda s: {**s, "Condition": {"ArnNotLike": {"aws:PrincipalARN": [a for a in s["Condition"]["ArnNotLike"]["aws:PrincipalARN"]
                                                                                  if "secure-org-account-baseline" not in a]}}})
    flows, messages = _violations(doc)
    assert flows == {"baseline-function-blocks-public-buckets"}
    assert all("ProtectS3AccountPublicAccessBlock" in m for m in messages)


PLATFORM_SCP_FLOWS = {"team-cannot-silence-alert-rules", "team-cannot-delete-baseline-logs", "team-cannot-remove-baseline-stack",
                      "team-cannot-change-baseline-function"}


def test_one_layer_gone_the_next_one_holds_for_bounded_roles_only():
    """Without the SCP statement, the team's IaC is still stopped by its own explicit deny; a team admin is not."""
    doc = _prod()
    _edit_scp(doc, "ProtectPlatformResources", lambda s: None)
    flows, _ = _violations(doc)
    assert flows == PLATFORM_SCP_FLOWS
    _, instances, _ = check.run(doc, CATALOGUE)
    iac = {(i["layer"], i["sid"]) for i in instances if i["flow"] == "team-iac-cannot-touch-platform-resources" and i["action"] == "events:DeleteRule"}
    assert iac <= {("identity", "DenyPlatformResources"), ("boundary", "DenyPlatformResources")}


def test_widening_the_boundary_and_dropping_the_guardrail():
    doc = _prod()
    _edit_scp(doc, "ProtectPlatformResources", lambda s: None)

    def widen(t: dict[str, Any]) -> None:
        for res in t["Resources"].values():
            props = res.get("Properties", {})
            docs = [props.get("PolicyDocument")] + [p["PolicyDocument"] for p in props.get("Policies", [])]
            for d in filter(None, docs):
                d["Statement"] = [s for s in d["Statement"] if not (isinstance(s, dict) and s.get("Sid") == "DenyPlatformResources")]

    _edit_template(doc, "secure-org-deploy-roles", widen)
    flows, messages = _violations(doc)
    assert flows == PLATFORM_SCP_FLOWS | {"team-iac-cannot-touch-platform-resources"}
    iac = [m for m in messages if "team-iac-cannot-touch-platform-resources" in m and "cfn-exec events:DeleteRule" in m]
    assert iac and all("ALLOW by identity inline" in m and "WorkloadServicesHere" in m for m in iac)


def test_a_wildcard_bucket_resource_on_the_pipeline_role_is_caught():
    doc = _prod()
    r = next(r for r in doc["resources"] if r["type"] == "aws:iam/rolePolicy:RolePolicy" and r["inputs"]["role"] == "payments-codepipeline")
    policy = json.loads(r["inputs"]["policy"])
    for s in policy["Statement"]:
        if s["Sid"] == "Artifacts":
            s["Resource"] = "arn:aws:s3:::*/*"
    r["inputs"]["policy"] = json.dumps(policy)
    flows, messages = _violations(doc)
    assert flows == {"pipeline-cannot-use-other-team-artifacts", "pipeline-reaches-only-its-own-buckets"}
    assert all("payments-codepipeline" in m for m in messages)


def test_plan_fails_end_to_end_when_the_importer_denial_is_back(monkeypatch):
    real = policies._load_text

    def patched(kind: str, gid: str) -> str:
        text = real(kind, gid)
        if gid == "protect-platform-resources":
            doc = json.loads(text)
            for s in doc["Statement"]:
                if s["Sid"] == "ProtectPlatformResources":
                    s["Action"].append("lambda:InvokeFunction")
            text = json.dumps(doc)
        return text

    monkeypatch.setattr(policies, "_load_text", patched)
    code, doc = plan_stack("dev")
    assert code == EXIT_FINDINGS
    flow_findings = [f for f in doc["findings"] if f["rule"] == "access-flow"]
    assert len(flow_findings) == 1 and flow_findings[0]["severity"] == "mandatory"
    assert "pipeline-invokes-findings-importer" in flow_findings[0]["message"]
    assert "ProtectPlatformResources" in flow_findings[0]["message"]
    assert doc["summary"]["flows"]["violations"] == 1


@pytest.mark.parametrize("mutation", ["drop-bucket-grant", "drop-key-grant"])
def test_deploy_targets_lose_their_revisions_without_the_grants(mutation):
    doc = _prod()
    sid, rtype = {"drop-bucket-grant": ("DeployTargetsReadRevisions", "aws:s3/bucketPolicy:BucketPolicy"),
                  "drop-key-grant": ("DeployTargetsDecryptRevisions", "aws:kms/keyPolicy:KeyPolicy")}[mutation]
    for r in doc["resources"]:
        if r["type"] == rtype and sid in r["inputs"]["policy"]:
            p = json.loads(r["inputs"]["policy"])
            p["Statement"] = [s for s in p["Statement"] if s.get("Sid") != sid]
            r["inputs"]["policy"] = json.dumps(p)
    flows, _ = _violations(doc)
    assert flows == {"deploy-target-reads-revision" if mutation == "drop-bucket-grant" else "deploy-target-decrypts-revision"}
