"""The Terraform-plan export of the offline plan (blueprint/offline/tfplan.py): what checkov reads."""

from __future__ import annotations

import json

import pytest

from blueprint.offline import tfplan
from tests.conftest import STACKS, plan_of

STACK = "urn:pulumi:unit::secure-org::"


def res(type_: str, name: str, inputs: dict, *, parent: str = "blueprint:test:Parent", deps: dict | None = None,
        rid: str | None = None, provider: str = "", custom: bool = True) -> dict:
    """One recorded registration, shaped like blueprint.offline.mocks.Registration."""
    return {
        "urn": f"{STACK}{parent}${type_}::{name}",
        "id": rid if rid is not None else f"{name}-id",
        "type": type_,
        "name": name,
        "parent": "",
        "custom": custom,
        "provider": provider,
        "inputs": inputs,
        "protect": False,
        "retain_on_delete": False,
        "ignore_changes": [],
        "dependencies": sorted({u for us in (deps or {}).values() for u in us}),
        "property_dependencies": deps or {},
        "aliases": [],
    }


def convert(*resources: dict) -> tfplan.Conversion:
    return tfplan.convert({"stack": "unit", "resources": list(resources)})


def values_of(conv: tfplan.Conversion, address: str) -> dict:
    found = [r for r in conv.plan["planned_values"]["root_module"]["resources"] if r["address"] == address]
    assert len(found) == 1, address
    return found[0]["values"]


def expressions_of(conv: tfplan.Conversion, address: str) -> dict:
    return next(r["expressions"] for r in conv.plan["configuration"]["root_module"]["resources"] if r["address"] == address)


# --- types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token, tf_type",
    [
        # irregular: module "cfg" is Terraform "config", and two names differ beyond that
        ("aws:cfg/rule:Rule", "aws_config_config_rule"),
        ("aws:cfg/recorder:Recorder", "aws_config_configuration_recorder"),
        ("aws:cfg/configurationAggregator:ConfigurationAggregator", "aws_config_configuration_aggregator"),
        ("aws:cfg/organizationConformancePack:OrganizationConformancePack", "aws_config_organization_conformance_pack"),
        ("aws:cloudtrail/trail:Trail", "aws_cloudtrail"),
        ("aws:codepipeline/pipeline:Pipeline", "aws_codepipeline"),
        ("aws:codedeploy/application:Application", "aws_codedeploy_app"),
        ("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws_iam_openid_connect_provider"),
        ("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "aws_s3_bucket_replication_configuration"),
        ("aws:s3/bucketObjectv2:BucketObjectv2", "aws_s3_object"),
        ("aws:ec2/securityGroup:SecurityGroup", "aws_security_group"),
        # v7: Bucket is aws_s3_bucket, and the deprecated V2 alias too
        ("aws:s3/bucket:Bucket", "aws_s3_bucket"),
        ("aws:s3/bucketV2:BucketV2", "aws_s3_bucket"),
        ("aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", "aws_s3_bucket_server_side_encryption_configuration"),
        # regular ones
        ("aws:cloudwatch/eventRule:EventRule", "aws_cloudwatch_event_rule"),
        ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
        ("aws:iam/rolePolicy:RolePolicy", "aws_iam_role_policy"),
        ("aws:kms/key:Key", "aws_kms_key"),
        ("aws:lambda/function:Function", "aws_lambda_function"),
        ("aws:sns/topic:Topic", "aws_sns_topic"),
        ("aws:codebuild/project:Project", "aws_codebuild_project"),
    ],
)
def test_type_mapping(token, tf_type):
    assert tfplan.Converter().tf_type(token) == (tf_type, "table")


def test_type_table_tokens_exist_in_the_installed_sdk():
    """A typo in TYPE_TABLE would silently never match; every token must be one pulumi_aws registers."""
    missing = sorted(t for t in tfplan.TYPE_TABLE if t not in tfplan.registered_tokens())
    assert missing == []


def test_every_table_type_has_its_args_schema():
    for token in tfplan.TYPE_TABLE:
        cls = tfplan.args_class(token)
        assert cls is not None and not cls.__name__.startswith("_"), token
        assert tfplan.properties(cls), token


