"""components/pipeline.py and pipeline_roles.py on both stacks' plans: one complete, secure pipeline per team."""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import Any

import pytest

from blueprint.config import load_file
from blueprint.pipeline import deployments, naming
from blueprint.pipeline.buildspecs import SCANS
from blueprint.pipeline_config import DEFAULT_DAST_IMAGE
from tests.conftest import REPO, account_name_of, one, resources_of, shared_account_name
from blueprint.access.evaluator import conditions_hold

PIPELINE = "aws:codepipeline/pipeline:Pipeline"
PROJECT = "aws:codebuild/project:Project"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
INSTANCE = "aws:cloudformation/stackSetInstance:StackSetInstance"
SECRETISH = re.compile(r"(SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY)", re.I)
PLAINTEXT_OK = {"TEAM", "PIPELINE", "DAST_TARGET_URL"}


def cfg_of(plan):
    return load_file(REPO / f"Pulumi.{plan['stack']}.yaml")


def pipeline_teams(plan):
    return [t for t in cfg_of(plan).teams if t.pipeline is not None]


def mine(plan, team: str, type_: str) -> list[dict]:
    return [r for r in resources_of(plan, type_) if r["name"].startswith(f"org-delivery-{team}-")]


def pipeline_of(plan, team: str) -> dict:
    return one(resources_of(plan, PIPELINE), name=f"org-delivery-{team}-pipeline")


def stages(p: dict) -> dict[str, list[dict]]:
    return {s["name"]: s["actions"] for s in p["inputs"]["stages"]}


def account_id(plan, name: str) -> str:
    """Id of the account with this AWS account name."""
    return one(resources_of(plan, "aws:organizations/account:Account"), name=name)["id"]


def doc(r: dict, key: str = "policy") -> dict:
    return json.loads(r["inputs"][key])


def as_list(x):
    return x if isinstance(x, list) else [x]


# --------------------------------------------------------------------------- shape
def test_one_pipeline_per_team_with_a_pipeline_block_in_the_tooling_account(plan):
    teams = pipeline_teams(plan)
    pipes = resources_of(plan, PIPELINE)
    assert sorted(p["inputs"]["name"] for p in pipes) == sorted(naming.pipeline_name(t.name) for t in teams)
    tooling = shared_account_name(plan["stack"], "tooling")
    for p in pipes:
        assert p["inputs"]["pipelineType"] == "V2"
        assert account_name_of(plan, p) == tooling


def test_stages_run_in_order(plan):
    for team in pipeline_teams(plan):
        p = pipeline_of(plan, team.name)
        assert [s["name"] for s in p["inputs"]["stages"]] == ["Source", "Build", "Scan", "Staging", "DAST", "Approval", "Production"]
        st = stages(p)
        (src,) = st["Source"]
        assert src["provider"] == {"codeconnections": "CodeStarSourceConnection", "codecommit": "CodeCommit", "s3": "S3"}[team.pipeline.source.type]
        (build,) = st["Build"]
        assert build["provider"] == "CodeBuild" and build["outputArtifacts"] == ["BuildOutput"]


def test_each_scan_is_its_own_codebuild_action_and_is_imported(plan):
    for team in pipeline_teams(plan):
        st = stages(pipeline_of(plan, team.name))
        for stage, kinds in (("Scan", ("sast", "secrets", "sca")), ("DAST", ("dast",))):
            acts = {a["name"]: a for a in st[stage]}
            for kind in kinds:
                scan = SCANS[kind]
                run = acts[scan.action]
                assert run["provider"] == "CodeBuild" and run.get("runOrder", 1) == 1
                assert run["configuration"]["ProjectName"] == naming.project(team.name, kind)
                assert run["outputArtifacts"] == [scan.artifact]
                imp = acts[f"Import{scan.action}"]
                assert (imp["category"], imp["provider"], imp["runOrder"]) == ("Invoke", "Lambda", 2)  # after the scans
                assert imp["inputArtifacts"] == [scan.artifact]
                assert imp["configuration"]["FunctionName"] == naming.IMPORTER_NAME
                params = json.loads(imp["configuration"]["UserParameters"])
                assert params["severity_threshold"] == team.pipeline.severity_threshold
                assert (params["team"], params["stage"], params["tool"], params["format"]) == (team.name, scan.stage, scan.tool, scan.format)
                assert params["report_path"] == scan.report and params["input_artifact"] == scan.artifact


