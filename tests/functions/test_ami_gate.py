"""The golden-AMI scan gate against moto (EC2, SSM, SNS, STS, Security Hub, Inspector2).

moto has no Image Builder backend and rejects RAM shares of SSM parameters, so those two
clients are botocore Stubbers with responses in the real services' shapes (botocore 1.44
service models validate every stubbed request and response). moto does not implement
ec2:EnableImageDeprecation either; the revoke tests stub that one EC2 call the same way.
"""

from __future__ import annotations

import json

import boto3
import pytest
import requests  # noqa: F401  (moto's API is reached in-process)
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber
from moto import mock_aws

from functions.ami_gate.handler import Gate, MalformedEvent, at_or_above, handler

REGION = "eu-west-1"
ACCOUNT = "123456789012"
IMAGE_ARN = f"arn:aws:imagebuilder:{REGION}:{ACCOUNT}:image/al2023-base/1.0.0/3"
STEP = "step-0123456789abcdef0"
SHARE = f"arn:aws:ram:{REGION}:{ACCOUNT}:resource-share/3ab63985-99d9-1cd2-7d24-75e93EXAMPLE"
IMAGES = {"al2023-base": {"threshold": "HIGH", "regions": [REGION]}}


# One boto3 session for the module, used by the gate and the tests alike: each new session
# re-reads botocore's service models (EC2's alone is megabytes of JSON), which was most of each
# test's time. moto's state is still fresh per test (mock_aws below), so no test sees another's
# AMIs or parameters. Credentials resolve on first client creation, inside mock_aws.
SESSION = boto3.session.Session(region_name=REGION)


@pytest.fixture(scope="module")
def session():
    return SESSION


@pytest.fixture
def aws(monkeypatch, session):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # moto otherwise loads its catalogue of ~1,000 public AMIs into every region's backend on
    # first use, which made each test that touched EC2 take 15-40 s; the gate never reads a
    # public AMI, so the tests register their own (_ami below).
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.setattr("time.sleep", lambda s: None)
    with mock_aws():
        topic = SESSION.client("sns", REGION).create_topic(Name="secure-org-ami-alerts")["TopicArn"]
        gate = Gate(IMAGES, topic, SHARE, session=session)
        ib = session.client("imagebuilder", REGION)
        ram = session.client("ram", REGION)
        gate._clients[("imagebuilder", REGION)] = ib
        gate._clients[("ram", REGION)] = ram
        with Stubber(ib) as ib_stub, Stubber(ram) as ram_stub:
            yield gate, ib_stub, ram_stub, topic


def image(status="COMPLETED", amis=None):
    img = {"arn": IMAGE_ARN, "name": "al2023-base", "version": "1.0.0/3", "state": {"status": "TESTING"}}
    if status is not None:
        img["scanState"] = {"status": status, "reason": "scan finished"}
    if amis:
        img["outputResources"] = {"amis": [{"region": r, "image": a, "accountId": ACCOUNT} for r, a in amis.items()]}
    return {"requestId": "r", "image": img}


def finding(sev, cve="CVE-2026-0001"):
    return {"awsAccountId": ACCOUNT, "imageBuildVersionArn": IMAGE_ARN, "severity": sev, "title": f"{cve} - openssl",
            "description": "openssl flaw", "type": "PACKAGE_VULNERABILITY",
            "packageVulnerabilityDetails": {"vulnerabilityId": cve, "source": "NVD", "vulnerablePackages": []}}


def expect_findings(ib_stub, *pages):
    for i, page in enumerate(pages):
        req = {"filters": [{"name": "imageBuildVersionArn", "values": [IMAGE_ARN]}], "maxResults": 25}
        if i:
            req["nextToken"] = f"t{i}"
        resp = {"requestId": "r", "findings": page}
        if i < len(pages) - 1:
            resp["nextToken"] = f"t{i + 1}"
        ib_stub.add_response("list_image_scan_findings", resp, req)


