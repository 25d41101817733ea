"""Build the :class:`~blueprint.access.model.OrgModel` from a recorded plan.

Everything comes from what the engine would receive: the provider a resource is
registered with says which account it lives in, policy attachments say which SCPs and
RCPs apply where, and StackSet templates are instantiated per target account and region
(lazily, the first time an account is looked at) so that the roles they create are
principals like any other.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from blueprint.access import cfn
from blueprint.access.model import Account, OrgModel, Role, Thing
from blueprint.access.types import Policy

MANAGEMENT_KEY = "management"
TEMPLATE_TYPES = frozenset({"AWS::IAM::Role", "AWS::IAM::ManagedPolicy", "AWS::Events::Rule", "AWS::Logs::LogGroup",
                            "AWS::Lambda::Function", "AWS::SNS::Topic", "AWS::CodeDeploy::Application"})


def _doc(text: Any) -> dict[str, Any] | None:
    if isinstance(text, dict):
        return text
    if not text:
        return None
    return json.loads(text)


def _list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return list(value or [])


class _Builder:
    def __init__(self, plan: dict[str, Any]):
        self.plan = plan
        self.res = plan["resources"]
        self.by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in self.res:
            self.by_type[r["type"]].append(r)
        self.default_region = plan.get("home_region") or "us-east-1"
        self.provider_account = {}
        for p in self.by_type["pulumi:providers:aws"]:
            allowed = _list(p["inputs"].get("allowedAccountIds"))
            if allowed:
                self.provider_account[p["urn"]] = allowed[0]

    def account_of(self, r: dict[str, Any], management: str) -> str:
        prov = r.get("provider") or ""
        urn = prov.rsplit("::", 1)[0] if prov else ""
        return self.provider_account.get(urn, management)

    def region_of(self, r: dict[str, Any]) -> str:
        return r["inputs"].get("region") or self.default_region


def build(plan: dict[str, Any], management_account: str, home_region: str) -> OrgModel:
    plan = {**plan, "home_region": home_region}
    b = _Builder(plan)
    orgs = b.by_type["aws:organizations/organization:Organization"]
    org_id = orgs[0]["id"] if orgs else ""
    ous = {r["id"]: r for r in b.by_type["aws:organizations/organizationalUnit:OrganizationalUnit"]}
    root_id = next((r["inputs"]["parentId"] for r in ous.values() if str(r["inputs"].get("parentId", "")).startswith("r-")), "r-root")
    m = OrgModel(org_id, management_account, root_id)

    def ou_chain(ou_id: str) -> list[str]:
        chain = []
        while ou_id in ous:
            chain.append(ou_id)
            ou_id = ous[ou_id]["inputs"]["parentId"]
        return [root_id, *reversed(chain)]

    specs = {a["name"]: a for a in plan.get("accounts", [])}
    m.add_account(Account(management_account, MANAGEMENT_KEY, MANAGEMENT_KEY, "", [root_id]))
    for r in b.by_type["aws:organizations/account:Account"]:
        spec = specs.get(r["inputs"].get("name"), {})
        key = spec.get("key") or r["inputs"].get("name")
        m.add_account(Account(r["id"], key, r["inputs"].get("name", key), spec.get("ou", ""),
                              [*ou_chain(r["inputs"].get("parentId", root_id)), r["id"]],
                              team=spec.get("team"), environment=spec.get("environment"),
                              decommissioned=bool(spec.get("decommission"))))

    _guardrails(b, m)
    _iam(b, m)
    _resources(b, m)
    _templates(b, m)
    return m


def _guardrails(b: _Builder, m: OrgModel) -> None:
    policies = {r["id"]: r for r in b.by_type["aws:organizations/policy:Policy"]}
    for att in b.by_type["aws:organizations/policyAttachment:PolicyAttachment"]:
        p = policies.get(att["inputs"].get("policyId"))
        if p is None:
            continue
        kind = p["inputs"].get("type")
        layer = {"SERVICE_CONTROL_POLICY": m.scps, "RESOURCE_CONTROL_POLICY": m.rcps}.get(kind)
        if layer is None:
            continue
        short = "SCP" if kind == "SERVICE_CONTROL_POLICY" else "RCP"
        layer.setdefault(att["inputs"]["targetId"], []).append(Policy(f"{short} {p['inputs'].get('name')}", json.loads(p["inputs"]["content"])))
    for layer in (m.scps, m.rcps):
        for target in layer:
            layer[target].sort(key=lambda p: p.name)


def _iam(b: _Builder, m: OrgModel) -> None:
    mgmt = m.management
    for r in b.by_type["aws:iam/policy:Policy"]:
        acct = b.account_of(r, mgmt)
        arn = f"arn:aws:iam::{acct}:policy{r['inputs'].get('path') or '/'}{r['inputs'].get('name') or r['name']}"
        m.policies[arn] = Policy(f"managed {r['inputs'].get('name') or r['name']}", _doc(r["inputs"]["policy"]) or {})
    for r in b.by_type["aws:iam/role:Role"]:
        acct = b.account_of(r, mgmt)
        inp = r["inputs"]
        name = inp.get("name") or r["id"]
        arn = f"arn:aws:iam::{acct}:role{inp.get('path') or '/'}{name}"
        role = Role(arn, acct, name, _doc(inp.get("assumeRolePolicy")), managed=list(inp.get("managedPolicyArns") or []),
                    boundary=inp.get("permissionsBoundary") or None, source=r["urn"])
        for ip in inp.get("inlinePolicies") or []:
            role.inline.append(Policy(f"inline {name}/{ip.get('name')}", _doc(ip.get("policy")) or {}))
        m.add_role(role)
    for r in b.by_type["aws:iam/rolePolicy:RolePolicy"]:
        arn = m.role_names.get((b.account_of(r, mgmt), r["inputs"]["role"]))
        if arn:
            m.roles[arn].inline.append(Policy(f"inline {r['inputs']['role']}/{r['name']}", _doc(r["inputs"]["policy"]) or {}))
    for r in b.by_type["aws:iam/rolePolicyAttachment:RolePolicyAttachment"]:
        arn = m.role_names.get((b.account_of(r, mgmt), r["inputs"]["role"]))
        if arn:
            m.roles[arn].managed.append(r["inputs"]["policyArn"])


def _resources(b: _Builder, m: OrgModel) -> None:
    mgmt = m.management

    def add(r: dict[str, Any], arn: str, kind: str, policy: Any = None) -> None:
        m.add_thing(Thing(arn, b.account_of(r, mgmt), b.region_of(r), kind,
                          Policy(f"{kind} policy of {r['name']}", policy) if policy else None, r["urn"]))

    for r in b.by_type["aws:s3/bucket:Bucket"]:
        add(r, f"arn:aws:s3:::{r['inputs'].get('bucket') or r['id']}", "s3-bucket")
    for r in b.by_type["aws:kms/key:Key"]:
        add(r, f"arn:aws:kms:{b.region_of(r)}:{b.account_of(r, mgmt)}:key/{r['id']}", "kms-key", _doc(r["inputs"].get("policy")))
    for r in b.by_type["aws:sns/topic:Topic"]:
        add(r, r["id"], "sns-topic")
    for r in b.by_type["aws:cloudwatch/eventBus:EventBus"]:
        add(r, f"arn:aws:events:{b.region_of(r)}:{b.account_of(r, mgmt)}:event-bus/{r['inputs'].get('name') or r['id']}", "event-bus")
    for r in b.by_type["aws:lambda/function:Function"]:
        add(r, f"arn:aws:lambda:{b.region_of(r)}:{b.account_of(r, mgmt)}:function:{r['inputs'].get('name') or r['id']}", "lambda-function")
    for r in b.by_type["aws:cloudwatch/logGroup:LogGroup"]:
        add(r, f"arn:aws:logs:{b.region_of(r)}:{b.account_of(r, mgmt)}:log-group:{r['inputs'].get('name') or r['id']}", "log-group")
    for r in b.by_type["aws:cloudwatch/eventRule:EventRule"]:
        bus = r["inputs"].get("eventBusName") or "default"
        add(r, f"arn:aws:events:{b.region_of(r)}:{b.account_of(r, mgmt)}:rule/{'' if bus == 'default' else bus + '/'}{r['inputs'].get('name') or r['id']}", "event-rule")
    for t in ("aws:codepipeline/pipeline:Pipeline", "aws:codebuild/project:Project", "aws:cloudtrail/trail:Trail"):
        for r in b.by_type[t]:
            name = r["inputs"].get("name") or r["id"]
            acct, region = b.account_of(r, mgmt), b.region_of(r)
            arn = {"aws:codepipeline/pipeline:Pipeline": f"arn:aws:codepipeline:{region}:{acct}:{name}",
                   "aws:codebuild/project:Project": f"arn:aws:codebuild:{region}:{acct}:project/{name}",
                   "aws:cloudtrail/trail:Trail": f"arn:aws:cloudtrail:{region}:{acct}:trail/{name}"}[t]
            add(r, arn, t.split(":")[1].split("/")[0])

    # Resource policies registered as their own resources.
    def attach(arn: str | None, r: dict[str, Any], doc: Any, what: str) -> None:
        thing = m.things.get(arn or "")
        if thing is not None and doc:
            thing.policy = Policy(f"{what} {r['name']}", _doc(doc) or {})

    for r in b.by_type["aws:s3/bucketPolicy:BucketPolicy"]:
        attach(m.buckets.get(r["inputs"].get("bucket")), r, r["inputs"].get("policy"), "bucket policy")
    keys_by_id = {t.arn.rsplit("/", 1)[1]: t.arn for t in m.things.values() if t.kind == "kms-key"}
    for r in b.by_type["aws:kms/keyPolicy:KeyPolicy"]:
        attach(keys_by_id.get(r["inputs"].get("keyId")), r, r["inputs"].get("policy"), "key policy")
    for r in b.by_type["aws:sns/topicPolicy:TopicPolicy"]:
        attach(r["inputs"].get("arn"), r, r["inputs"].get("policy"), "topic policy")
    for r in b.by_type["aws:cloudwatch/eventBusPolicy:EventBusPolicy"]:
        bus = r["inputs"].get("eventBusName") or "default"
        attach(f"arn:aws:events:{b.region_of(r)}:{b.account_of(r, mgmt)}:event-bus/{bus}", r, r["inputs"].get("policy"), "bus policy")
    for r in b.by_type["aws:lambda/permission:Permission"]:
        _lambda_permission(b, m, r)


def _lambda_permission(b: _Builder, m: OrgModel, r: dict[str, Any]) -> None:
    """A Lambda permission is one statement of the function's resource policy."""
    inp = r["inputs"]
    fn = inp.get("function") or ""
    arn = fn if fn.startswith("arn:") else f"arn:aws:lambda:{b.region_of(r)}:{b.account_of(r, m.management)}:function:{fn}"
    thing = m.things.get(arn)
    if thing is None:
        return
    principal = inp["principal"]
    stmt: dict[str, Any] = {"Sid": inp.get("statementId") or r["name"], "Effect": "Allow",
                            "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
                            "Action": inp.get("action", "lambda:InvokeFunction"), "Resource": arn}
    cond: dict[str, Any] = {}
    if inp.get("sourceArn"):
        cond["ArnLike"] = {"AWS:SourceArn": inp["sourceArn"]}
    if inp.get("sourceAccount"):
        cond["StringEquals"] = {"AWS:SourceAccount": inp["sourceAccount"]}
    if inp.get("principalOrgId"):
        cond.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = inp["principalOrgId"]
    if cond:
        stmt["Condition"] = cond
    doc = thing.policy.document if thing.policy else {"Version": "2012-10-17", "Statement": []}
    doc["Statement"].append(stmt)
    thing.policy = Policy(f"lambda policy of {arn.rsplit(':', 1)[1]}", doc)