def test_scans_are_pinned_and_platform_owned(plan):
    for team in pipeline_teams(plan):
        projects = {r["inputs"]["name"]: r for r in mine(plan, team.name, PROJECT)}
        assert set(projects) == {naming.project(team.name, k) for k in ("build", "sast", "secrets", "sca", "dast")}
        for kind in ("sast", "secrets", "sca", "dast"):
            spec = projects[naming.project(team.name, kind)]["inputs"]["source"]["buildspec"]
            assert spec.startswith("version: 0.2") and "buildspec.yml" not in spec
        assert "semgrep==1." in projects[f"{team.name}-sast"]["inputs"]["source"]["buildspec"]
        assert "gitleaks/v8@v8." in projects[f"{team.name}-secrets"]["inputs"]["source"]["buildspec"]
        assert "osv-scanner@v1." in projects[f"{team.name}-sca"]["inputs"]["source"]["buildspec"]
        dast = projects[f"{team.name}-dast"]["inputs"]["environment"]
        assert re.search(r"@sha256:[0-9a-f]{64}$", dast["image"]) and dast["image"] == team.pipeline.dast_image == DEFAULT_DAST_IMAGE
        assert dast["privilegedMode"] is False  # the ZAP image is the build image: no Docker-in-Docker
        assert {"name": "DAST_TARGET_URL", "value": team.pipeline.dast_target_url, "type": "PLAINTEXT"} in dast["environmentVariables"]


def test_codebuild_privileged_only_when_configured_with_the_reason_tagged(plan):
    seen = False
    for team in pipeline_teams(plan):
        for r in mine(plan, team.name, PROJECT):
            env, tags = r["inputs"]["environment"], r["inputs"]["tags"]
            expected = r["inputs"]["name"].endswith("-build") and team.pipeline.privileged_build is not None
            assert env["privilegedMode"] is expected, r["name"]
            assert ("privileged-reason" in tags) is expected
            if expected:
                seen = True
                assert tags["privileged-reason"].startswith("builds the service")
                assert re.fullmatch(r"[\w .:/=+\-@]{1,256}", tags["privileged-reason"])
    assert seen or plan["stack"] == "dev"


def test_no_plaintext_secrets_in_build_environments(plan):
    for r in resources_of(plan, PROJECT):
        for var in r["inputs"]["environment"].get("environmentVariables", []):
            if var.get("type", "PLAINTEXT") == "PLAINTEXT":
                assert not SECRETISH.search(var["name"]), (r["name"], var["name"])
                assert var["name"] in PLAINTEXT_OK, (r["name"], var["name"])
            else:
                assert var["type"] in ("PARAMETER_STORE", "SECRETS_MANAGER")


def test_codebuild_logs_to_kms_encrypted_cloudwatch_and_encrypts_with_the_artifact_key(plan):
    for team in pipeline_teams(plan):
        (group,) = mine(plan, team.name, "aws:cloudwatch/logGroup:LogGroup")
        assert group["inputs"]["kmsKeyId"].startswith("arn:aws:kms:") and group["inputs"]["retentionInDays"] > 0
        key = one(resources_of(plan, "aws:kms/key:Key"), name=f"org-delivery-{team.name}-artifact-key")
        for r in mine(plan, team.name, PROJECT):
            logs = r["inputs"]["logsConfig"]
            assert logs["cloudwatchLogs"] == {"status": "ENABLED", "groupName": group["inputs"]["name"], "streamName": r["inputs"]["name"].split("-")[-1]}
            assert logs["s3Logs"]["status"] == "DISABLED"
            assert r["inputs"]["encryptionKey"] == f"arn:aws:kms:{cfg_of(plan).organization.home_region}:{account_id(plan, shared_account_name(plan['stack'], 'tooling'))}:key/{key['id']}"