def test_property_renames_name_real_properties():
    """Every renamed property exists in the SDK schema of the type it is listed under."""
    import importlib

    import pulumi_aws

    for key, renames in tfplan.PROPERTY_RENAMES.items():
        if key == tfplan.PROVIDER_TOKEN:
            cls = pulumi_aws.ProviderArgs
        elif key in tfplan.registered_tokens():
            cls = tfplan.args_class(key)
        else:
            _, mod, name, _ = tfplan.split_token(key)
            pkg = next(m for m in (f"pulumi_aws.{mod}", f"pulumi_aws.{mod}_") if importlib.util.find_spec(m))
            cls = getattr(importlib.import_module(f"{pkg}._inputs"), f"{name}Args")
            assert tfplan.nested_token(cls) == key
        missing = set(renames) - set(tfplan.properties(cls))
        assert not missing, (key, missing)


def test_type_table_is_not_just_the_default_rule():
    """The table exists because the bridge's mapping is irregular; keep the irregular cases in it."""
    irregular = {t for t, tf in tfplan.TYPE_TABLE.items() if tfplan.fallback_tf_type(t) != tf}
    assert {"aws:cloudtrail/trail:Trail", "aws:codepipeline/pipeline:Pipeline", "aws:cfg/rule:Rule",
            "aws:codedeploy/application:Application", "aws:ec2/securityGroup:SecurityGroup"} <= irregular


@pytest.mark.parametrize(
    "token, guess",
    [
        ("aws:sqs/redrivePolicy:RedrivePolicy", "aws_sqs_redrive_policy"),
        ("aws:cfg/retentionConfiguration:RetentionConfiguration", "aws_config_retention_configuration"),
        ("aws:cloudwatch/eventConnection:EventConnection", "aws_cloudwatch_event_connection"),
        ("aws:apigateway/restApi:RestApi", "aws_api_gateway_rest_api"),
    ],
)
def test_fallback_rule(token, guess):
    assert tfplan.fallback_tf_type(token) == guess
    assert tfplan.Converter().tf_type(token) == (guess, "fallback")


def test_unmapped_types_are_reported_not_silently_mangled():
    conv = convert(
        res("aws:sqs/redrivePolicy:RedrivePolicy", "dlq", {"queueUrl": "https://q", "redrivePolicy": "{}"}),
        res("aws:nosuch/thing:Thing", "ghost", {}),
        res("random:index/randomId:RandomId", "rnd", {"byteLength": 8}),
        res("blueprint:test:Component", "comp", {}, custom=False),
    )
    addresses = [r["address"] for r in conv.plan["planned_values"]["root_module"]["resources"]]
    assert addresses == ["aws_sqs_redrive_policy.dlq"]  # guessed, exported, and reported
    assert conv.unverified_types == {"aws:sqs/redrivePolicy:RedrivePolicy": "aws_sqs_redrive_policy"}
    assert conv.unknown_types == ["aws:nosuch/thing:Thing"]
    assert conv.skipped == {"random:index/randomId:RandomId": 1}
    notes = "\n".join(conv.notes())
    assert "aws:sqs/redrivePolicy" in notes and "aws:nosuch/thing" in notes and "random:index" in notes


@pytest.mark.parametrize("stack", STACKS)
def test_every_type_of_the_real_plans_is_in_the_table(stack):
    code, doc = plan_of(stack)
    conv = tfplan.convert(doc)
    assert conv.unverified_types == {} and conv.unknown_types == [], conv.notes()
    assert conv.unknown_properties == {}, conv.notes()
    exported = len(conv.plan["planned_values"]["root_module"]["resources"])
    custom = sum(1 for r in doc["resources"] if r["custom"] and not r["type"].startswith("pulumi:providers:"))
    assert exported == custom


# --- properties ----------------------------------------------------------------------------


