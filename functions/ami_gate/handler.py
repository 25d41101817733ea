"""Golden-AMI scan gate (image-factory account).

Events, and what the gate does with each:

* **WaitForAction** (SNS message from the scan-gate test workflow, or the EventBridge event
  "EC2 Image Builder Workflow Step Waiting"): reads the image; if its scan is not COMPLETED
  it STOPs the build (fail closed); if any finding is at or above the image's threshold it
  STOPs; otherwise it RESUMEs. Findings at or above the threshold go to Security Hub.
* **Image State Change** with status AVAILABLE: writes /golden-ami/<image>/approved
  (DataType aws:ec2:image, Advanced tier) in every distribution region, adds it to the
  organization's RAM share, and tags the AMI.
* **Inspector2 Finding** on an approved AMI at or above the threshold: deprecates the AMI
  now, points /approved back to the previous clean AMI (or leaves it empty of the bad one),
  and alerts.

Anything else is a malformed event: a ValueError that says what is missing.
Environment: IMAGES (JSON {image: {threshold, regions}}), ALERT_TOPIC_ARN, SHARE_ARN, PARAMETER_ROOT.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from typing import Any

import boto3
from botocore.exceptions import ClientError

SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
THROTTLES = {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded", "ServiceUnavailableException"}


class MalformedEvent(ValueError):
    pass


def _rank(label: str | None) -> int:
    try:
        return SEVERITIES.index((label or "").upper())
    except ValueError:
        return -1


def at_or_above(label: str | None, threshold: str) -> bool:
    return _rank(label) >= _rank(threshold) >= 0


def retry(call, *args, attempts: int = 5, **kwargs):
    """Retry throttled calls with exponential backoff; anything else is raised at once."""
    for i in range(attempts):
        try:
            return call(*args, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in THROTTLES or i == attempts - 1:
                raise
            time.sleep(min(0.2 * 2**i, 5))
    raise AssertionError("unreachable")


class Gate:
    def __init__(self, images: dict[str, dict[str, Any]], alert_topic: str, share_arn: str, root: str = "/golden-ami",
                 session: Any = None, home_region: str | None = None):
        self.images, self.alert_topic, self.share_arn, self.root = images, alert_topic, share_arn, root
        self.session = session or boto3.session.Session()
        self.region = home_region or self.session.region_name
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=key[1])
        return self._clients[key]

    def settings(self, image: str) -> dict[str, Any]:
        if image not in self.images:
            raise MalformedEvent(f"image {image!r} is not a configured golden image ({', '.join(sorted(self.images))})")
        return self.images[image]

    # -- 1. the in-pipeline gate -------------------------------------------------
    def decide_build(self, image_arn: str, step_id: str) -> dict[str, Any]:
        ib = self.client("imagebuilder")
        image = retry(ib.get_image, imageBuildVersionArn=image_arn)["image"]
        name = image.get("name", "")
        threshold = self.settings(name)["threshold"]
        status = (image.get("scanState") or {}).get("status")
        if status != "COMPLETED":
            return self._send(image_arn, step_id, "STOP", f"scan state is {status or 'missing'}, not COMPLETED: failing closed")
        findings, token = [], None
        while True:
            kw = {"filters": [{"name": "imageBuildVersionArn", "values": [image_arn]}], "maxResults": 25}
            if token:
                kw["nextToken"] = token
            page = retry(ib.list_image_scan_findings, **kw)
            findings += page.get("findings", [])
            token = page.get("nextToken")
            if not token:
                break
        bad = [f for f in findings if at_or_above(f.get("severity"), threshold)]
        if bad:
            self._import(name, image_arn, bad)
            worst = max(bad, key=lambda f: _rank(f.get("severity")))
            return self._send(image_arn, step_id, "STOP",
                              f"{len(bad)} finding(s) at or above {threshold} (worst {worst.get('severity')} {worst.get('title', '')[:80]})")
        return self._send(image_arn, step_id, "RESUME", f"scan completed, {len(findings)} finding(s), none at or above {threshold}")

    def _send(self, image_arn: str, step_id: str, action: str, reason: str) -> dict[str, Any]:
        retry(self.client("imagebuilder").send_workflow_step_action, stepExecutionId=step_id, imageBuildVersionArn=image_arn,
              action=action, reason=reason[:200], clientToken=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{step_id}/{action}")))
        return {"action": action, "reason": reason}

    # -- 2. approval record --------------------------------------------------------
    def approve(self, image_arn: str) -> dict[str, Any]:
        image = retry(self.client("imagebuilder").get_image, imageBuildVersionArn=image_arn)["image"]
        name = image.get("name", "")
        regions = self.settings(name)["regions"]
        amis = {a["region"]: a["image"] for a in (image.get("outputResources") or {}).get("amis", []) if a.get("region") in regions}
        if not amis:
            raise MalformedEvent(f"{image_arn} has no output AMI in {', '.join(regions)}")
        written = {}
        for region, ami in sorted(amis.items()):
            param = f"{self.root}/{name}/approved"
            retry(self.client("ssm", region).put_parameter, Name=param, Value=ami, Type="String", DataType="aws:ec2:image",
                  Tier="Advanced", Overwrite=True, Description=f"Approved golden AMI {name} (written by the scan gate only)")
            retry(self.client("ec2", region).create_tags, Resources=[ami], Tags=[{"Key": "secure-org:approved", "Value": "true"}])
            arn = f"arn:aws:ssm:{region}:{self._account()}:parameter{param}"
            self._share(arn)
            written[region] = ami
        return {"action": "APPROVED", "image": name, "amis": written}

    def _share(self, parameter_arn: str) -> None:
        try:
            retry(self.client("ram").associate_resource_share, resourceShareArn=self.share_arn, resourceArns=[parameter_arn])
        except ClientError as exc:
            # Already in the share: associating again is harmless, anything else is not.
            if exc.response.get("Error", {}).get("Code") not in ("ResourceShareLimitExceededException", "UnknownResourceException") \
                    and "already" not in str(exc).lower():
                raise

    def _account(self) -> str:
        return retry(self.client("sts").get_caller_identity)["Account"]

    # -- 3. continuous re-gate ------------------------------------------------------
    def regate(self, finding: dict[str, Any], region: str) -> dict[str, Any]:
        severity = finding.get("severity")
        amis = [r.get("id") or "" for r in finding.get("resources", [])]
        amis += [((r.get("details") or {}).get("awsEc2Instance") or {}).get("imageId", "") for r in finding.get("resources", [])]
        for name, settings in sorted(self.images.items()):
            param = f"{self.root}/{name}/approved"
            try:
                current = retry(self.client("ssm", region).get_parameter, Name=param)["Parameter"]["Value"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
                    continue
                raise
            if current not in amis:
                continue
            if not at_or_above(severity, settings["threshold"]):
                return {"action": "NONE", "image": name, "reason": f"{severity} is below {settings['threshold']}"}
            return self.revoke(name, current, region, f"{severity} finding {finding.get('title', '')[:120]}")
        return {"action": "NONE", "reason": "the finding is not on an approved golden AMI"}

    def revoke(self, name: str, ami: str, region: str, why: str) -> dict[str, Any]:
        ec2, ssm = self.client("ec2", region), self.client("ssm", region)
        param = f"{self.root}/{name}/approved"
        retry(ec2.enable_image_deprecation, ImageId=ami, DeprecateAt=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1))
        history = retry(ssm.get_parameter_history, Name=param).get("Parameters", [])
        previous = [h["Value"] for h in reversed(history) if h["Value"] != ami]
        fallback = next((p for p in previous if self._clean(ec2, p)), None)
        if fallback:
            retry(ssm.put_parameter, Name=param, Value=fallback, Type="String", DataType="aws:ec2:image", Tier="Advanced", Overwrite=True)
        message = (f"Golden AMI {name} {ami} in {region} revoked: {why}. "
                   + (f"{param} now points to {fallback}." if fallback else f"No earlier clean AMI: {param} still names {ami}, which is deprecated; rebuild now."))
        retry(self.client("sns").publish, TopicArn=self.alert_topic, Subject=f"secure-org: golden AMI {name} revoked"[:100], Message=message)
        return {"action": "REVOKED", "image": name, "ami": ami, "fallback": fallback}

    def _clean(self, ec2: Any, ami: str) -> bool:
        images = retry(ec2.describe_images, ImageIds=[ami]).get("Images", [])
        return bool(images) and images[0].get("State") == "available" and not images[0].get("DeprecationTime")

    # -- Security Hub ------------------------------------------------------------------
    def _import(self, name: str, image_arn: str, findings: list[dict[str, Any]]) -> None:
        account = self._account()
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        label = {"INFORMATIONAL": "INFORMATIONAL", "LOW": "LOW", "MEDIUM": "MEDIUM", "HIGH": "HIGH", "CRITICAL": "CRITICAL"}
        asff = [{
            "SchemaVersion": "2018-10-08", "Id": f"{image_arn}/{_cve(f) or i}",
            "ProductArn": f"arn:aws:securityhub:{self.region}:{account}:product/{account}/default",
            "GeneratorId": "secure-org-ami-gate", "AwsAccountId": account,
            "Types": ["Software and Configuration Checks/Vulnerabilities/CVE"], "CreatedAt": now, "UpdatedAt": now,
            "Severity": {"Label": label.get((f.get("severity") or "").upper(), "INFORMATIONAL")},
            "Title": f"{name}: {_cve(f) or f.get('title', 'finding')}"[:256],
            "Description": (f.get("description") or f.get("title") or "Image scan finding")[:1024],
            "Resources": [{"Type": "Other", "Id": image_arn}],
        } for i, f in enumerate(findings)]
        hub = self.client("securityhub")
        for start in range(0, len(asff), 100):  # BatchImportFindings takes at most 100
            result = retry(hub.batch_import_findings, Findings=asff[start:start + 100])
            if result.get("FailedCount"):
                raise RuntimeError(f"Security Hub rejected {result['FailedCount']} finding(s): {result.get('FailedFindings', [])[:3]}")

    # -- routing --------------------------------------------------------------------------
    def handle(self, event: Any) -> Any:
        if not isinstance(event, dict):
            raise MalformedEvent(f"expected an SNS or EventBridge event object, got {type(event).__name__}")
        if "Records" in event:
            return [self.handle(_sns_message(r)) for r in event["Records"]]
        detail_type, detail = event.get("detail-type"), event.get("detail")
        if detail_type is not None and not isinstance(detail, dict):
            raise MalformedEvent(f"{detail_type!r} event has no detail object")
        if detail_type == "EC2 Image Builder Image State Change":
            if (detail.get("state") or {}).get("status") != "AVAILABLE":
                return {"action": "NONE", "reason": f"state {(detail.get('state') or {}).get('status')}"}
            arn = (event.get("resources") or [None])[0]
            if not arn:
                raise MalformedEvent("Image State Change event has no resources[0] (the image build version ARN)")
            return self.approve(arn)
        if detail_type == "Inspector2 Finding":
            return self.regate(detail, event.get("region") or self.region)
        if detail_type == "EC2 Image Builder Workflow Step Waiting":
            return self.decide_build(_need(detail, "image-build-version-arn", event), _need(detail, "workflow-step-execution-id", event))
        # The WaitForAction SNS message body.
        if "imageBuildVersionArn" in event or "stepExecutionId" in event:
            return self.decide_build(_need(event, "imageBuildVersionArn", event), _need(event, "stepExecutionId", event))
        raise MalformedEvent(f"unrecognised event (detail-type {detail_type!r}, keys {sorted(event)[:8]})")


def _cve(finding: dict[str, Any]) -> str:
    return (finding.get("packageVulnerabilityDetails") or {}).get("vulnerabilityId", "")


def _need(obj: dict[str, Any], key: str, event: Any) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"event is missing {key!r}")
    return value


def _sns_message(record: Any) -> dict[str, Any]:
    try:
        body = json.loads(record["Sns"]["Message"])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedEvent(f"SNS record without a JSON Message: {exc}") from None
    if not isinstance(body, dict):
        raise MalformedEvent("SNS Message is not a JSON object")
    return body


def handler(event: Any, context: Any = None) -> Any:
    gate = Gate(json.loads(os.environ["IMAGES"]), os.environ["ALERT_TOPIC_ARN"], os.environ["SHARE_ARN"],
                os.environ.get("PARAMETER_ROOT", "/golden-ami"))
    result = gate.handle(event)
    print(json.dumps(result, default=str))
    return result
