"""Pulumi mock runtime that behaves like AWS closely enough to run the real program.

IDs are derived from logical resource names, so the same config always yields the same plan.
An account's id comes from its logical name (keyed by its config key, e.g. ``log_archive``),
never from its display name: renaming an account in config keeps its id, as in AWS.
``RecordingMonitor`` keeps what the engine would receive for every registration:
parent, provider, dependencies, inputs with their engine (camelCase) names, and what decides
a resource's fate (``protect``, ``retain_on_delete``, ``ignore_changes``, ``aliases``,
``import_id``), which the plan checks and the diff read.
"""

from __future__ import annotations

import hashlib
import string
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

MANAGEMENT_ACCOUNT_ID = "111111111111"
REPO = Path(__file__).resolve().parents[2]
PARTITION = "aws"
UNKNOWN_MARK = "<unknown>"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def fake_account_id(name: str) -> str:
    return str(int(_digest("account", name), 16) % 10**12).rjust(12, "0")


def _alnum(seed: str, n: int) -> str:
    alphabet = string.ascii_lowercase + string.digits
    num = int(_digest(seed), 16)
    out = ""
    for _ in range(n):
        num, r = divmod(num, len(alphabet))
        out += alphabet[r]
    return out


class OfflineMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str = "us-east-1", preview: bool = False):
        self.region = region
        self.preview = preview
        self.org_id = "o-" + _alnum("org", 10)
        self.root_id = "r-" + _alnum("root", 4)
        self.provider_accounts: dict[str, str] = {}  # provider id -> account it acts in

    def _account(self, provider_ref: str) -> str:
        """The account a resource lands in: its provider's allowed account, else management."""
        pid = provider_ref.rsplit("::", 1)[-1] if provider_ref else ""
        return self.provider_accounts.get(pid, MANAGEMENT_ACCOUNT_ID)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if self.preview and args.typ != "pulumi:providers:aws":
            # A preview of a new stack knows only the inputs: no id, no computed outputs.
            return "", dict(args.inputs)
        rid, state = self._new_resource(args)
        # An adopted resource (import_) keeps the id it already has in AWS.
        return (args.resource_id or rid), state

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        t, name, inputs = args.typ, args.name, dict(args.inputs)
        state = dict(inputs)
        rid = f"{name}-id"
        region = inputs.get("region", self.region)
        acct = self._account(args.provider or "")
        named = inputs.get("name") or name
        if t == "pulumi:providers:aws":
            rid = f"{name}-provider-id"
            allowed = inputs.get("allowedAccountIds")
            if isinstance(allowed, str):  # providers receive list inputs JSON-encoded
                import json as _json

                allowed = _json.loads(allowed)
            if isinstance(allowed, list) and allowed and isinstance(allowed[0], str):  # unknown at preview
                self.provider_accounts[rid] = allowed[0]
            return rid, state
        if t == "aws:organizations/organization:Organization":
            rid = self.org_id
            state |= {
                "arn": f"arn:aws:organizations::{MANAGEMENT_ACCOUNT_ID}:organization/{rid}",
                "masterAccountId": MANAGEMENT_ACCOUNT_ID,
                "roots": [
                    {
                        "id": self.root_id,
                        "name": "Root",
                        "arn": f"arn:aws:organizations::{MANAGEMENT_ACCOUNT_ID}:root/{rid}/{self.root_id}",
                        "policyTypes": [{"type": p, "status": "ENABLED"} for p in inputs.get("enabledPolicyTypes", [])],
                    }
                ],
            }
        elif t == "aws:organizations/organizationalUnit:OrganizationalUnit":
            rid = f"ou-{self.root_id[2:]}-{_alnum(name, 8)}"
            state["arn"] = f"arn:aws:organizations::{MANAGEMENT_ACCOUNT_ID}:ou/{self.org_id}/{rid}"
        elif t == "aws:organizations/account:Account":
            rid = fake_account_id(name)  # the logical name: a display-name edit keeps the id
            state |= {"arn": f"arn:aws:organizations::{MANAGEMENT_ACCOUNT_ID}:account/{self.org_id}/{rid}", "status": "ACTIVE"}
        elif t == "aws:organizations/policy:Policy":
            rid = "p-" + _alnum(name, 8)
            state["arn"] = f"arn:aws:organizations::{MANAGEMENT_ACCOUNT_ID}:policy/{self.org_id}/{rid}"
        elif t == "aws:s3/bucket:Bucket":
            rid = inputs.get("bucket") or name
            state |= {"arn": f"arn:aws:s3:::{rid}", "bucket": rid, "bucketDomainName": f"{rid}.s3.amazonaws.com"}
        elif t == "aws:kms/key:Key":
            rid = "{}-{}-{}-{}-{}".format(*(_alnum(name + str(i), n) for i, n in enumerate((8, 4, 4, 4, 12))))
            state |= {"arn": f"arn:aws:kms:{region}:{acct}:key/{rid}", "keyId": rid}
        elif t == "aws:iam/role:Role":
            rid = named
            path = inputs.get("path") or "/"
            state |= {"arn": f"arn:aws:iam::{acct}:role{path}{named}", "uniqueId": "AROA" + _alnum(name, 16).upper()}
        elif t == "aws:sns/topic:Topic":
            rid = f"arn:aws:sns:{region}:{acct}:{named}"
            state["arn"] = rid
        elif t == "aws:cloudwatch/eventBus:EventBus":
            rid = named
            state["arn"] = f"arn:aws:events:{region}:{acct}:event-bus/{named}"
        elif t == "aws:cloudwatch/eventRule:EventRule":
            rid = named
            bus = inputs.get("eventBusName", "default")
            state["arn"] = f"arn:aws:events:{region}:{acct}:rule/{'' if bus == 'default' else bus + '/'}{named}"
        elif t == "aws:cloudwatch/logGroup:LogGroup":
            rid = named
            state["arn"] = f"arn:aws:logs:{region}:{acct}:log-group:{named}"
        elif t == "aws:cloudtrail/trail:Trail":
            state["arn"] = rid = f"arn:aws:cloudtrail:{region}:{acct}:trail/{named}"
        elif t == "aws:guardduty/detector:Detector":
            rid = _alnum(name, 32)
            state["accountId"] = acct
        elif t == "aws:cloudformation/stackSet:StackSet":
            rid = named
            state |= {"arn": f"arn:aws:cloudformation:{region}:{acct}:stackset/{named}:{_alnum(name, 8)}", "stackSetId": f"{named}:{_alnum(name, 8)}"}
        elif t == "aws:cloudformation/stackSetInstance:StackSetInstance":
            # AWS's id: stack set name, deployment target, region (comma-separated).
            rid = f"{inputs.get('stackSetName', name)},{_alnum(name, 12)},{inputs.get('stackSetInstanceRegion', region)}"
        elif t == "aws:codepipeline/pipeline:Pipeline":
            rid = named
            state["arn"] = f"arn:{PARTITION}:codepipeline:{region}:{acct}:{named}"
        elif t == "aws:codebuild/project:Project":
            rid = named
            state["arn"] = f"arn:{PARTITION}:codebuild:{region}:{acct}:project/{named}"
        elif t == "aws:lambda/function:Function":
            rid = named
            state |= {"arn": f"arn:{PARTITION}:lambda:{region}:{acct}:function:{named}", "invokeArn": f"arn:{PARTITION}:apigateway:{region}:lambda:path/2015-03-31/functions/arn:{PARTITION}:lambda:{region}:{acct}:function:{named}/invocations"}
        elif t == "aws:codecommit/repository:Repository":
            rid = inputs.get("repositoryName", name)
            state |= {"arn": f"arn:{PARTITION}:codecommit:{region}:{acct}:{rid}", "repositoryId": _alnum(name, 32),
                      "cloneUrlHttp": f"https://git-codecommit.{region}.amazonaws.com/v1/repos/{rid}"}
        elif t == "aws:codecommit/approvalRuleTemplate:ApprovalRuleTemplate":
            rid = named
            state["approvalRuleTemplateId"] = _alnum(name, 32)
        elif t == "aws:iam/policy:Policy":
            rid = state["arn"] = f"arn:{PARTITION}:iam::{acct}:policy{inputs.get('path') or '/'}{named}"
        else:
            # Generic: an ARN-shaped value keeps downstream interpolation realistic.
            service = t.split(":")[1].split("/")[0] if ":" in t else "unknown"
            state.setdefault("arn", f"arn:{PARTITION}:{service}:{region}:{acct}:{named}")
        return rid, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        tok = args.token
        if tok == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": MANAGEMENT_ACCOUNT_ID,
                "arn": f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:role/PlatformDeployer",
                "userId": "AROAOFFLINE",
                "id": MANAGEMENT_ACCOUNT_ID,
            }, None
        if tok == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION}, None
        if tok == "aws:index/getRegion:getRegion":
            region = args.args.get("region") or self.region
            return {"name": region, "region": region, "id": region}, None
        if tok == "aws:iam/getPolicyDocument:getPolicyDocument":
            raise NotImplementedError("build policy documents with json.dumps, not getPolicyDocument")
        return {}, None