def expect_action(ib_stub, action):
    ib_stub.add_response("send_workflow_step_action", {"stepExecutionId": STEP, "imageBuildVersionArn": IMAGE_ARN, "clientToken": "x"},
                         {"stepExecutionId": STEP, "imageBuildVersionArn": IMAGE_ARN, "action": action, "reason": ANY, "clientToken": ANY})


def wait_event():
    # The WaitForAction step's SNS notification, as SNS delivers it to Lambda.
    msg = {"workflowExecutionId": "wf-0123", "stepExecutionId": STEP, "imageBuildVersionArn": IMAGE_ARN, "stepName": "ScanGate"}
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": json.dumps(msg)}}]}


# -- the in-pipeline gate ---------------------------------------------------------------

@pytest.mark.parametrize("severities,action", [
    ([], "RESUME"),
    (["LOW", "MEDIUM", "MEDIUM"], "RESUME"),  # just below HIGH
    (["MEDIUM", "HIGH"], "STOP"),  # exactly at the threshold
    (["CRITICAL"], "STOP"),
    (["INFORMATIONAL", "UNTRIAGED"], "RESUME"),
])
def test_threshold_edges(aws, severities, action):
    gate, ib, _, _ = aws
    ib.add_response("get_image", image(), {"imageBuildVersionArn": IMAGE_ARN})
    expect_findings(ib, [finding(s, f"CVE-2026-{i}") for i, s in enumerate(severities)])
    expect_action(ib, action)
    [result] = gate.handle(wait_event())
    assert result["action"] == action
    ib.assert_no_pending_responses()
    imported = SESSION.client("securityhub", REGION).get_findings()["Findings"]
    assert len(imported) == (sum(s in ("HIGH", "CRITICAL") for s in severities))


def test_finding_on_a_later_page_stops_the_build(aws):
    gate, ib, _, _ = aws
    ib.add_response("get_image", image(), {"imageBuildVersionArn": IMAGE_ARN})
    expect_findings(ib, [finding("LOW", f"CVE-1-{i}") for i in range(25)], [finding("CRITICAL")])
    expect_action(ib, "STOP")
    assert gate.decide_build(IMAGE_ARN, STEP)["action"] == "STOP"


@pytest.mark.parametrize("status", ["PENDING", "SCANNING", "FAILED", "TIMED_OUT", "ABANDONED", None])
def test_incomplete_scan_fails_closed(aws, status):
    gate, ib, _, _ = aws
    ib.add_response("get_image", image(status=status), {"imageBuildVersionArn": IMAGE_ARN})
    expect_action(ib, "STOP")  # no findings are even listed
    result = gate.decide_build(IMAGE_ARN, STEP)
    assert result["action"] == "STOP" and "failing closed" in result["reason"]
    ib.assert_no_pending_responses()


def test_throttling_is_retried_then_decided(aws):
    gate, ib, _, _ = aws
    ib.add_client_error("get_image", "ThrottlingException", http_status_code=400)
    ib.add_client_error("get_image", "TooManyRequestsException", http_status_code=429)
    ib.add_response("get_image", image(), {"imageBuildVersionArn": IMAGE_ARN})
    expect_findings(ib, [])
    expect_action(ib, "RESUME")
    assert gate.decide_build(IMAGE_ARN, STEP)["action"] == "RESUME"


def test_persistent_throttling_raises_and_never_resumes(aws):
    gate, ib, _, _ = aws
    for _ in range(5):
        ib.add_client_error("get_image", "ThrottlingException", http_status_code=400)
    with pytest.raises(ClientError):
        gate.decide_build(IMAGE_ARN, STEP)
    # No RESUME was sent: the step times out and the image fails (fail closed).
    ib.assert_no_pending_responses()