def test_snake_case_but_user_map_keys_kept():
    conv = convert(
        res("aws:cloudwatch/eventTarget:EventTarget", "tgt", {
            "rule": "r", "arn": "arn:aws:sns:us-east-1:1:t",
            "inputTransformer": {"inputPaths": {"eventName": "$.detail.eventName", "account-id": "$.account"},
                                 "inputTemplate": "\"<eventName>\""},
        }),
        res("aws:cloudformation/stackSet:StackSet", "ss", {
            "name": "ss", "templateBody": "{}", "permissionModel": "SERVICE_MANAGED",
            "parameters": {"ConfigKmsKeyArn": "arn:k", "HomeRegion": "eu-west-1"},
            "tags": {"cost-center": "CC-1", "TeamName": "x"},
        }),
        res("aws:lambda/function:Function", "fn", {
            "role": "arn:aws:iam::1:role/r", "runtime": "python3.13", "handler": "index.handler",
            "environment": {"variables": {"LOG_LEVEL": "INFO", "tableName": "t"}},
        }),
    )
    tgt = values_of(conv, "aws_cloudwatch_event_target.tgt")
    assert tgt["input_transformer"] == [{"input_paths": {"eventName": "$.detail.eventName", "account-id": "$.account"},
                                         "input_template": "\"<eventName>\""}]
    ss = values_of(conv, "aws_cloudformation_stack_set.ss")
    assert ss["permission_model"] == "SERVICE_MANAGED"
    assert ss["parameters"] == {"ConfigKmsKeyArn": "arn:k", "HomeRegion": "eu-west-1"}
    assert ss["tags"] == {"cost-center": "CC-1", "TeamName": "x"}
    fn = values_of(conv, "aws_lambda_function.fn")
    assert fn["environment"] == [{"variables": {"LOG_LEVEL": "INFO", "tableName": "t"}}]


def test_single_nested_objects_become_lists_of_one_and_lists_stay_flat():
    conv = convert(
        res("aws:codebuild/project:Project", "build", {
            "name": "build", "serviceRole": "arn:aws:iam::1:role/cb",
            "artifacts": {"type": "CODEPIPELINE"},
            "environment": {"computeType": "BUILD_GENERAL1_SMALL", "image": "aws/codebuild/standard:7.0",
                            "type": "LINUX_CONTAINER", "privilegedMode": False,
                            "environmentVariables": [{"name": "STAGE", "value": "dev", "type": "PLAINTEXT"}]},
            "source": {"type": "CODEPIPELINE", "buildspec": "version: 0.2"},
            "logsConfig": {"cloudwatchLogs": {"groupName": "/cb", "status": "ENABLED"}},
        }),
        res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "sse", {
            "bucket": "b", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": "k"},
                                      "bucketKeyEnabled": True}],
        }),
    )
    cb = values_of(conv, "aws_codebuild_project.build")
    assert cb["artifacts"] == [{"type": "CODEPIPELINE"}]
    assert cb["environment"] == [{
        "compute_type": "BUILD_GENERAL1_SMALL", "image": "aws/codebuild/standard:7.0", "type": "LINUX_CONTAINER",
        "privileged_mode": False,
        # the bridge's plural "environmentVariables" is Terraform's repeated block "environment_variable"
        "environment_variable": [{"name": "STAGE", "value": "dev", "type": "PLAINTEXT"}],
    }]
    assert cb["logs_config"] == [{"cloudwatch_logs": [{"group_name": "/cb", "status": "ENABLED"}]}]
    sse = values_of(conv, "aws_s3_bucket_server_side_encryption_configuration.sse")
    assert sse["rule"] == [{"apply_server_side_encryption_by_default": [{"sse_algorithm": "aws:kms", "kms_master_key_id": "k"}],
                            "bucket_key_enabled": True}]


def test_pluralised_blocks_get_their_terraform_names():
    conv = convert(
        res("aws:codepipeline/pipeline:Pipeline", "pipe", {
            "name": "pipe", "roleArn": "arn:aws:iam::1:role/p", "pipelineType": "V2",
            "artifactStores": [{"location": "bucket", "type": "S3", "encryptionKey": {"id": "arn:k", "type": "KMS"}}],
            "stages": [{"name": "Source", "actions": [{
                "name": "Source", "category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection",
                "version": "1", "outputArtifacts": ["src"],
                "configuration": {"ConnectionArn": "arn:c", "FullRepositoryId": "acme/app", "BranchName": "main"},
            }]}],
        }),
        res("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "lc", {
            "bucket": "b", "rules": [{"id": "r", "status": "Enabled", "filter": {"prefix": ""},
                                      "transitions": [{"days": 30.0, "storageClass": "GLACIER"}]}],
        }),
        res("aws:cloudtrail/trail:Trail", "trail", {
            "name": "t", "s3BucketName": "b",
            "eventSelectors": [{"readWriteType": "All", "dataResources": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}]}],
        }),
    )
    pipe = values_of(conv, "aws_codepipeline.pipe")
    assert pipe["artifact_store"] == [{"location": "bucket", "type": "S3", "encryption_key": [{"id": "arn:k", "type": "KMS"}]}]
    (stage,) = pipe["stage"]
    (action,) = stage["action"]
    assert action["output_artifacts"] == ["src"]
    assert action["configuration"] == {"ConnectionArn": "arn:c", "FullRepositoryId": "acme/app", "BranchName": "main"}
    lc = values_of(conv, "aws_s3_bucket_lifecycle_configuration.lc")
    assert lc["rule"][0]["transition"] == [{"days": 30, "storage_class": "GLACIER"}]  # and ints stay ints
    trail = values_of(conv, "aws_cloudtrail.trail")
    assert trail["event_selector"][0]["data_resource"] == [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}]