# --------------------------------------------------------------------------- cross-account deploys
def test_every_action_in_a_team_account_runs_as_that_accounts_deploy_role(plan):
    for team in pipeline_teams(plan):
        st = stages(pipeline_of(plan, team.name))
        for stage, env in naming.DEPLOY_STAGES.items():
            acct = account_id(plan, f"{team.name}-{env}")
            for a in st[stage]:
                assert a["roleArn"] == f"arn:aws:iam::{acct}:role/{team.name}-deploy", (team.name, stage, a["name"])
                if a["provider"] == "CloudFormation":
                    assert a["configuration"]["RoleArn"] == f"arn:aws:iam::{acct}:role/{team.name}-cfn-exec"
        for stage in ("Source", "Build", "Scan", "DAST", "Approval"):
            assert all("roleArn" not in a for a in st[stage]), stage  # tooling-account actions
        kinds = {a["provider"] for a in st["Production"]}
        expected = {"Lambda": {"CloudFormation"}, "Server": {"CloudFormation", "CodeDeploy"}, "ECS": {"CloudFormation", "CodeDeployToECS"}}
        assert kinds == expected[team.pipeline.deployment.compute_platform]


def test_production_deploys_with_the_configured_deployment_config(plan):
    instances = resources_of(plan, INSTANCE)
    for team in pipeline_teams(plan):
        cf = next(a for a in stages(pipeline_of(plan, team.name))["Production"] if a["provider"] == "CloudFormation")
        overrides = json.loads(cf["configuration"]["ParameterOverrides"])
        assert overrides["DeploymentConfigName"] == team.pipeline.deployment.config_name("prod")
        assert overrides["CodeDeployDeploymentGroup"] == f"{team.name}-prod"
        inst = one(instances, name=f"org-delivery-deploy-roles-{team.name}-prod-{cfg_of(plan).organization.home_region}")
        assert inst["inputs"]["parameterOverrides"]["DeploymentConfigName"] == team.pipeline.deployment.config_name("prod")
        # Production is canary or linear from the catalogue (all-at-once only with an exemption).
        assert inst["inputs"]["parameterOverrides"]["DeploymentConfigName"] in deployments.BY_NAME
        test_inst = one(instances, name=f"org-delivery-deploy-roles-{team.name}-test-{cfg_of(plan).organization.home_region}")
        assert test_inst["inputs"]["parameterOverrides"]["DeploymentConfigName"] == team.pipeline.deployment.config_name("test")
        for a in stages(pipeline_of(plan, team.name))["Production"]:
            if a["provider"].startswith("CodeDeploy"):
                assert a["configuration"]["DeploymentGroupName"] == f"{team.name}-prod"


def test_approval_notifies_the_teams_approvers_through_an_encrypted_topic(plan):
    for team in pipeline_teams(plan):
        (approval,) = stages(pipeline_of(plan, team.name))["Approval"]
        assert (approval["category"], approval["provider"]) == ("Approval", "Manual")
        topic = one(resources_of(plan, "aws:sns/topic:Topic"), name=f"org-delivery-{team.name}-approvals")
        assert approval["configuration"]["NotificationArn"] == topic["id"]
        assert topic["inputs"]["kmsMasterKeyId"].startswith("arn:aws:kms:")
        subs = [s for s in resources_of(plan, "aws:sns/topicSubscription:TopicSubscription") if s["inputs"]["topic"] == topic["id"]]
        assert sorted(s["inputs"]["endpoint"] for s in subs) == sorted(team.pipeline.approvers)