def test_other_errors_are_not_retried(aws):
    gate, ib, _, _ = aws
    ib.add_client_error("get_image", "AccessDeniedException", http_status_code=403)
    with pytest.raises(ClientError, match="AccessDenied"):
        gate.decide_build(IMAGE_ARN, STEP)


def test_unconfigured_image_is_refused(aws):
    gate, ib, _, _ = aws
    other = image()
    other["image"]["name"] = "someone-elses"
    ib.add_response("get_image", other, {"imageBuildVersionArn": IMAGE_ARN})
    with pytest.raises(MalformedEvent, match="not a configured golden image"):
        gate.decide_build(IMAGE_ARN, STEP)


# -- approval --------------------------------------------------------------------------

def _ami(name="al2023-base-2026-11-30"):
    # An AMI owned by this (factory) account, as Image Builder's distribution leaves it.
    return SESSION.client("ec2", REGION).register_image(Name=name, RootDeviceName="/dev/xvda")["ImageId"]


def test_available_image_is_approved_and_shared(aws):
    gate, ib, ram, _ = aws
    ami = _ami()
    ib.add_response("get_image", image(amis={REGION: ami, "ap-south-1": "ami-0notconfigured0000"}), {"imageBuildVersionArn": IMAGE_ARN})
    param_arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/golden-ami/al2023-base/approved"
    ram.add_response("associate_resource_share", {"resourceShareAssociations": []}, {"resourceShareArn": SHARE, "resourceArns": [param_arn]})
    event = {"version": "0", "detail-type": "EC2 Image Builder Image State Change", "source": "aws.imagebuilder", "account": ACCOUNT,
             "region": REGION, "resources": [IMAGE_ARN], "detail": {"previous-state": {"status": "DISTRIBUTING"}, "state": {"status": "AVAILABLE"}}}
    result = gate.handle(event)
    assert result["amis"] == {REGION: ami}
    p = SESSION.client("ssm", REGION).get_parameter(Name="/golden-ami/al2023-base/approved")["Parameter"]
    assert (p["Value"], p["DataType"]) == (ami, "aws:ec2:image")
    tags = SESSION.client("ec2", REGION).describe_images(ImageIds=[ami])["Images"][0]["Tags"]
    assert {"Key": "secure-org:approved", "Value": "true"} in tags
    ram.assert_no_pending_responses()


def test_other_states_do_not_approve(aws):
    gate, _, _, _ = aws
    event = {"detail-type": "EC2 Image Builder Image State Change", "resources": [IMAGE_ARN], "detail": {"state": {"status": "FAILED"}}}
    assert gate.handle(event)["action"] == "NONE"


# -- continuous re-gate (Inspector findings injected through moto's inspector2 API) ---------

def _inspector_finding(ami, severity):
    payload = {"account_id": ACCOUNT, "region": REGION, "results": [[{"awsAccountId": ACCOUNT, "findingArn": f"arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/abc",
                             "severity": severity, "status": "ACTIVE", "title": "CVE-2026-1234 - glibc", "type": "PACKAGE_VULNERABILITY",
                             "description": "glibc", "firstObservedAt": "2026-11-30T00:00:00Z", "lastObservedAt": "2026-11-30T00:00:00Z",
                             "remediation": {}, "resources": [{"id": ami, "type": "AWS_EC2_INSTANCE", "details": {"awsEc2Instance": {"imageId": ami}}}]}]]}
    import requests as rq
    rq.post("http://motoapi.amazonaws.com/moto-api/static/inspector2/findings-results", json=payload)
    [f] = SESSION.client("inspector2", REGION).list_findings()["findings"]
    return {"detail-type": "Inspector2 Finding", "source": "aws.inspector2", "region": REGION, "detail": f}


def _approve_history(*amis):
    ssm = SESSION.client("ssm", REGION)
    for a in amis:
        ssm.put_parameter(Name="/golden-ami/al2023-base/approved", Value=a, Type="String", DataType="aws:ec2:image", Tier="Advanced", Overwrite=True)


