"""functions/patch_on_finding against moto (SSM send_command; EC2 instances).

moto implements ssm:SendCommand (not start_automation_execution, which this does not use), so
the command is real in moto and read back with list_commands. Events are Inspector2 Finding
events in EventBridge's shape, written for these tests.
"""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from functions.patch_on_finding import handler as h

REGION = "eu-west-1"
ACCOUNT = "123456789012"


@pytest.fixture
def ssm(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        yield boto3.client("ssm", REGION)


def finding(severity, resources=None, status="ACTIVE"):
    res = resources if resources is not None else [{"type": "AWS_EC2_INSTANCE", "id": "i-0123456789abcdef0", "region": REGION,
                                                    "details": {"awsEc2Instance": {"imageId": "ami-0123456789abcdef0"}}}]
    return {"version": "0", "detail-type": "Inspector2 Finding", "source": "aws.inspector2", "account": ACCOUNT, "region": REGION,
            "detail": {"awsAccountId": ACCOUNT, "severity": severity, "status": status, "type": "PACKAGE_VULNERABILITY",
                       "title": "CVE-2026-1234 - glibc", "resources": res}}


@pytest.mark.parametrize("severity,threshold,patched", [
    ("HIGH", "HIGH", True),          # exactly at the threshold
    ("CRITICAL", "HIGH", True),
    ("MEDIUM", "HIGH", False),       # just below
    ("LOW", "LOW", True),
    ("INFORMATIONAL", "LOW", False),
    ("UNTRIAGED", "LOW", False),
])
def test_threshold_edges(ssm, severity, threshold, patched):
    result = h.decide(finding(severity), threshold, ssm)
    assert result["action"] == ("PATCH" if patched else "NONE")
    commands = ssm.list_commands()["Commands"]
    assert len(commands) == int(patched)
    if patched:
        [cmd] = commands
        assert cmd["DocumentName"] == "AWS-RunPatchBaseline" and cmd["InstanceIds"] == ["i-0123456789abcdef0"]
        assert cmd["Parameters"]["Operation"] == ["Install"] and cmd["CommandId"] == result["command"]


def test_closed_findings_and_non_instances_change_nothing(ssm):
    assert h.decide(finding("CRITICAL", status="CLOSED"), "HIGH", ssm)["action"] == "NONE"
    ecr = [{"type": "AWS_ECR_CONTAINER_IMAGE", "id": "arn:aws:ecr:eu-west-1:123456789012:repository/x"}]
    assert h.decide(finding("CRITICAL", resources=ecr), "HIGH", ssm)["action"] == "NONE"
    assert ssm.list_commands()["Commands"] == []


@pytest.mark.parametrize("event", ["text", {"detail": "oops"}, {"no": "detail"}])
def test_malformed_events_get_a_clear_error(ssm, event):
    with pytest.raises(ValueError, match="Inspector2 Finding"):
        h.decide(event, "HIGH", ssm)


def test_bad_threshold_is_refused(ssm):
    with pytest.raises(ValueError, match="THRESHOLD"):
        h.decide(finding("HIGH"), "SEVERE", ssm)


def test_handler_reads_the_threshold(ssm, monkeypatch):
    monkeypatch.setenv("THRESHOLD", "CRITICAL")
    assert h.handler(finding("HIGH"), None)["action"] == "NONE"
    assert h.handler(finding("CRITICAL"), None)["action"] == "PATCH"