def _templates(b: _Builder, m: OrgModel) -> None:
    """StackSet instances and stacks: each account gets its template resources when first looked at."""
    stack_sets = {r["inputs"].get("name"): r for r in b.by_type["aws:cloudformation/stackSet:StackSet"]}
    parsed: dict[str, dict[str, Any]] = {}
    # account -> [(stack set name, template body, parameters, region)]
    per_account: dict[str, list[tuple[str, str, dict[str, Any], str]]] = defaultdict(list)
    members = [a for a in m.accounts.values() if a.id != m.management]
    for inst in b.by_type["aws:cloudformation/stackSetInstance:StackSetInstance"]:
        inp = inst["inputs"]
        ss = stack_sets.get(inp.get("stackSetName"))
        if ss is None:
            continue
        targets = inp.get("deploymentTargets") or {}
        ous = set(targets.get("organizationalUnitIds") or [])
        listed = set(targets.get("accounts") or [])
        region = inp.get("stackSetInstanceRegion") or b.region_of(inst)
        params = {**(ss["inputs"].get("parameters") or {}), **(inp.get("parameterOverrides") or {})}
        for acct in members:
            in_ou = bool(ous & set(acct.chain))
            hit = (in_ou and acct.id in listed) if targets.get("accountFilterType") == "INTERSECTION" else (in_ou or acct.id in listed)
            if hit:
                per_account[acct.id].append((ss["inputs"]["name"], ss["inputs"]["templateBody"], params, region))
    for st in b.by_type["aws:cloudformation/stack:Stack"]:
        acct = b.account_of(st, m.management)
        per_account[acct].append((st["inputs"].get("name") or st["name"], st["inputs"]["templateBody"], st["inputs"].get("parameters") or {}, b.region_of(st)))

    def load(account: str) -> None:
        for name, body, params, region in per_account.get(account, []):
            if body not in parsed:
                parsed[body] = json.loads(body)
            source = f"stack set {name} in {m.account_label(account)}/{region}"
            for res in cfn.instantiate(parsed[body], params, account, region, f"StackSet-{name}", TEMPLATE_TYPES):
                _template_resource(m, res, account, region, source)

    m.on_account(load)


