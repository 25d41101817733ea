"""AWS quotas as findings: what the planned organization uses, per account, region and org.

The quotas and their AWS defaults are data (``policies/quotas.yaml``); a stack overrides
any of them (``organization.quotas``), because organizations raise quotas. Counting uses
the recorded plan *and* the access model's instantiated StackSet templates, so a role or
rule that a StackSet puts into every account counts where it lands. Over a quota is
mandatory; over 80% advisory; a ``design`` limit is only ever advisory.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from blueprint.access.model import OrgModel

QUOTA_FILE = Path(__file__).resolve().parents[2] / "policies" / "quotas.yaml"
WARN_AT = 0.8


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in yaml.safe_load(QUOTA_FILE.read_text())["quotas"]}


def _compact(doc: Any) -> int:
    return len(json.dumps(doc, separators=(",", ":"))) if doc else 0


def usage(doc: dict[str, Any], model: OrgModel) -> dict[str, Counter]:
    """Quota id -> {scope key: amount used}."""
    model.load_all()
    res = doc["resources"]
    use: dict[str, Counter] = defaultdict(Counter)
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in res:
        by_type[r["type"]].append(r)

    use["organizations-accounts"]["organization"] = len(model.accounts)
    use["organizations-ous"]["organization"] = len(by_type["aws:organizations/organizationalUnit:OrganizationalUnit"])
    for p in by_type["aws:organizations/policy:Policy"]:
        use["organizations-policies-per-type"][p["inputs"].get("type", "?")] += 1
    for t in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        if use["organizations-policies-per-type"][t]:
            use["organizations-policies-per-type"][t] += 1  # the AWS-managed full-access policy

    label = model.account_label
    for thing in model.things.values():
        parts = thing.arn.split(":", 5)
        where = f"{label(thing.account)}/{thing.region or parts[3]}"
        if thing.kind == "event-rule":
            path = parts[5].removeprefix("rule/")
            bus = path.split("/", 1)[0] if "/" in path else "default"
            use["eventbridge-rules-per-bus"][f"{where}/{bus}"] += 1
        elif thing.kind in ("codebuild", "codepipeline", "kms-key", "sns-topic"):
            use[{"codebuild": "codebuild-projects", "codepipeline": "codepipeline-pipelines",
                 "kms-key": "kms-keys", "sns-topic": "sns-topics"}[thing.kind]][where] += 1
    targets = Counter(((t.get("provider") or ""), t["inputs"].get("region"), t["inputs"].get("rule")) for t in by_type["aws:cloudwatch/eventTarget:EventTarget"])
    for (_, _, rule), n in targets.items():
        use["eventbridge-targets-per-rule"][str(rule)] = max(use["eventbridge-targets-per-rule"][str(rule)], n)
    for s in by_type["aws:sns/topicSubscription:TopicSubscription"]:
        use["sns-subscriptions-per-topic"][model.symbolic(str(s["inputs"].get("topic")))] += 1

    for role in model.roles.values():
        if role.source == "synthetic" or ":role/aws-service-role/" in role.arn:
            continue
        use["iam-roles-per-account"][label(role.account)] += 1
        name = model.label(role.arn)
        use["iam-role-trust-policy-chars"][name] = _compact(role.trust)
        use["iam-role-inline-policy-chars"][name] = sum(_compact(p.document) for p in role.inline)
    for arn, policy in model.policies.items():
        account = arn.split(":")[4]
        use["iam-managed-policies-per-account"][label(account)] += 1
        use["iam-managed-policy-chars"][model.label(arn)] = _compact(policy.document)

    for ss in by_type["aws:cloudformation/stackSet:StackSet"]:
        use["cloudformation-stack-sets"][f"management/{ss['inputs'].get('region') or doc.get('home_region')}"] += 1  # no region: the provider's
    members = [a for a in model.accounts.values() if a.id != model.management]
    # With managed execution, StackSets runs non-conflicting operations (other accounts' instances)
    # concurrently: only a stack set without it makes every team's change wait for the others'.
    queued = {ss["inputs"].get("name") for ss in by_type["aws:cloudformation/stackSet:StackSet"]
              if not (ss["inputs"].get("managedExecution") or {}).get("active")}
    for inst in by_type["aws:cloudformation/stackSetInstance:StackSetInstance"]:
        t = inst["inputs"].get("deploymentTargets") or {}
        ous, listed = set(t.get("organizationalUnitIds") or []), set(t.get("accounts") or [])
        if t.get("accountFilterType") == "INTERSECTION":
            n = sum(1 for a in members if a.id in listed and ous & set(a.chain))
        else:
            n = sum(1 for a in members if a.id in listed or ous & set(a.chain))
        name = inst["inputs"].get("stackSetName")
        use["cloudformation-stack-instances-per-stack-set"][name] += n
        if name in queued:
            use["stack-set-instances-per-operation"][name] += n
    return use


def config_usage(cfg: Any, planned: list[Any]) -> dict[str, Counter]:
    """The organization-wide quotas, counted from config and the packed guardrails alone.

    Known before the program runs, so an organization past them (2,000 teams are 2,001 tag
    policies: one per team, plus the shared ones) is a finding in a second, not after a plan
    of thousands of resources. Counted as ``usage`` counts the plan (tests/test_config_quotas.py).
    """
    use: dict[str, Counter] = defaultdict(Counter)
    use["organizations-accounts"]["organization"] = len(cfg.accounts()) + 1  # and the management account
    use["organizations-ous"]["organization"] = len(cfg.ou_paths())
    for tp in planned:
        use["organizations-policies-per-type"][tp.aws_type] += len(tp.packed.bins)
    for t in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        if use["organizations-policies-per-type"][t]:
            use["organizations-policies-per-type"][t] += 1  # the AWS-managed full-access policy
    return use


def config_check(cfg: Any, planned: list[Any]) -> list[dict[str, Any]]:
    """Findings on the organization-wide quotas, from config (see ``config_usage``)."""
    return _findings(config_usage(cfg, planned), cfg.organization.quotas)[0]


def check(doc: dict[str, Any], model: OrgModel, overrides: dict[str, int] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(findings, table): the fullest scope of every quota, and every scope over 80%."""
    return _findings(usage(doc, model), overrides)