# --------------------------------------------------------------------------- keys and buckets
def test_artifact_key_rotates_and_admits_only_the_teams_roles(plan):
    keys = resources_of(plan, "aws:kms/key:Key")
    for r in keys:
        if r["name"].startswith("org-delivery-"):
            # Kept when the pipeline block goes, but not protected: that would stop `pulumi up`.
            team_key = r["name"] != "org-delivery-importer-key"
            assert r["inputs"]["enableKeyRotation"] is True and r["retain_on_delete"] and r["protect"] is not team_key, r["name"]
    for team in pipeline_teams(plan):
        key = one(keys, name=f"org-delivery-{team.name}-artifact-key")
        policy = one(resources_of(plan, "aws:kms/keyPolicy:KeyPolicy"), name=f"org-delivery-{team.name}-artifact-key-policy")
        assert policy["inputs"]["keyId"] == key["id"]
        tooling = account_id(plan, shared_account_name(plan["stack"], "tooling"))
        by_sid = {s["Sid"]: s for s in doc(policy)["Statement"]}
        assert by_sid["ProvisioningRoleAdministers"]["Principal"] == {"AWS": f"arn:aws:iam::{tooling}:role/OrganizationAccountAccessRole"}
        assert not any(a in ("kms:*", "kms:Decrypt", "kms:Encrypt") or a.startswith("kms:GenerateDataKey")
                       for a in by_sid["ProvisioningRoleAdministers"]["Action"])
        assert sorted(by_sid["PipelineAndBuildUseKey"]["Principal"]["AWS"]) == sorted(
            f"arn:aws:iam::{tooling}:role/{team.name}-{s}" for s in ("codebuild", "codepipeline"))
        targets = [account_id(plan, f"{team.name}-{env}") for env in ("test", "prod")]
        assert sorted(by_sid["DeployRolesUseKey"]["Principal"]["AWS"]) == sorted(
            f"arn:aws:iam::{a}:role/{team.name}-{r}" for a in targets for r in ("deploy", "cfn-exec"))
        assert by_sid["DeployRolesUseKey"]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": one(resources_of(plan, "aws:organizations/organization:Organization"))["id"]}}
        # KMS checks that principals exist: the policy waits for the deploy roles' stack instances.
        home = cfg_of(plan).organization.home_region
        for env in ("test", "prod"):
            inst = one(resources_of(plan, INSTANCE), name=f"org-delivery-deploy-roles-{team.name}-{env}-{home}")
            assert inst["urn"] in policy["dependencies"]