def _stub_deprecation(gate, ami):
    ec2 = SESSION.client("ec2", REGION)
    real = gate.client("ec2", REGION)
    stub = Stubber(ec2)
    stub.add_response("enable_image_deprecation", {"Return": True}, {"ImageId": ami, "DeprecateAt": ANY})
    stub.activate()

    class Ec2:  # moto for everything, the stub for the one call moto lacks
        def __getattr__(self, item):
            return getattr(ec2 if item == "enable_image_deprecation" else real, item)

    gate._clients[("ec2", REGION)] = Ec2()
    return stub


def test_high_finding_on_approved_ami_revokes_and_falls_back(aws):
    gate, _, _, topic = aws
    old, new = _ami("old"), _ami("new")
    _approve_history(old, new)
    stub = _stub_deprecation(gate, new)
    result = gate.handle(_inspector_finding(new, "HIGH"))
    assert result == {"action": "REVOKED", "image": "al2023-base", "ami": new, "fallback": old}
    assert SESSION.client("ssm", REGION).get_parameter(Name="/golden-ami/al2023-base/approved")["Parameter"]["Value"] == old
    stub.assert_no_pending_responses()


def test_revoke_without_clean_predecessor_keeps_parameter_and_alerts(aws):
    gate, _, _, _ = aws
    only = _ami("only")
    _approve_history(only)
    _stub_deprecation(gate, only)
    result = gate.handle(_inspector_finding(only, "CRITICAL"))
    assert result["action"] == "REVOKED" and result["fallback"] is None


def test_finding_below_threshold_or_on_other_ami_changes_nothing(aws):
    gate, _, _, _ = aws
    ami = _ami()
    _approve_history(ami)
    assert gate.handle(_inspector_finding(ami, "MEDIUM"))["action"] == "NONE"
    assert gate.handle(_inspector_finding("ami-0123456789abcdef0", "CRITICAL"))["action"] == "NONE"
    assert SESSION.client("ssm", REGION).get_parameter(Name="/golden-ami/al2023-base/approved")["Parameter"]["Value"] == ami


# -- malformed input ---------------------------------------------------------------------

@pytest.mark.parametrize("event,message", [
    ("not an event", "expected an SNS or EventBridge event object"),
    ({"Records": [{"Sns": {"Message": "{not json"}}]}, "SNS record without a JSON Message"),
    ({"Records": [{"Sns": {"Message": "[1, 2]"}}]}, "not a JSON object"),
    ({"Records": [{"Sns": {"Message": json.dumps({"stepExecutionId": STEP})}}]}, "missing 'imageBuildVersionArn'"),
    ({"detail-type": "EC2 Image Builder Image State Change", "detail": {"state": {"status": "AVAILABLE"}}}, "no resources"),
    ({"detail-type": "Inspector2 Finding", "detail": "oops"}, "no detail object"),
    ({"detail-type": "EC2 Image Builder Workflow Step Waiting", "detail": {}}, "missing 'image-build-version-arn'"),
    ({"hello": "world"}, "unrecognised event"),
])
def test_malformed_events_get_a_clear_error(aws, event, message):
    gate, _, _, _ = aws
    with pytest.raises(MalformedEvent, match=message):
        gate.handle(event)


def test_handler_reads_its_environment(monkeypatch):
    monkeypatch.setenv("IMAGES", json.dumps(IMAGES))
    monkeypatch.setenv("ALERT_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:t")
    monkeypatch.setenv("SHARE_ARN", SHARE)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with pytest.raises(MalformedEvent):
        handler({"nothing": 1})


def test_severity_order():
    assert at_or_above("HIGH", "HIGH") and at_or_above("CRITICAL", "HIGH") and not at_or_above("MEDIUM", "HIGH")
    assert not at_or_above("UNTRIAGED", "LOW") and not at_or_above(None, "LOW")