def _findings(use: dict[str, Counter], overrides: dict[str, int] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from blueprint.offline.checks import finding

    overrides = overrides or {}
    table, out = [], []
    for qid, used in sorted(use.items()):
        q = catalogue()[qid]
        limit = int(overrides[qid] if qid in overrides else q["default"])
        if not used:
            continue
        top_key, top = max(used.items(), key=lambda kv: (kv[1], kv[0]))
        table.append({"quota": qid, "scope": top_key, "used": top, "limit": limit, "fill": round(top / limit, 3), "kind": q["kind"]})
        for key, n in sorted(used.items()):
            if n <= WARN_AT * limit:
                continue
            over = n > limit
            severity = "mandatory" if over and q["kind"] == "aws" else "advisory"
            what = "over" if over else "at more than 80% of"
            if q["kind"] == "design":
                hint = ""
            elif q.get("adjustable", True):
                hint = f" (raise it in Service Quotas, then set organization.quotas.{qid})"
            else:
                hint = " (a hard limit: AWS does not raise it)"
            out.append(finding(f"quota-{qid}", "", f"{key}: {n:,} {what} the {limit:,} limit of {q['name']}{hint}", severity))
    return out, sorted(table, key=lambda r: -r["fill"])


def text_lines(doc: dict[str, Any], top: int = 5) -> list[str]:
    rows = doc.get("quotas") or []
    if not rows:
        return []
    out = [f"quotas (fullest scope of each; {len(rows)} counted):"]
    out += [f"  {r['quota']:<46} {r['used']:>8,} of {r['limit']:>9,} ({r['fill']:.0%})  {r['scope']}" for r in rows[:top]]
    return out


def markdown_lines(doc: dict[str, Any]) -> list[str]:
    rows = doc.get("quotas") or []
    if not rows:
        return []
    lines = ["### AWS quotas", "", "<details><summary>Fullest scope of every quota counted (policies/quotas.yaml)</summary>", "",
             "| quota | used | limit | fill | where |", "|---|---:|---:|---:|---|"]
    lines += [f"| {r['quota']} | {r['used']:,} | {r['limit']:,} | {r['fill']:.0%} | `{r['scope']}` |" for r in rows]
    return lines + ["", "</details>", ""]
