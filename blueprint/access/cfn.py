"""Instantiate a CloudFormation template for one account and region, as CloudFormation would.

The access model needs what a StackSet instance *creates*: role names, trust and inline
policies, managed policies, boundaries, and the names of rules, log groups and functions.
This resolves the intrinsic functions our templates use (``Ref``, ``Fn::Sub``, ``Fn::If``
with ``Conditions``, ``Fn::GetAtt`` of names and ARNs, ``Fn::Join``, ``Fn::Select``,
``Fn::Equals``/``Not``/``And``/``Or``) with the instance's parameters and pseudo
parameters. Anything else raises, so a template feature the model does not understand can
never silently drop a permission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = object()
_SUB_VAR = re.compile(r"\$\{([^}!]+)\}")

# Physical-name property and ARN shape per resource type we model.
NAME_PROPERTY = {
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::Events::Rule": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::CodeDeploy::Application": "ApplicationName",
    "AWS::CodeDeploy::DeploymentGroup": "DeploymentGroupName",
    "AWS::CloudWatch::Alarm": "AlarmName",
}


# Types whose every property the access model reads (policies, trust, boundaries).
FULL_PROPERTIES = frozenset({"AWS::IAM::Role", "AWS::IAM::ManagedPolicy"})


class TemplateError(ValueError):
    pass


@dataclass
class Instantiated:
    """One resource of a resolved template."""

    logical_id: str
    type: str
    name: str | None
    arn: str | None
    properties: dict[str, Any] = field(default_factory=dict)


def arn_of(rtype: str, name: str, account: str, region: str, props: dict[str, Any] | None = None) -> str | None:
    props = props or {}
    if rtype == "AWS::IAM::Role":
        path = props.get("Path") or "/"
        return f"arn:aws:iam::{account}:role{path}{name}"
    if rtype == "AWS::IAM::ManagedPolicy":
        path = props.get("Path") or "/"
        return f"arn:aws:iam::{account}:policy{path}{name}"
    if rtype == "AWS::Events::Rule":
        bus = props.get("EventBusName") or "default"
        return f"arn:aws:events:{region}:{account}:rule/{'' if bus == 'default' else bus + '/'}{name}"
    if rtype == "AWS::Logs::LogGroup":
        return f"arn:aws:logs:{region}:{account}:log-group:{name}"
    if rtype == "AWS::Lambda::Function":
        return f"arn:aws:lambda:{region}:{account}:function:{name}"
    if rtype == "AWS::SNS::Topic":
        return f"arn:aws:sns:{region}:{account}:{name}"
    if rtype == "AWS::CodeDeploy::Application":
        return f"arn:aws:codedeploy:{region}:{account}:application:{name}"
    if rtype == "AWS::CloudWatch::Alarm":
        return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"
    return None


class Resolver:
    """Resolves intrinsic functions of one template for one account, region and parameter set."""

    def __init__(self, template: dict[str, Any], parameters: dict[str, Any], account: str, region: str, stack_name: str):
        self.t = template
        self.account, self.region = account, region
        self.params: dict[str, Any] = {}
        for pname, spec in (template.get("Parameters") or {}).items():
            if pname in parameters:
                value = parameters[pname]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                raise TemplateError(f"parameter {pname} has no value and no default")
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = [v.strip() for v in value.split(",")] if value else []
            elif not isinstance(value, (str, list)):
                value = str(value)
            self.params[pname] = value
        self.pseudo = {
            "AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/{stack_name}/offline",
        }
        self._conditions: dict[str, bool] = {}
        self.names: dict[str, str | None] = {}

    # -- conditions ---------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            spec = (self.t.get("Conditions") or {}).get(name)
            if spec is None:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(self.value(spec))
        return self._conditions[name]

    # -- values -------------------------------------------------------------
    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        res = (self.t.get("Resources") or {}).get(name)
        if res is None:
            raise TemplateError(f"Ref to unknown {name}")
        # Ref of a managed policy is its ARN; of most other types, the physical name.
        physical = self.physical_name(name)
        if res["Type"] == "AWS::IAM::ManagedPolicy":
            return arn_of(res["Type"], physical or name, self.account, self.region, res.get("Properties"))
        return physical or name

    def physical_name(self, logical: str) -> str | None:
        if logical not in self.names:
            res = self.t["Resources"][logical]
            prop = NAME_PROPERTY.get(res["Type"])
            raw = (res.get("Properties") or {}).get(prop) if prop else None
            self.names[logical] = None if raw is None else str(self.value(raw))
        return self.names[logical]

    def get_att(self, logical: str, attr: str) -> Any:
        res = (self.t.get("Resources") or {}).get(logical)
        if res is None:
            raise TemplateError(f"Fn::GetAtt of unknown {logical}")
        if attr == "Arn":
            name = self.physical_name(logical) or logical
            props = {k: self.value(v) for k, v in (res.get("Properties") or {}).items() if k in ("Path", "EventBusName")}
            got = arn_of(res["Type"], name, self.account, self.region, props)
            if got is None:
                raise TemplateError(f"Fn::GetAtt {logical}.Arn: no ARN shape for {res['Type']}")
            return got
        return f"{logical}.{attr}"  # opaque: no policy in our templates depends on other attributes

    def sub(self, arg: Any) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], {k: self.value(v) for k, v in arg[1].items()})

        def one(m: re.Match[str]) -> str:
            key = m.group(1)
            if key in extra:
                return str(extra[key])
            if "." in key and not key.startswith("AWS::"):
                logical, attr = key.split(".", 1)
                return str(self.get_att(logical, attr))
            got = self.ref(key)
            if isinstance(got, list):
                raise TemplateError(f"Fn::Sub of list parameter {key}")
            return str(got)

        return _SUB_VAR.sub(one, text).replace("${!", "${")

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            out = []
            for item in node:
                got = self.value(item)
                if got is not NO_VALUE:
                    out.append(got)
            return out
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return self.ref(arg)
            if fn == "Fn::Sub":
                return self.sub(arg)
            if fn == "Fn::If":
                cond, yes, no = arg
                return self.value(yes if self.condition(cond) else no)
            if fn == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attr)
            if fn == "Fn::Join":
                sep, items = arg
                return sep.join(str(v) for v in self.value(items))
            if fn == "Fn::Select":
                idx, items = arg
                return self.value(items)[int(self.value(idx))]
            if fn == "Fn::Equals":
                a, b = (self.value(x) for x in arg)
                return a == b
            if fn == "Fn::Not":
                return not self.value(arg[0])
            if fn == "Fn::And":
                return all(self.value(x) for x in arg)
            if fn == "Fn::Or":
                return any(self.value(x) for x in arg)
            if fn == "Condition":
                return self.condition(arg)
            if fn.startswith("Fn::"):
                raise TemplateError(f"unsupported intrinsic {fn}")
        out = {}
        for k, v in node.items():
            got = self.value(v)
            if got is not NO_VALUE:
                out[k] = got
        return out


def instantiate(template: dict[str, Any], parameters: dict[str, Any], account: str, region: str,
                stack_name: str = "stack", types: frozenset[str] | None = None) -> list[Instantiated]:
    """The resources a stack of ``template`` creates in ``account``/``region`` (only ``types`` if given)."""
    r = Resolver(template, parameters, account, region, stack_name)
    out = []
    for logical, res in (template.get("Resources") or {}).items():
        rtype = res["Type"]
        if types is not None and rtype not in types:
            continue
        if "Condition" in res and not r.condition(res["Condition"]):
            continue
        raw = res.get("Properties") or {}
        if rtype not in FULL_PROPERTIES:
            # Only what names the resource: resolving a Lambda's inline code or a rule's
            # pattern for every account and region would cost time and tell the model nothing.
            raw = {k: v for k, v in raw.items() if k in ("Path", "EventBusName")}
        props = r.value(raw)
        name = r.physical_name(logical)
        out.append(Instantiated(logical, rtype, name, arn_of(rtype, name, account, region, props) if name else None, props))
    return out
