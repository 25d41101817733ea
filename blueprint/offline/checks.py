"""Checks over the recorded plan: limits and protections verified on what would deploy.

Protections include data: every resource of a type in policies/data-resources.yaml must be
protected or retained on delete, so no config edit deletes what it holds.

These re-check, independently of the packer, what the engine would receive, so a bug
in packing or in a component cannot slip a policy over its limit.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from blueprint import policies
from blueprint.config import StackConfig

POLICY = "aws:organizations/policy:Policy"
ATTACHMENT = "aws:organizations/policyAttachment:PolicyAttachment"
ACCOUNT = "aws:organizations/account:Account"
ORGANIZATION = "aws:organizations/organization:Organization"

KIND_BY_TYPE = {v: k for k, v in policies.AWS_TYPES.items()}
DATA_RESOURCES = Path(__file__).resolve().parents[2] / "policies" / "data-resources.yaml"


@lru_cache(maxsize=1)
def data_types() -> dict[str, str]:
    """Resource type -> the data or history it holds (policies/data-resources.yaml)."""
    return dict(yaml.safe_load(DATA_RESOURCES.read_text())["types"])


def finding(rule: str, urn: str, message: str, severity: str = "mandatory") -> dict[str, Any]:
    return {"rule": rule, "severity": severity, "urn": urn, "message": message}


def run(cfg: StackConfig, resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    limits = cfg.organization.policy_limits
    by_id = {r["id"]: r for r in resources if r.get("id")}
    decommission = {a.name for a in cfg.accounts() if a.decommission}
    data = data_types()

    for r in resources:
        if r["type"] in data and not (r["protect"] or r["retain_on_delete"]):
            out.append(finding("data-retained", r["urn"], f"{r['name']} holds {data[r['type']]}: a config edit would delete it "
                               "(retain it on delete, and protect it too if it is organization-level)"))
        if r["type"] == POLICY:
            kind = KIND_BY_TYPE.get(r["inputs"].get("type", ""))
            if kind is None:
                continue
            limit = getattr(limits, policies.LIMIT_FIELDS[kind]).max_chars
            content = r["inputs"].get("content", "")
            if len(content) > limit:
                out.append(finding("policy-size", r["urn"], f"{len(content)} characters, over the {limit} limit by {len(content) - limit}"))
            if policies.minify(_json(content)) != content:
                out.append(finding("policy-minified", r["urn"], "content is not minified; whitespace counts toward the size limit"))
        elif r["type"] == ACCOUNT:
            name = r["inputs"].get("name")
            if not r["protect"]:
                out.append(finding("account-protected", r["urn"], f"account {name!r} is not protected"))
            if name not in decommission:
                if not r["retain_on_delete"]:
                    out.append(finding("account-retained", r["urn"], f"account {name!r} would be deleted if removed from config"))
                if r["inputs"].get("closeOnDeletion"):
                    out.append(finding("account-no-close", r["urn"], f"account {name!r} would be closed on deletion"))
                for field in ("name", "email"):
                    if field not in r["ignore_changes"]:
                        out.append(finding("account-replace-guard", r["urn"], f"account {name!r}: a change of {field} could replace the account"))
        elif r["type"] == ORGANIZATION and not r["protect"]:
            out.append(finding("organization-protected", r["urn"], "the organization is not protected"))

    if "us-east-1" not in cfg.organization.allowed_regions:
        # IAM, Organizations and console sign-in events are delivered to EventBridge only
        # in us-east-1: without it, those alert rules can never fire.
        out.append(
            finding(
                "global-events-region",
                "",
                "us-east-1 is not an allowed region: alerts on IAM, Organizations and root sign-in events will not fire",
                severity="advisory",
            )
        )

    # Attachments per target and policy type, counting the AWS-managed default policy.
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for r in resources:
        if r["type"] != ATTACHMENT:
            continue
        policy = by_id.get(r["inputs"].get("policyId", ""))
        if policy is None:
            continue
        counts[(r["inputs"]["targetId"], policy["inputs"]["type"])] += 1
    for (target, ptype), n in sorted(counts.items()):
        kind = KIND_BY_TYPE[ptype]
        limit = getattr(limits, policies.LIMIT_FIELDS[kind]).max_per_target
        total = n + (1 if kind in policies.DEFAULT_ATTACHED else 0)
        if total > limit:
            label = by_id.get(target, {}).get("name", target)
            out.append(finding("attachments-per-target", target, f"{label}: {total} {ptype} attached, limit {limit}"))
    return out


def _json(text: str) -> Any:
    import json

    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None
