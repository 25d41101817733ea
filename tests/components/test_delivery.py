"""components/delivery.py: one findings importer, one deploy-roles StackSet, a constant provider budget."""

from __future__ import annotations

import json

from blueprint.config import load_file
from blueprint.pipeline import deploy_roles, naming
from tests.conftest import REPO, account_name_of, one, resources_of, shared_account_name

IMPORTER_ACTIONS = {
    "s3:GetObject", "s3:PutObject", "kms:Decrypt", "kms:GenerateDataKey", "securityhub:BatchImportFindings",
    "sts:GetCallerIdentity", "codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult",
    "logs:CreateLogStream", "logs:PutLogEvents",
}


def cfg_of(plan):
    return load_file(REPO / f"Pulumi.{plan['stack']}.yaml")


def test_one_findings_importer_in_the_tooling_account(plan):
    cfg = cfg_of(plan)
    # The image factory's scan gate is the plan's other Lambda function (image-factory account).
    (fn,) = [f for f in resources_of(plan, "aws:lambda/function:Function") if f["name"].startswith("org-delivery-")]
    i = fn["inputs"]
    assert account_name_of(plan, fn) == shared_account_name(plan["stack"], "tooling")
    assert (i["name"], i["runtime"], i["handler"]) == (naming.IMPORTER_NAME, "python3.12", "handler.handler")
    assert i["reservedConcurrentExecutions"] == 2  # Security Hub's 10 TPS is account-wide
    assert set(i["code"]["archive"]) >= {"handler.py", "importer.py", "parsers.py", "asff.py", "storage.py"}
    assert all(v["asset"].startswith("functions/findings_importer/") for v in i["code"]["archive"].values())
    env = i["environment"]["variables"]
    bucket = one(resources_of(plan, "aws:s3/bucket:Bucket"), name="org-delivery-importer-reports-bucket")
    key = one(resources_of(plan, "aws:kms/key:Key"), name="org-delivery-importer-key")
    assert env["REPORT_BUCKET"] == bucket["id"] and env["REPORT_KMS_KEY_ARN"].endswith(key["id"])
    assert key["inputs"]["enableKeyRotation"] is True
    logs = one(resources_of(plan, "aws:cloudwatch/logGroup:LogGroup"), name="org-delivery-importer-logs")
    assert logs["inputs"]["kmsKeyId"].endswith(key["id"])
    assert logs["inputs"]["retentionInDays"] == cfg.security_baseline.log_archive.cloudwatch_retention_days
    assert i["loggingConfig"]["logGroup"] == logs["inputs"]["name"]
    (async_cfg,) = resources_of(plan, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert async_cfg["inputs"]["maximumRetryAttempts"] == 0  # a retry would import a report twice


def test_importer_role_has_exactly_what_its_docstring_lists(plan):
    role = one(resources_of(plan, "aws:iam/role:Role"), name="org-delivery-importer-role")
    (trust,) = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    policy = one(resources_of(plan, "aws:iam/rolePolicy:RolePolicy"), name="org-delivery-importer-policy")
    stmts = {s["Sid"]: s for s in json.loads(policy["inputs"]["policy"])["Statement"]}
    assert {a for s in stmts.values() for a in s["Action"]} == IMPORTER_ACTIONS
    bucket = one(resources_of(plan, "aws:s3/bucket:Bucket"), name="org-delivery-importer-reports-bucket")
    assert stmts["ArchiveReports"]["Resource"] == f"arn:aws:s3:::{bucket['id']}/reports/*"
    assert stmts["ImportFindings"]["Resource"].endswith(":product/" + stmts["ImportFindings"]["Resource"].split(":")[4] + "/default")
    assert stmts["ReportKey"]["Resource"].startswith("arn:aws:kms:")


def test_report_bucket_is_a_secure_bucket_with_its_own_key(plan):
    pol = one(resources_of(plan, "aws:s3/bucketPolicy:BucketPolicy"), name="org-delivery-importer-reports-policy")
    sids = {s["Sid"] for s in json.loads(pol["inputs"]["policy"])["Statement"]}
    assert {"DenyInsecureTransport", "DenyUnencryptedUploads", "DenyUploadsUnderOtherKeys"} <= sids
    sse = one(resources_of(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"),
              name="org-delivery-importer-reports-encryption")
    rule = sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]
    key = one(resources_of(plan, "aws:kms/key:Key"), name="org-delivery-importer-key")
    assert rule["sseAlgorithm"] == "aws:kms" and rule["kmsMasterKeyId"].endswith(key["id"])


def test_one_service_managed_deploy_roles_stackset_home_region_only(plan):
    cfg = cfg_of(plan)
    ss = one(resources_of(plan, "aws:cloudformation/stackSet:StackSet"), name=naming.DEPLOY_ROLES_STACK_SET)
    assert ss["inputs"]["permissionModel"] == "SERVICE_MANAGED"
    assert ss["inputs"]["templateBody"] == deploy_roles.template_body()
    assert set(ss["inputs"]["parameters"]) == {"OrgId", "ToolingAccountId"}  # nothing team-specific at set level
    instances = [i for i in resources_of(plan, "aws:cloudformation/stackSetInstance:StackSetInstance")
                 if i["inputs"]["stackSetName"] == naming.DEPLOY_ROLES_STACK_SET]
    expected = [(t.name, e) for t in cfg.teams if t.pipeline for e in t.environments if e not in t.decommission]
    assert len(instances) == len(expected)
    for inst in instances:
        assert inst["inputs"]["stackSetInstanceRegion"] == cfg.organization.home_region
        targets = inst["inputs"]["deploymentTargets"]
        assert targets["accountFilterType"] == "INTERSECTION" and len(targets["accounts"]) == 1
        overrides = set(inst["inputs"]["parameterOverrides"])
        # Every team-naming parameter is an override (and only template parameters are):
        # the platform's deployment targets come on top of the base set.
        assert set(deploy_roles.PARAMETERS) - {"OrgId", "ToolingAccountId"} <= overrides <= set(deploy_roles.template()["Parameters"])
    # No provider per workload account: every delivery resource is in management (StackSet) or tooling.
    tooling = shared_account_name(plan["stack"], "tooling")
    for r in plan["resources"]:
        if r["name"].startswith("org-delivery-") and r["custom"]:
            assert account_name_of(plan, r) in ("management", tooling), r["name"]


def test_delivery_resources_per_pipeline_team_are_constant():
    """Resource count per team, by type (documented in docs/pipeline.md)."""
    from tests.conftest import plan_of

    _, doc = plan_of("prod")
    per_team: dict[str, int] = {}
    for team in ("payments", "web"):  # both CodeConnections + Lambda: identical shape
        per_team[team] = sum(1 for r in doc["resources"] if r["name"].startswith(f"org-delivery-{team}-") and r["custom"]
                             and r["type"] != "aws:sns/topicSubscription:TopicSubscription")  # one per approver
    # 35: the notifications are one CodeStar Notifications rule, not EventBridge rules and targets.
    assert per_team["payments"] == per_team["web"] == 35
