"""Tests for functions/account_baseline/handler.py (Custom::AccountBaseline).

AWS runs in-process under moto's ``mock_aws``: EBS default encryption (ec2), the
account public access block (s3control), the password policy and the Config
service-linked role (iam).

STUBBED: moto 5.2.5 implements neither ``ec2:GetInstanceMetadataDefaults`` nor
``ec2:ModifyInstanceMetadataDefaults``. Only those two calls go to a botocore
``Stubber`` (which still validates the request against the EC2 model and checks the
exact parameters); every other EC2 call, like ``EnableEbsEncryptionByDefault``,
reaches moto. The AccessDenied case injects the error through a Stubber the same way.

The CloudFormation response is captured by a real HTTP server on 127.0.0.1, so the
PUT (method, presigned query string, headers, JSON body) is checked as sent.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from functions.account_baseline import handler as baseline  # noqa: E402

ACCOUNT = "123456789012"  # moto's default account
REGION = "eu-west-1"
IMDS_OPS = {"get_instance_metadata_defaults", "modify_instance_metadata_defaults"}
IMDS_REQUEST = {"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "HttpEndpoint": "enabled"}
PASSWORD_POLICY = {
    "MinimumPasswordLength": 16,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
    "MaxPasswordAge": 90,
    "PasswordReusePrevention": 24,
    "HardExpiry": False,
}
ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


# --------------------------------------------------------------------------- fixtures
class _Recorder(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []

    def do_PUT(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests.append({"method": "PUT", "path": self.path, "headers": dict(self.headers), "body": body})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def cfn_endpoint(monkeypatch):
    """A stand-in for the presigned S3 ResponseURL; yields (url, recorded requests)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    _Recorder.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/cfn-response/abc?X-Amz-Signature=deadbeef&X-Amz-Expires=7200"
    try:
        yield url, _Recorder.requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def aws(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        yield


class _Split:
    """A boto3 client whose ``ops`` go to a Stubber-backed client; everything else to moto."""

    def __init__(self, real, stubbed, ops):
        self._real, self._stubbed, self._ops = real, stubbed, ops

    def __getattr__(self, name):
        return getattr(self._stubbed if name in self._ops else self._real, name)


@pytest.fixture
def stubs(aws, monkeypatch):
    """The handler's boto3: moto, except the ops routed to per-service Stubbers (IMDS defaults)."""
    real_client = boto3.client

    class Stubs:
        def __init__(self):
            self.stubbers: dict[str, Stubber] = {}
            self.routed: dict[str, set[str]] = {"ec2": set(IMDS_OPS)}

        def for_(self, service: str) -> Stubber:
            if service not in self.stubbers:
                self.stubbers[service] = Stubber(real_client(service))
            return self.stubbers[service]

        def route(self, service: str, op: str) -> Stubber:
            """Send ``service.op`` to the Stubber too (to inject an error)."""
            self.routed.setdefault(service, set()).add(op)
            return self.for_(service)

        def client(self, service: str, *args: Any, **kwargs: Any):
            real = real_client(service, *args, **kwargs)
            if service not in self.routed:
                return real
            return _Split(real, self.for_(service).client, self.routed[service])

    s = Stubs()
    # Only the handler's view of boto3 changes; the tests' own clients talk to moto directly.
    monkeypatch.setattr(baseline, "boto3", SimpleNamespace(client=s.client, session=boto3.session))
    yield s
    for stubber in s.stubbers.values():
        stubber.deactivate()


def imds_account_managed(stubs: Any, modify: bool = True) -> Stubber:
    """Queue the IMDS calls for an account whose defaults it manages itself."""
    ec2 = stubs.for_("ec2")
    ec2.add_response("get_instance_metadata_defaults", {"AccountLevel": {"HttpTokens": "optional", "ManagedBy": "account"}}, {})
    if modify:
        ec2.add_response("modify_instance_metadata_defaults", {"Return": True}, IMDS_REQUEST)
    ec2.activate()
    return ec2


def event(kind: str, url: str, *, home: bool = True, physical: str | None = None, **props: Any) -> dict[str, Any]:
    e = {
        "RequestType": kind,
        "ResponseURL": url,
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/StackSet-secure-org-baseline-1234/5678",
        "RequestId": "req-0001",
        "ResourceType": "Custom::AccountBaseline",
        "LogicalResourceId": "AccountBaseline",
        "ResourceProperties": {
            "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:secure-org-account-baseline",
            "AccountId": ACCOUNT,
            "Global": "true" if home else "false",
            "PasswordMinLength": "16",
            **props,
        },
    }
    if physical:
        e["PhysicalResourceId"] = physical
    return e


def response_of(requests: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(requests) == 1, f"expected exactly one response, got {len(requests)}"
    return json.loads(requests[0]["body"])


def ebs_default() -> bool:
    return boto3.client("ec2").get_ebs_encryption_by_default()["EbsEncryptionByDefault"]


def account_pab() -> dict[str, bool] | None:
    try:
        return boto3.client("s3control").get_public_access_block(AccountId=ACCOUNT)["PublicAccessBlockConfiguration"]
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchPublicAccessBlockConfiguration"
        return None


def password_policy() -> dict[str, Any] | None:
    try:
        return boto3.client("iam").get_account_password_policy()["PasswordPolicy"]
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchEntity"
        return None


def config_role_exists() -> bool:
    # Looked up by path: moto names the role "AWSServiceRoleForconfig" (AWS: ...ForConfig).
    roles = boto3.client("iam").list_roles(PathPrefix="/aws-service-role/config.amazonaws.com/")["Roles"]
    return len(roles) == 1


# --------------------------------------------------------------------------- Create / Update
def test_create_in_home_region_applies_every_setting(stubs, cfn_endpoint):
    url, requests = cfn_endpoint
    ec2 = imds_account_managed(stubs)
    assert not ebs_default() and account_pab() is None and password_policy() is None

    result = baseline.handler(event("Create", url), None)

    assert result == {"Status": "SUCCESS", "Reason": ""}
    ec2.assert_no_pending_responses()  # IMDS defaults were read, then set to exactly IMDS_REQUEST
    assert ebs_default() is True
    assert account_pab() == ALL_BLOCKED
    policy = password_policy()
    assert {k: policy[k] for k in PASSWORD_POLICY} == PASSWORD_POLICY
    assert config_role_exists()

    body = response_of(requests)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == f"account-baseline-{ACCOUNT}-{REGION}"
    assert body["StackId"].endswith("/5678") and body["RequestId"] == "req-0001"
    assert body["LogicalResourceId"] == "AccountBaseline"
    assert set(body) >= {"Status", "Reason", "PhysicalResourceId", "StackId", "RequestId", "LogicalResourceId"}


def test_response_is_a_put_to_the_presigned_url(stubs, cfn_endpoint):
    url, requests = cfn_endpoint
    imds_account_managed(stubs)
    baseline.handler(event("Create", url), None)
    (req,) = requests
    assert req["method"] == "PUT"
    signed = urlsplit(url)
    assert req["path"] == f"{signed.path}?{signed.query}"  # path and signed query intact
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert headers.get("content-type", "") == ""  # the presigned URL is signed without a content type
    assert int(headers["content-length"]) == len(req["body"])


def test_create_outside_home_region_sets_only_regional_settings(stubs, cfn_endpoint):
    url, requests = cfn_endpoint
    ec2 = imds_account_managed(stubs)
    baseline.handler(event("Create", url, home=False), None)
    ec2.assert_no_pending_responses()
    assert ebs_default() is True
    assert account_pab() is None and password_policy() is None  # global: home region only
    assert config_role_exists()  # needed by this region's recorder, whatever the deploy order
    assert response_of(requests)["Status"] == "SUCCESS"


def test_imds_defaults_owned_by_a_declarative_policy_are_left_alone(stubs, cfn_endpoint):
    url, requests = cfn_endpoint
    ec2 = stubs.for_("ec2")
    ec2.add_response(
        "get_instance_metadata_defaults",
        {"AccountLevel": {"HttpTokens": "required", "HttpPutResponseHopLimit": 2, "ManagedBy": "declarative-policy"}},
        {},
    )
    ec2.activate()  # no modify queued: calling it would raise and the response would be FAILED
    baseline.handler(event("Create", url), None)
    ec2.assert_no_pending_responses()
    assert response_of(requests)["Status"] == "SUCCESS"
    assert ebs_default() is True


def test_existing_config_service_linked_role_is_fine(stubs, cfn_endpoint):
    url, requests = cfn_endpoint
    boto3.client("iam").create_service_linked_role(AWSServiceName="config.amazonaws.com")
    imds_account_managed(stubs)
    baseline.handler(event("Create", url), None)
    assert response_of(requests)["Status"] == "SUCCESS"


def test_update_reapplies_and_keeps_the_physical_id(stubs, cfn_endpoint):
    url, requests = cfn_endpoint
    imds_account_managed(stubs)
    boto3.client("iam").update_account_password_policy(MinimumPasswordLength=8)
    baseline.handler(event("Update", url, physical="existing-id", PasswordMinLength="20"), None)
    body = response_of(requests)
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == "existing-id"
    assert password_policy()["MinimumPasswordLength"] == 20


# --------------------------------------------------------------------------- Delete
def test_delete_leaves_every_setting_in_place(stubs, cfn_endpoint, monkeypatch):
    url, requests = cfn_endpoint
    imds_account_managed(stubs)
    baseline.handler(event("Create", url), None)
    requests.clear()

    def no_aws(*args, **kwargs):
        raise AssertionError("Delete must not call AWS")

    monkeypatch.setattr(baseline, "boto3", SimpleNamespace(client=no_aws, session=boto3.session))
    result = baseline.handler(event("Delete", url, physical=f"account-baseline-{ACCOUNT}-{REGION}"), None)

    assert result["Status"] == "SUCCESS"
    body = response_of(requests)
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == f"account-baseline-{ACCOUNT}-{REGION}"
    assert ebs_default() is True
    assert account_pab() == ALL_BLOCKED
    assert password_policy()["MinimumPasswordLength"] == 16


# --------------------------------------------------------------------------- failures
def test_access_denied_is_reported_as_failed_with_the_reason(stubs, cfn_endpoint):
    url, requests = cfn_endpoint
    imds_account_managed(stubs)
    iam = stubs.route("iam", "update_account_password_policy")
    message = "User is not authorized to perform: iam:UpdateAccountPasswordPolicy with an explicit deny in a service control policy"
    iam.add_client_error("update_account_password_policy", service_error_code="AccessDenied", service_message=message, http_status_code=403)
    iam.activate()

    result = baseline.handler(event("Create", url), None)

    iam.assert_no_pending_responses()
    body = response_of(requests)
    assert body["Status"] == "FAILED" == result["Status"]
    assert "AccessDenied" in body["Reason"] and "explicit deny" in body["Reason"]
    assert body["PhysicalResourceId"] and body["RequestId"] == "req-0001"


def test_imds_unauthorized_is_reported_as_failed(stubs, cfn_endpoint):
    url, requests = cfn_endpoint
    ec2 = stubs.for_("ec2")
    ec2.add_response("get_instance_metadata_defaults", {"AccountLevel": {}}, {})
    ec2.add_client_error("modify_instance_metadata_defaults", service_error_code="UnauthorizedOperation", service_message="explicit deny in a service control policy", http_status_code=403)
    ec2.activate()
    baseline.handler(event("Create", url), None)
    body = response_of(requests)
    assert body["Status"] == "FAILED" and "UnauthorizedOperation" in body["Reason"]


def test_unexpected_errors_are_reported_too(aws, cfn_endpoint, monkeypatch):
    url, requests = cfn_endpoint

    def broken(*args, **kwargs):
        raise RuntimeError("x" * 5000)

    monkeypatch.setattr(baseline, "apply", broken)
    baseline.handler(event("Create", url), None)
    body = response_of(requests)
    assert body["Status"] == "FAILED" and body["Reason"].startswith("RuntimeError: xxx")
    assert len(body["Reason"]) <= 1000  # the whole response must stay small


class _Context:
    def __init__(self, remaining_ms: int):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_answers_failed_before_the_lambda_times_out(aws, cfn_endpoint, monkeypatch):
    url, requests = cfn_endpoint

    def hangs(props):
        time.sleep(30)

    monkeypatch.setattr(baseline, "apply", hangs)
    started = time.monotonic()
    baseline.handler(event("Create", url), _Context(remaining_ms=11_000))  # alarm after 1 s
    assert time.monotonic() - started < 10
    body = response_of(requests)
    assert body["Status"] == "FAILED" and "TimeoutError" in body["Reason"]


# --------------------------------------------------------------------------- as deployed
def test_the_inlined_code_runs_as_lambdas_index_module(stubs, cfn_endpoint, tmp_path):
    """CloudFormation writes Code.ZipFile to index.py; run exactly that text."""
    from blueprint.baseline.account_template import account_baseline_template

    code = account_baseline_template()["Resources"]["BaselineFunction"]["Properties"]["Code"]["ZipFile"]
    (tmp_path / "index.py").write_text(code)
    spec = importlib.util.spec_from_file_location("index", tmp_path / "index.py")
    index = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(index)
    assert "cfnresponse" not in sys.modules  # no dependency on the module CFN provides

    url, requests = cfn_endpoint
    imds_account_managed(stubs)
    index.boto3 = baseline.boto3  # the same moto + stub routing (this module is throwaway)
    index.handler(event("Create", url), _Context(remaining_ms=120_000))
    assert response_of(requests)["Status"] == "SUCCESS"
    assert ebs_default() is True and account_pab() == ALL_BLOCKED
