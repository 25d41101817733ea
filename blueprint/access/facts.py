"""Facts the flow catalogue is templated with, read from the recorded plan.

Each flow names principals and resources with placeholders (``{tooling}``,
``{artifact_bucket}``, ``{team}``). The values come from what the program registered,
never from a second copy of the naming rules: the artifact bucket and key are the ones
the pipeline's artifact store names, the importer's report bucket is the one its
function is configured with. A flow therefore tests the organization that would deploy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from blueprint.access.model import OrgModel

SHARED_KEYS = ("tooling", "security", "log_archive", "image_factory", "management")


@dataclass
class Facts:
    org: dict[str, Any]  # org-wide placeholders
    pipelines: list[dict[str, Any]] = field(default_factory=list)  # one per team with a pipeline
    team_accounts: list[dict[str, Any]] = field(default_factory=list)  # every team account
    member_accounts: list[dict[str, Any]] = field(default_factory=list)  # every account but management


def _by_type(plan: dict[str, Any], t: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == t]


def _params(plan: dict[str, Any], stack_set: str) -> dict[str, Any]:
    for r in _by_type(plan, "aws:cloudformation/stackSet:StackSet"):
        if r["inputs"].get("name") == stack_set:
            return dict(r["inputs"].get("parameters") or {})
    return {}


def gather(plan: dict[str, Any], m: OrgModel, home_region: str) -> Facts:
    org: dict[str, Any] = {"home_region": home_region, "org_id": m.org_id}
    for key in SHARED_KEYS:
        if key in m.by_key:
            org[key] = m.by_key[key].id

    baseline = _params(plan, "secure-org-account-baseline")
    org["config_bucket"] = baseline.get("ConfigBucketName", "")
    org["config_key"] = baseline.get("ConfigKmsKeyArn", "")
    org["alert_bus"] = baseline.get("AlertEventBusArn", "")
    org["audit_principal"] = baseline.get("AuditTrustedPrincipalArn", "")
    org["audit_role"] = baseline.get("AuditRoleName", "secure-org-security-audit")
    org["break_glass_operators"] = [a for a in str(baseline.get("BreakGlassTrustedPrincipalArns", "")).split(",") if a]
    org["break_glass_roles"] = _break_glass_roles(plan)
    for t in _by_type(plan, "aws:cloudtrail/trail:Trail"):
        inp = t["inputs"]
        org["trail_bucket"], org["trail_key"] = inp.get("s3BucketName", ""), inp.get("kmsKeyId", "")
        org["trail_arn"] = f"arn:aws:cloudtrail:{inp.get('region') or home_region}:{m.management}:trail/{inp.get('name')}"
    for f in _by_type(plan, "aws:lambda/function:Function"):
        if f["inputs"].get("name") == "secure-org-findings-importer":
            env = (f["inputs"].get("environment") or {}).get("variables") or {}
            org["importer_arn"] = f"arn:aws:lambda:{f['inputs'].get('region') or home_region}:{org.get('tooling')}:function:secure-org-findings-importer"
            org["importer_role"] = f["inputs"].get("role", "")
            org["report_bucket"], org["report_key"] = env.get("REPORT_BUCKET", ""), env.get("REPORT_KMS_KEY_ARN", "")
    # The golden-AMI keys: the factory's keys whose policy lets the organization use them.
    org["ami_keys"] = sorted(t.arn for t in m.things.values() if t.kind == "kms-key" and t.account == org.get("image_factory")
                             and t.policy and any(s.get("Sid") == "OrgUsesGoldenAmiKey" for s in t.policy.document.get("Statement", [])))
    # The home region's AMI key also encrypts the scan gate's log group (CloudWatch Logs uses it).
    org["ami_home_key"] = next((k for k in org["ami_keys"] if f":kms:{home_region}:" in k), "")
    sec = org.get("security")
    org["alert_topic"] = next((t.arn for t in m.things.values() if t.kind == "sns-topic" and t.account == sec and "alerts" in t.arn), "")

    facts = Facts(org=org)
    accounts_by_team: dict[str, dict[str, str]] = {}
    # Accounts listed in their team's decommission sit in the Suspended OU, being closed: flows
    # about an account's normal work select the others with `where: {decommissioned: false}`.
    decommissioned = {acct.id for acct in m.accounts.values() if acct.decommissioned}
    for acct in m.accounts.values():
        if acct.id != m.management:
            facts.member_accounts.append({"account": acct.id, "account_key": acct.key, "decommissioned": acct.id in decommissioned})
        if acct.team:
            accounts_by_team.setdefault(acct.team, {})[acct.environment or ""] = acct.id
    pipelines = {p["team"]: p for p in (_pipeline(r, org, home_region) for r in _by_type(plan, "aws:codepipeline/pipeline:Pipeline"))}
    topics = {t["inputs"].get("name"): t["inputs"] for t in _by_type(plan, "aws:sns/topic:Topic")}
    for team, p in pipelines.items():
        # The operations key: the one the team's notifications topic is encrypted with.
        p["ops_key"] = (topics.get(f"{team}-pipeline-notifications") or {}).get("kmsMasterKeyId", "")
    for team, envs in sorted(accounts_by_team.items()):
        for env, acct in sorted(envs.items()):
            facts.team_accounts.append({"team": team, "env": env, "account": acct, "account_key": f"{team}-{env}",
                                        "has_pipeline": team in pipelines, "decommissioned": acct in decommissioned})
    for team, p in sorted(pipelines.items()):
        envs = accounts_by_team.get(team, {})
        p["stages"] = [{"env": e, "account": envs[e]} for e in ("test", "prod") if e in envs]
        facts.pipelines.append(p)
    return facts


def _pipeline(r: dict[str, Any], org: dict[str, Any], home_region: str) -> dict[str, Any]:
    inp = r["inputs"]
    # The team's identity (its first name) names the pipeline; the team tag is its current name.
    team = inp["name"].removesuffix("-pipeline")
    store = (inp.get("artifactStores") or [{}])[0]
    region = inp.get("region") or home_region
    source = next((a for s in inp.get("stages", []) if s["name"] == "Source" for a in s["actions"]), {})
    kind = {"CodeStarSourceConnection": "codeconnections", "CodeCommit": "codecommit", "S3": "s3"}.get(source.get("provider", ""), "")
    deploys = [a for s in inp.get("stages", []) if s["name"] == "Production" for a in s["actions"]]
    platform = next((a["provider"] for a in deploys if a.get("name") == "DeployApplication"), "Lambda")
    return {
        "team": team, "pipeline": inp["name"], "region": region,
        "pipeline_arn": f"arn:aws:codepipeline:{region}:{org.get('tooling')}:{inp['name']}",
        "pipeline_role": inp.get("roleArn", ""),
        "artifact_bucket": store.get("location", ""),
        "artifact_key": (store.get("encryptionKey") or {}).get("id", ""),
        "source": kind, "platform": platform,
        "repository": (source.get("configuration") or {}).get("RepositoryName", ""),
    }


def _break_glass_roles(plan: dict[str, Any]) -> list[str]:
    for r in _by_type(plan, "aws:cloudformation/stackSet:StackSet"):
        if r["inputs"].get("name") != "secure-org-account-baseline":
            continue
        template = json.loads(r["inputs"]["templateBody"])
        return sorted(res["Properties"]["RoleName"] for res in template["Resources"].values()
                      if res["Type"] == "AWS::IAM::Role" and {"Key": "break-glass", "Value": "true"} in res["Properties"].get("Tags", []))
    return []