def test_artifact_bucket_requires_the_key_and_lets_only_the_teams_deploy_roles_read(plan):
    for team in pipeline_teams(plan):
        bucket = one(resources_of(plan, "aws:s3/bucket:Bucket"), name=f"org-delivery-{team.name}-artifacts-bucket")
        assert bucket["parent"].endswith(f"org-delivery-{team.name}-artifacts")  # SecureBucket
        pol = one(resources_of(plan, "aws:s3/bucketPolicy:BucketPolicy"), name=f"org-delivery-{team.name}-artifacts-policy")
        by_sid = {s["Sid"]: s for s in doc(pol)["Statement"]}
        key = one(resources_of(plan, "aws:kms/key:Key"), name=f"org-delivery-{team.name}-artifact-key")
        assert by_sid["DenyUploadsUnderOtherKeys"]["Condition"]["StringNotEquals"]["s3:x-amz-server-side-encryption-aws-kms-key-id"].endswith(key["id"])
        assert {"DenyInsecureTransport", "DenyUnencryptedUploads"} <= set(by_sid)
        read = by_sid["DeployRolesReadArtifacts"]
        assert read["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
        assert all(f":role/{team.name}-" in p for p in read["Principal"]["AWS"]) and len(read["Principal"]["AWS"]) == 4
        assert "aws:PrincipalOrgID" in read["Condition"]["StringEquals"]
        for kind in ("versioning", "lifecycle", "public-access"):
            one(plan["resources"], name=f"org-delivery-{team.name}-artifacts-{kind}")
        store = pipeline_of(plan, team.name)["inputs"]["artifactStores"][0]
        assert store["encryptionKey"]["type"] == "KMS" and ":key/" in store["encryptionKey"]["id"]  # by ARN, not alias


# --------------------------------------------------------------------------- roles
def _policies_of(plan, role_name: str) -> list[dict]:
    role = one(resources_of(plan, ROLE), name=role_name)
    return [doc(p) for p in resources_of(plan, ROLE_POLICY) if p["inputs"]["role"] == role["id"]]


@lru_cache(maxsize=1)
def _iam_actions() -> dict[str, dict[str, Any]]:
    import parliament

    with open(os.path.join(os.path.dirname(parliament.__file__), "iam_definition.json")) as f:
        data = json.load(f)
    return {f"{s['prefix']}:{p['privilege']}".lower(): p for s in data for p in s["privileges"]}


def test_no_action_star_and_star_resources_only_without_resource_level_permissions(plan):
    known = _iam_actions()
    for p in resources_of(plan, ROLE_POLICY):
        if not p["name"].startswith("org-delivery-"):
            continue
        for s in doc(p)["Statement"]:
            for action in as_list(s["Action"]):
                assert "*" not in action, (p["name"], action)
                assert action.lower() in known, (p["name"], action)
            if s["Resource"] == "*":
                for action in as_list(s["Action"]):
                    types = {r["resource_type"] for r in known[action.lower()]["resource_types"]}
                    assert types == {""}, f"{p['name']}/{s['Sid']}: {action}"


def test_duty_roles_trust_only_the_teams_sso_permission_sets_in_the_org(plan):
    org = one(resources_of(plan, "aws:organizations/organization:Organization"))["id"]
    tooling = account_id(plan, shared_account_name(plan["stack"], "tooling"))
    teams = pipeline_teams(plan)
    for team in teams:
        roles = [r for r in mine(plan, team.name, ROLE) if r["inputs"]["tags"].get("duty") not in (None, "service")]
        duties = {r["inputs"]["tags"]["duty"] for r in roles}
        expected = {"viewer", "build_owner", "iac_owner", "prod_deployer"}
        expected |= {"codecommit": {"committer", "merger"}, "s3": {"committer"}, "codeconnections": set()}[team.pipeline.source.type]
        assert duties == expected
        for r in roles:
            duty = r["inputs"]["tags"]["duty"]
            (s,) = doc(r, "assumeRolePolicy")["Statement"]
            assert s["Principal"] == {"AWS": f"arn:aws:iam::{tooling}:root"}
            ps = naming.permission_set(team.name, duty, team.pipeline)
            me = f"arn:aws:iam::{tooling}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_{ps}_0123456789abcdef"
            ctx = {"aws:PrincipalArn": me, "aws:PrincipalOrgID": org, "aws:MultiFactorAuthPresent": "true"}
            assert conditions_hold(s["Condition"], ctx), r["name"]
            assert not conditions_hold(s["Condition"], {**ctx, "aws:PrincipalOrgID": "o-zzzzzzzzzz"})
            assert not conditions_hold(s["Condition"], {**ctx, "aws:PrincipalArn": me.replace(ps, ps + "_x")})
            assert not conditions_hold(s["Condition"], {**ctx, "aws:PrincipalArn": f"arn:aws:iam::{tooling}:role/OrganizationAccountAccessRole"})
            for other in teams:  # nobody else's permission sets
                if other.name != team.name:
                    theirs = me.replace(ps, naming.permission_set(other.name, duty, other.pipeline))
                    assert not conditions_hold(s["Condition"], {**ctx, "aws:PrincipalArn": theirs})
            no_mfa = {k: v for k, v in ctx.items() if k != "aws:MultiFactorAuthPresent"}
            assert conditions_hold(s["Condition"], no_mfa) is (duty != "prod_deployer")


def test_viewer_is_read_only_on_its_pipeline(plan):
    for team in pipeline_teams(plan):
        (policy,) = _policies_of(plan, f"org-delivery-{team.name}-roles-viewer")
        actions = {a for s in policy["Statement"] for a in as_list(s["Action"])}
        assert all(re.match(r"^[a-z-]+:(Get|List|BatchGet|Describe|FilterLogEvents)", a) for a in actions), actions
        view = next(s for s in policy["Statement"] if s["Sid"] == "ViewPipeline")
        assert view["Resource"].endswith(f":{naming.pipeline_name(team.name)}")


def test_only_the_merger_may_merge_and_only_the_prod_deployer_approves_with_mfa(plan):
    for team in pipeline_teams(plan):
        allowed: dict[str, set[str]] = {}
        for r in mine(plan, team.name, ROLE):
            allowed[r["inputs"]["tags"]["duty"]] = {a for p in _policies_of(plan, r["name"]) for s in p["Statement"] if s["Effect"] == "Allow" for a in as_list(s["Action"])}
        mergers = {d for d, acts in allowed.items() if any(a.startswith("codecommit:Merge") for a in acts)}
        assert mergers == ({"merger"} if team.pipeline.source.type == "codecommit" else set())
        approvers = {d for d, acts in allowed.items() if "codepipeline:PutApprovalResult" in acts}
        assert approvers == {"prod_deployer"}
        (p,) = _policies_of(plan, f"org-delivery-{team.name}-roles-prod-deployer")
        approve = next(s for s in p["Statement"] if s["Sid"] == "ApproveProduction")
        assert approve["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        assert approve["Resource"].endswith(f":{naming.pipeline_name(team.name)}/Approval/ProductionApproval")
        if team.pipeline.source.type == "codecommit":
            (c,) = _policies_of(plan, f"org-delivery-{team.name}-roles-committer")
            deny = next(s for s in c["Statement"] if s["Sid"] == "OnlyMergersMerge")
            assert deny["Effect"] == "Deny" and all(a.startswith("codecommit:Merge") for a in deny["Action"])


def test_codecommit_branch_protection_through_an_approval_rule_template(plan):
    for team in pipeline_teams(plan):
        if team.pipeline.source.type != "codecommit":
            continue
        (tmpl,) = mine(plan, team.name, "aws:codecommit/approvalRuleTemplate:ApprovalRuleTemplate")
        content = json.loads(tmpl["inputs"]["content"])
        assert content["DestinationReferences"] == [f"refs/heads/{team.pipeline.source.branch}"]
        (stmt,) = content["Statements"]
        assert stmt["NumberOfApprovalsNeeded"] == team.pipeline.source.required_approvals
        assert all(f"assumed-role/{team.name}-pipeline-" in m for m in stmt["ApprovalPoolMembers"])
        (assoc,) = mine(plan, team.name, "aws:codecommit/approvalRuleTemplateAssociation:ApprovalRuleTemplateAssociation")
        assert assoc["inputs"]["approvalRuleTemplateName"] == tmpl["id"]
        assert assoc["inputs"]["repositoryName"] == team.pipeline.source.repository


def test_service_roles_trust_their_service_for_this_team_only(plan):
    tooling = account_id(plan, shared_account_name(plan["stack"], "tooling"))
    for team in pipeline_teams(plan):
        pipe = one(resources_of(plan, ROLE), name=f"org-delivery-{team.name}-roles-codepipeline")
        (s,) = doc(pipe, "assumeRolePolicy")["Statement"]
        assert s["Principal"] == {"Service": "codepipeline.amazonaws.com"}
        assert s["Condition"]["ArnEquals"]["aws:SourceArn"].endswith(f":{tooling}:{naming.pipeline_name(team.name)}")
        build = one(resources_of(plan, ROLE), name=f"org-delivery-{team.name}-roles-codebuild")
        (s,) = doc(build, "assumeRolePolicy")["Statement"]
        assert s["Condition"]["ArnLike"]["aws:SourceArn"].endswith(f":project/{team.name}-*")


# --------------------------------------------------------------------------- no cross-team trust
def test_no_team_can_reach_another_teams_deploy_roles(plan):
    teams = pipeline_teams(plan)
    tooling = account_id(plan, shared_account_name(plan["stack"], "tooling"))
    instances = [i for i in resources_of(plan, INSTANCE) if i["name"].startswith("org-delivery-deploy-roles-")]
    for team in teams:
        mine_ = [i for i in instances if i["name"].startswith(f"org-delivery-deploy-roles-{team.name}-")]
        assert len(mine_) == len([e for e in team.environments if e not in team.decommission])
        for inst in mine_:
            params = inst["inputs"]["parameterOverrides"]
            assert params["Team"] == team.name
            assert params["PipelineRoleArn"] == f"arn:aws:iam::{tooling}:role/{team.name}-codepipeline"
            assert params["ArtifactBucketName"] == f"{team.name}-pipeline-{tooling}"
            for other in teams:
                if other.name != team.name:
                    assert f"{other.name}-" not in json.dumps({k: v for k, v in params.items() if k != "DeploymentConfigName"})
            (acct,) = inst["inputs"]["deploymentTargets"]["accounts"]
            assert acct in {account_id(plan, f"{team.name}-{e}") for e in team.environments}
        # The pipeline role may assume exactly its own test and prod deploy roles.
        assume = [s for p in _policies_of(plan, f"org-delivery-{team.name}-roles-codepipeline") for s in p["Statement"] if "sts:AssumeRole" in as_list(s["Action"])]
        (s,) = assume
        assert sorted(s["Resource"]) == sorted(f"arn:aws:iam::{account_id(plan, f'{team.name}-{e}')}:role/{team.name}-deploy" for e in ("test", "prod"))


def test_failure_scan_and_approval_events_reach_the_teams_encrypted_topic(plan):
    """One notification rule per pipeline (no EventBridge rules on the tooling bus for it)."""
    from components.pipeline import NOTIFICATION_EVENTS

    for team in pipeline_teams(plan):
        topic = one(resources_of(plan, "aws:sns/topic:Topic"), name=f"org-delivery-{team.name}-notifications")
        (rule,) = [r for r in mine(plan, team.name, "aws:codestarnotifications/notificationRule:NotificationRule")]
        assert rule["inputs"]["targets"] == [{"address": topic["id"], "type": "SNS"}]
        assert rule["inputs"]["resource"].endswith(f":{naming.pipeline_name(team.name)}")
        # Failures (a failed scan or import, a rolled-back deployment: failed actions) and approvals.
        assert set(rule["inputs"]["eventTypeIds"]) == set(NOTIFICATION_EVENTS)
        assert {"codepipeline-pipeline-action-execution-failed", "codepipeline-pipeline-manual-approval-needed"} <= set(NOTIFICATION_EVENTS)
        rules = [r["inputs"]["name"] for r in mine(plan, team.name, "aws:cloudwatch/eventRule:EventRule")]
        assert set(rules) <= {f"{team.name}-pipeline-start"}, "only a start rule, for CodeCommit and S3 sources"
        key = one(resources_of(plan, "aws:kms/key:Key"), name=f"org-delivery-{team.name}-ops-key")
        assert topic["inputs"]["kmsMasterKeyId"].endswith(key["id"])
        assert any(s["Principal"] == {"Service": "codestar-notifications.amazonaws.com"} for s in doc(key)["Statement"])
        policy = json.loads(one(resources_of(plan, "aws:sns/topicPolicy:TopicPolicy"), name=f"org-delivery-{team.name}-notifications-policy")["inputs"]["policy"])
        (publisher,) = [s for s in policy["Statement"] if s.get("Sid") == "Publisher"]
        assert publisher["Principal"] == {"Service": "codestar-notifications.amazonaws.com"}
