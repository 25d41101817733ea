"""End to end: the real pack process (real PolicyPack, real gRPC server), driven like the Pulumi CLI.

Starts `python policies/pack/__main__.py` from another directory with the environment the CLI
gives a policy pack (PULUMI_STACK, PULUMI_CONFIG), reads the port it prints, calls
GetAnalyzerInfo / Analyze / AnalyzeStack over gRPC, then stops that one process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2 as pb
from pulumi.runtime.proto import analyzer_pb2_grpc as pb_grpc
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from blueprint.crossguard import rules

REPO = Path(__file__).resolve().parents[2]


def _struct(d: dict) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(d)
    return s


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory):
    from blueprint.offline.runtime import stack_file_config
    from tests.conftest import stack_raw, write_stack

    raw = stack_raw("prod")
    raw["policy_exemptions"] = [
        {"rule": "sns-topic-kms", "resource": "legacy-*", "reason": "legacy topic carries public status pages only", "expires": "2099-01-01"},
        {"rule": "kms-key-rotation", "resource": "*", "reason": "an old waiver nobody renewed in time", "expires": "2020-01-01"},
    ]
    stack_file = write_stack(tmp_path_factory.mktemp("stack") / "Pulumi.prod.yaml", raw)
    flat, _ = stack_file_config(stack_file)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "SECURE_ORG_"))}
    env.update(PULUMI_STACK="prod", PULUMI_PROJECT="secure-org", PULUMI_CONFIG=json.dumps(flat), PYTHONPATH="")
    proc = subprocess.Popen([sys.executable, "-u", str(REPO / "policies" / "pack" / "__main__.py")],
                            cwd=str(tmp_path_factory.mktemp("cwd")), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode().strip()
        assert line.isdigit(), (line, proc.stderr.read().decode() if proc.poll() is not None else "")
        channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield pb_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def analyze(stub, type_: str, name: str, props: dict, protect: bool = False):
    req = pb.AnalyzeRequest(type=type_, name=name, urn=f"urn:pulumi:prod::secure-org::{type_}::{name}",
                            properties=_struct(props), options=pb.AnalyzerResourceOptions(protect=protect))
    return [(d.policyName, d.enforcementLevel, d.message) for d in stub.Analyze(req).diagnostics]


def test_pack_serves_every_policy(analyzer) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "secure-org"
    names = {p.name for p in info.policies}
    assert names == {r.name for r in rules.RULES} | set(rules.META_RULES)


def test_analyze_reports_mandatory_violations(analyzer) -> None:
    found = analyze(analyzer, "aws:sns/topic:Topic", "alerts", {"name": "alerts"})
    assert [(n, lvl) for n, lvl, _ in found] == [("sns-topic-kms", pb.MANDATORY)]
    assert "kmsMasterKeyId is not set" in found[0][2]
    assert analyze(analyzer, "aws:sns/topic:Topic", "alerts", {"name": "alerts", "kmsMasterKeyId": "arn:aws:kms:eu-west-1:1:key/x"}) == []


def test_unknown_values_from_preview_pass(analyzer) -> None:
    assert analyze(analyzer, "aws:sns/topic:Topic", "alerts", {"name": "alerts", "kmsMasterKeyId": UNKNOWN_STRING_VALUE}) == []
    trust = {"name": "r", "assumeRolePolicy": UNKNOWN_STRING_VALUE}
    assert analyze(analyzer, "aws:iam/role:Role", "r", trust) == []


def test_exemptions_from_the_engine_config_apply(analyzer) -> None:
    """PULUMI_CONFIG carried policy_exemptions: the legacy-* topic is waived, others are not."""
    assert analyze(analyzer, "aws:sns/topic:Topic", "legacy-status", {"name": "legacy-status"}) == []
    assert analyze(analyzer, "aws:sns/topic:Topic", "other", {"name": "other"})
    # the expired waiver does not waive, and is itself reported by the stack policy
    assert [n for n, _, _ in analyze(analyzer, "aws:kms/key:Key", "k", {"enableKeyRotation": False})] == ["kms-key-rotation"]
    resources = [pb.AnalyzerResource(type="aws:sns/topic:Topic", name="legacy-status", urn="urn:pulumi:prod::secure-org::aws:sns/topic:Topic::legacy-status",
                                     properties=_struct({"name": "legacy-status"}), options=pb.AnalyzerResourceOptions())]
    diags = analyzer.AnalyzeStack(pb.AnalyzeStackRequest(resources=resources)).diagnostics
    by_policy = {d.policyName: d for d in diags}
    assert "policy-exemption-expired" in by_policy and "2020-01-01" in by_policy["policy-exemption-expired"].message
    assert "policy-exemption-waived" in by_policy and "sns-topic-kms" in by_policy["policy-exemption-waived"].message
    assert "crossguard-stack-config" not in by_policy, "the pack read the stack config from PULUMI_CONFIG"