def test_python_keyword_names_and_string_booleans():
    conv = convert(
        res("aws:inspector2/organizationConfiguration:OrganizationConfiguration", "insp",
            {"autoEnable": {"ec2": True, "ecr": True, "lambda": True, "lambdaCode": False}}),
    )
    # the SDK's Python name is "lambda_"; Terraform's is "lambda"
    assert values_of(conv, "aws_inspector2_organization_configuration.insp")["auto_enable"] == [
        {"ec2": True, "ecr": True, "lambda": True, "lambda_code": False}]


def test_json_string_policies_stay_strings():
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    conv = convert(
        res("aws:iam/policy:Policy", "pol", {"name": "pol", "policy": policy}),
        res("aws:kms/key:Key", "key", {"enableKeyRotation": True, "policy": policy, "deletionWindowInDays": 30.0}),
    )
    assert values_of(conv, "aws_iam_policy.pol")["policy"] == policy
    key = values_of(conv, "aws_kms_key.key")
    assert key["policy"] == policy and key["deletion_window_in_days"] == 30


def test_policy_given_as_an_object_becomes_a_json_string():
    doc = {"Version": "2012-10-17", "Statement": []}
    conv = convert(res("aws:iam/role:Role", "role", {"assumeRolePolicy": doc}))
    assert json.loads(values_of(conv, "aws_iam_role.role")["assume_role_policy"]) == doc


# --- addresses and references --------------------------------------------------------------


def test_addresses_unique_stable_and_valid():
    same_a = res("aws:s3/bucket:Bucket", "logs", {"bucket": "a"}, parent="blueprint:a:A")
    same_b = res("aws:s3/bucket:Bucket", "logs", {"bucket": "b"}, parent="blueprint:b:B")
    odd = res("aws:sns/topic:Topic", "alerts.eu-west-1/x", {"name": "t"})
    digit = res("aws:sns/topic:Topic", "1st", {"name": "u"})
    conv = convert(same_a, same_b, odd, digit)
    addresses = conv.addresses
    assert len(set(addresses.values())) == 4
    assert addresses[odd["urn"]] == "aws_sns_topic.alerts_eu-west-1_x"
    assert addresses[digit["urn"]] == "aws_sns_topic._1st"
    assert addresses[same_a["urn"]] != addresses[same_b["urn"]]
    assert all(a.startswith("aws_s3_bucket.logs_") for a in (addresses[same_a["urn"]], addresses[same_b["urn"]]))
    # stable: the same resources in another order get the same addresses
    assert convert(digit, same_b, odd, same_a).addresses == addresses
    # the same name under another type needs no suffix
    assert convert(same_a, res("aws:sns/topic:Topic", "logs", {})).addresses[same_a["urn"]] == "aws_s3_bucket.logs"


@pytest.mark.parametrize("stack", STACKS)
def test_real_plan_addresses_are_unique(stack):
    conv = tfplan.convert(plan_of(stack)[1])
    addresses = [r["address"] for r in conv.plan["planned_values"]["root_module"]["resources"]]
    assert len(addresses) == len(set(addresses))
    assert all(tfplan.SANITIZE.search(a.split(".", 1)[1]) is None for a in addresses)


