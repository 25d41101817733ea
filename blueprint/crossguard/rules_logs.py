"""CrossGuard rules for CloudWatch Logs log groups: Pulumi's ``aws:cloudwatch/logGroup`` and
``AWS::Logs::LogGroup`` in CloudFormation templates (the per-account baseline's handlers).

* ``cloudwatch-log-group-kms``: log events are encrypted under a customer key (kmsKeyId);
  without one CloudWatch Logs uses its own service key, which no key policy controls;
* ``cloudwatch-log-group-retention``: a retention CloudWatch Logs accepts, never 0/unset
  ("never expire"); a DELIVERY-class group is kept 2 days by AWS whatever is set.

Template values that are intrinsics (Ref, Fn::If...) are deploy-time values, as unknowns are
at preview: never a violation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from blueprint.crossguard import documents as d
from blueprint.crossguard.documents import is_unknown
from blueprint.crossguard.rules import CFN_STACK, CFN_STACKSET, MANDATORY, resource_rule, template_resources

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TYPES = (LOG_GROUP, CFN_STACK, CFN_STACKSET)
# The values CloudWatch Logs accepts (pulumi-aws 7 LogGroup.retention_in_days); 0 means never expire.
RETENTION_DAYS = frozenset({1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653})


def _groups(props: Mapping[str, Any], ctx) -> Iterator[tuple[str, str, Any, Any, Any]]:
    """(label, key path, kms key, retention, class) of each log group a resource defines."""
    if ctx.resource_type == LOG_GROUP:
        yield "", "", props.get("kmsKeyId"), props.get("retentionInDays"), props.get("logGroupClass")
        return
    for logical, spec in template_resources(props.get("templateBody")).items():
        p = spec.get("Properties", {})
        if spec.get("Type") != "AWS::Logs::LogGroup" or not isinstance(p, Mapping):
            continue

        def value(key: str) -> Any:
            v = p.get(key)
            return d.UNKNOWN if d.is_intrinsic(v) else v

        yield f"template {logical}: ", "cfn", value("KmsKeyId"), value("RetentionInDays"), value("LogGroupClass")


@resource_rule(
    "cloudwatch-log-group-kms", MANDATORY, TYPES,
    "CloudWatch Logs log groups (Pulumi and AWS::Logs::LogGroup in CloudFormation templates) encrypt under a "
    "customer-managed KMS key (kmsKeyId), whose policy grants logs.<region>.amazonaws.com for that group only",
    checkov=("CKV_AWS_158",), config_rule=("CLOUDWATCH_LOG_GROUP_ENCRYPTED",),
)
def log_group_kms(props, ctx):
    out = []
    for label, kind, key, _, _ in _groups(props, ctx):
        name = "KmsKeyId" if kind == "cfn" else "kmsKeyId"
        if not d.is_set(key):
            out.append(f"{label}{name} is not set: log events are encrypted only with CloudWatch Logs' service key")
    return out


def _days(value: Any) -> int | None:
    try:
        n = float(value)
    except (TypeError, ValueError):
        return None
    return int(n) if n.is_integer() else None


@resource_rule(
    "cloudwatch-log-group-retention", MANDATORY, TYPES,
    "CloudWatch Logs log groups (Pulumi and AWS::Logs::LogGroup in CloudFormation templates) set a retention "
    "(retentionInDays) that CloudWatch Logs accepts, never 0 or unset (kept forever)",
    checkov=("CKV_AWS_66",), config_rule=("CW_LOGGROUP_RETENTION_PERIOD_CHECK",),
)
def log_group_retention(props, ctx):
    out = []
    for label, kind, _, days, group_class in _groups(props, ctx):
        name = "RetentionInDays" if kind == "cfn" else "retentionInDays"
        if is_unknown(days) or is_unknown(group_class) or group_class == "DELIVERY":
            continue
        n = _days(days)
        if days is None or n == 0:
            out.append(f"{label}{name} is {'not set' if days is None else '0'}: log events never expire")
        elif n not in RETENTION_DAYS:
            out.append(f"{label}{name} is {days!r}, not a retention CloudWatch Logs accepts ({', '.join(map(str, sorted(RETENTION_DAYS)))})")
    return out