def _template_resource(m: OrgModel, res: cfn.Instantiated, account: str, region: str, source: str) -> None:
    p = res.properties
    if res.type == "AWS::IAM::Role" and res.arn and res.name:  # unnamed: no ARN to model it by
        if res.arn in m.roles:
            return  # IAM is global: the home region's instance already made it
        role = Role(res.arn, account, res.name, p.get("AssumeRolePolicyDocument"), managed=list(p.get("ManagedPolicyArns") or []),
                    boundary=p.get("PermissionsBoundary"), source=source)
        for ip in p.get("Policies") or []:
            role.inline.append(Policy(f"inline {res.name}/{ip['PolicyName']} ({source.split(' in ')[0]})", ip["PolicyDocument"]))
        m.add_role(role)
    elif res.type == "AWS::IAM::ManagedPolicy" and res.arn:
        m.policies.setdefault(res.arn, Policy(f"managed {res.name}", p["PolicyDocument"]))
    elif res.arn:
        kind = {"AWS::Events::Rule": "event-rule", "AWS::Logs::LogGroup": "log-group", "AWS::Lambda::Function": "lambda-function",
                "AWS::SNS::Topic": "sns-topic", "AWS::CodeDeploy::Application": "codedeploy-application"}[res.type]
        m.add_thing(Thing(res.arn, account, region, kind, None, source))