def test_dependencies_become_terraform_references():
    bucket = res("aws:s3/bucket:Bucket", "b", {"bucket": "acme-logs"}, rid="acme-logs")
    key = res("aws:kms/key:Key", "k", {"enableKeyRotation": True}, rid="1234abcd-12ab")
    account = res("aws:organizations/account:Account", "acct", {"name": "a", "email": "a@x"}, rid="123456789012")
    policy = json.dumps({"Statement": [{"Resource": "arn:aws:s3:::acme-logs/*"}]})
    pab = res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab",
              {"bucket": "acme-logs", "blockPublicAcls": True}, deps={"bucket": [bucket["urn"]]})
    bp = res("aws:s3/bucketPolicy:BucketPolicy", "bp", {"bucket": "acme-logs", "policy": policy},
             deps={"bucket": [bucket["urn"]], "policy": [bucket["urn"]]})
    lg = res("aws:cloudwatch/logGroup:LogGroup", "lg", {"name": "/x", "kmsKeyId": "arn:aws:kms:us-east-1:1:key/1234abcd-12ab"},
             deps={"kmsKeyId": [key["urn"]]})
    other = res("aws:s3/bucket:Bucket", "named", {"bucket": "acme-x-123456789012"}, deps={"bucket": [account["urn"]]})
    conv = convert(bucket, key, account, pab, bp, lg, other)

    assert expressions_of(conv, "aws_s3_bucket_public_access_block.pab") == {
        "bucket": {"references": ["aws_s3_bucket.b.id", "aws_s3_bucket.b"]}}
    assert "bucket" not in values_of(conv, "aws_s3_bucket_public_access_block.pab")  # known after apply
    assert expressions_of(conv, "aws_cloudwatch_log_group.lg") == {
        "kms_key_id": {"references": ["aws_kms_key.k.arn", "aws_kms_key.k"]}}
    # a JSON document that mentions the bucket stays a literal
    assert values_of(conv, "aws_s3_bucket_policy.bp")["policy"] == policy
    # a name that merely embeds an account id is not a reference to the account
    assert expressions_of(conv, "aws_s3_bucket.named") == {}
    assert values_of(conv, "aws_s3_bucket.named")["bucket"] == "acme-x-123456789012"
    change = next(c for c in conv.plan["resource_changes"] if c["address"] == "aws_s3_bucket_public_access_block.pab")
    assert change["change"]["after_unknown"] == {"bucket": True}


# --- document shape ------------------------------------------------------------------------


def test_terraform_plan_document_shape(tmp_path):
    provider = res("pulumi:providers:aws", "log-archive", {
        "region": "eu-west-1", "skipCredentialsValidation": "false",
        "assumeRoles": json.dumps([{"roleArn": "arn:aws:iam::1:role/OrganizationAccountAccessRole", "sessionName": "s"}]),
        "defaultTags": json.dumps({"tags": {"managed-by": "pulumi"}}),
    }, rid="prov-id")
    topic = res("aws:sns/topic:Topic", "t", {"name": "t"}, provider=f"{provider['urn']}::prov-id")
    path, conv = tfplan.export({"stack": "unit", "resources": [provider, topic]}, tmp_path)
    assert path == tmp_path / "tfplan-unit.json"
    doc = json.loads(path.read_text())
    assert doc["format_version"] and doc["terraform_version"]
    (planned,) = doc["planned_values"]["root_module"]["resources"]
    assert planned == {
        "address": "aws_sns_topic.t", "mode": "managed", "type": "aws_sns_topic", "name": "t",
        "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0,
        "values": {"name": "t"}, "sensitive_values": {},
    }
    (change,) = doc["resource_changes"]
    assert change["change"]["actions"] == ["create"] and change["change"]["after"] == planned["values"]
    (conf,) = doc["configuration"]["root_module"]["resources"]
    assert conf["provider_config_key"] == "aws.log-archive"
    prov = doc["configuration"]["provider_config"]["aws.log-archive"]
    assert prov["alias"] == "log-archive"
    assert prov["expressions"]["assume_role"]["constant_value"] == [
        {"role_arn": "arn:aws:iam::1:role/OrganizationAccountAccessRole", "session_name": "s"}]
    assert prov["expressions"]["skip_credentials_validation"]["constant_value"] is False
    assert prov["expressions"]["default_tags"]["constant_value"] == [{"tags": {"managed-by": "pulumi"}}]
    assert doc["pulumi"]["resources"]["aws_sns_topic.t"] == {"urn": topic["urn"], "type": "aws:sns/topic:Topic"}


def test_cli_writes_the_export(tmp_path, capsys):
    plan_file = tmp_path / "plan-unit.json"
    plan_file.write_text(json.dumps({"stack": "unit", "resources": [res("aws:sns/topic:Topic", "t", {"name": "t"})]}))
    assert tfplan.main(["--plan", str(plan_file), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "tfplan-unit.json").exists()
    assert "1 resources" in capsys.readouterr().out