@dataclass
class Registration:
    urn: str
    id: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    ignore_changes: list[str]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    import_id: str = ""  # the id an existing resource is adopted with (Pulumi import)


class RecordingMonitor(MockMonitor):
    """A MockMonitor that also records every RegisterResource request, in order."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = rpc.deserialize_properties(request.object)
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    id=response.id,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    custom=bool(request.custom),
                    provider=request.provider,
                    inputs=_plain(inputs),
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    ignore_changes=list(request.ignoreChanges),
                    dependencies=sorted(set(request.dependencies)),
                    property_dependencies={k: sorted(v.urns) for k, v in request.propertyDependencies.items()},
                    aliases=[a.urn or a.spec.name for a in request.aliases],
                    import_id=request.importId,
                )
            )
        return response


def _plain(value: Any) -> Any:
    """Make deserialized inputs JSON-safe (resource references become their URNs)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, pulumi.output.Unknown):
        return UNKNOWN_MARK  # preview: not known until the resource it comes from exists
    # Lambda code and other archives: where the bytes come from, not the bytes.
    if isinstance(value, pulumi.FileArchive):
        return {"archive": _repo_path(value.path)}
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {k: _plain(v) for k, v in sorted(value.assets.items())}}
    if isinstance(value, pulumi.FileAsset):
        return {"asset": _repo_path(value.path)}
    if isinstance(value, pulumi.StringAsset):
        return {"asset": "<text>"}
    urn = getattr(value, "urn", None)
    return f"<resource {type(value).__name__}>" if urn is None else str(urn)


def _repo_path(path: str) -> str:
    """Repository-relative, so a plan does not depend on where the repository is checked out."""
    p = Path(path)
    try:
        return p.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return p.as_posix()
