"""The catalogue of deployment configs and the CodeDeploy part of the deploy-roles template,
resolved per platform as CloudFormation would (blueprint.access.cfn resolves the intrinsics)."""

from __future__ import annotations

import json

import pytest

from blueprint.access.cfn import Resolver
from blueprint.pipeline import deploy_roles as dr
from blueprint.pipeline import deployments as dep

BASE = {"OrgId": "o-abcdefghij", "ToolingAccountId": "222222222222", "Team": "payments", "Environment": "prod",
        "PipelineRoleArn": "arn:aws:iam::222222222222:role/payments-codepipeline", "ArtifactBucketName": "payments-pipeline-222222222222",
        "ArtifactKeyArn": "arn:aws:kms:eu-west-1:222222222222:key/abc"}
LAMBDA = {**BASE, "ComputePlatform": "Lambda", "DeploymentConfigName": "secure-org.LambdaCanary10Percent15Minutes",
          "LambdaFunction": "payments-api", "LambdaAlias": "live", "ExtraAlarm1": "payments-latency"}
ECS = {**BASE, "ComputePlatform": "ECS", "DeploymentConfigName": "secure-org.ECSCanary10Percent30Minutes", "EcsCluster": "c", "EcsService": "s",
       "ProdListenerArn": "arn:aws:elasticloadbalancing:eu-west-1:333333333333:listener/app/lb/0123456789abcdef/0123456789abcdef",
       "LoadBalancer": "app/lb/0123456789abcdef", "BlueTargetGroup": "targetgroup/b/0123456789abcdef",
       "GreenTargetGroup": "targetgroup/g/0123456789abcdef", "BlueTargetGroupName": "b", "GreenTargetGroupName": "g"}
SERVER = {**BASE, "ComputePlatform": "Server", "DeploymentConfigName": "secure-org.ServerCanary10Percent15Minutes",
          "AutoScalingGroup1": "web-a", "AutoScalingGroup2": "web-b", "LoadBalancer": "app/lb/0123456789abcdef"}


def resolved(params: dict) -> dict[str, dict]:
    t = dr.template()
    r = Resolver(t, params, "333333333333", "eu-west-1", "s")
    return {k: {"Type": v["Type"], "Properties": r.value(v.get("Properties") or {})}
            for k, v in t["Resources"].items() if "Condition" not in v or r.condition(v["Condition"])}


def test_catalogue_names_encode_parameters_and_fit_the_account_limit():
    assert len(dep.CATALOGUE) == len(dep.BY_NAME) <= dep.CUSTOM_CONFIG_LIMIT // 2  # half the 50 left to the team
    assert "secure-org.LambdaCanary10Percent15Minutes" in dep.BY_NAME and "secure-org.ECSLinear10PercentEvery1Minute" in dep.BY_NAME
    for g in dep.CATALOGUE:
        assert g.percentage in range(1, 100) and g.interval >= 1
        assert g.shift_minutes() <= dep.MAX_SHIFT_MINUTES[g.platform], g.name
        assert len(g.name) <= 100 and g.name.startswith(dep.PREFIX)


def test_linear_shift_time_is_counted_between_first_and_last_shift():
    assert dep.Gradual("Lambda", "linear", 10, 10).shift_minutes() == 90
    assert dep.Gradual("Lambda", "linear", 30, 10).shift_minutes() == 30  # 30, 60, 90, 100: three waits
    assert dep.Gradual("Lambda", "canary", 10, 30).shift_minutes() == 30


def test_every_assigned_account_gets_the_whole_catalogue_whatever_its_platform():
    for params in (LAMBDA, ECS, SERVER, {**LAMBDA, "Environment": "dev"}):
        res = resolved(params)
        configs = {v["Properties"]["DeploymentConfigName"]: v["Properties"] for v in res.values() if v["Type"] == "AWS::CodeDeploy::DeploymentConfig"}
        assert set(configs) == set(dep.BY_NAME)
    c = configs["secure-org.LambdaCanary10Percent15Minutes"]
    assert c["TrafficRoutingConfig"] == {"Type": "TimeBasedCanary", "TimeBasedCanary": {"CanaryPercentage": 10, "CanaryInterval": 15}}
    z = configs["secure-org.ServerCanary10Percent15Minutes"]
    assert z["MinimumHealthyHosts"] == {"Type": "FLEET_PERCENT", "Value": 90} and z["ZonalConfig"]["FirstZoneMonitorDurationInSeconds"] == 900


def test_group_depends_on_every_config_so_any_strategy_change_is_a_rename_only():
    group = dr.template()["Resources"]["DeploymentGroup"]
    assert set(group["DependsOn"]) == {g.logical_id for g in dep.CATALOGUE}
    assert group["Properties"]["DeploymentConfigName"] == {"Ref": "DeploymentConfigName"}


def _group(params: dict) -> tuple[dict, dict]:
    res = resolved(params)
    alarms = {v["Properties"]["AlarmName"]: v["Properties"] for v in res.values() if v["Type"] == "AWS::CloudWatch::Alarm"}
    return res["DeploymentGroup"]["Properties"], alarms


@pytest.mark.parametrize("params,expected", [
    (LAMBDA, {"payments-prod-lambda-errors": {"FunctionName": "payments-api", "Resource": "payments-api:live"},
              "payments-prod-lambda-throttles": {"FunctionName": "payments-api", "Resource": "payments-api:live"}}),
    (ECS, {"payments-prod-alb-5xx": {"LoadBalancer": "app/lb/0123456789abcdef"},
           "payments-prod-blue-unhealthy": {"TargetGroup": "targetgroup/b/0123456789abcdef", "LoadBalancer": "app/lb/0123456789abcdef"},
           "payments-prod-green-unhealthy": {"TargetGroup": "targetgroup/g/0123456789abcdef", "LoadBalancer": "app/lb/0123456789abcdef"}}),
    (SERVER, {"payments-prod-asg1-status-check": {"AutoScalingGroupName": "web-a"},
              "payments-prod-asg2-status-check": {"AutoScalingGroupName": "web-b"},
              "payments-prod-alb-5xx": {"LoadBalancer": "app/lb/0123456789abcdef"}}),
], ids=["lambda", "ecs", "server"])
def test_default_alarms_have_dimensions_of_the_real_target(params, expected):
    group, alarms = _group(params)
    assert {n: {d["Name"]: d["Value"] for d in a["Dimensions"]} for n, a in alarms.items()} == expected
    names = [a["Name"] for a in group["AlarmConfiguration"]["Alarms"]]
    assert set(expected) <= set(names) and 1 <= len(names) <= dep.MAX_ALARMS
    assert group["AutoRollbackConfiguration"] == {"Enabled": True, "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
    assert all(a["TreatMissingData"] == "notBreaching" and a["Period"] == 60 for a in alarms.values())


def test_team_alarms_join_the_defaults():
    group, _ = _group(LAMBDA)
    assert [a["Name"] for a in group["AlarmConfiguration"]["Alarms"]][-1] == "payments-latency"


def test_ecs_group_is_blue_green_with_the_target_group_pair():
    group, _ = _group({**ECS, "TestListenerArn": ECS["ProdListenerArn"][:-1] + "0"})
    assert group["DeploymentStyle"] == {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"}
    assert group["ECSServices"] == [{"ClusterName": "c", "ServiceName": "s"}]
    (pair,) = group["LoadBalancerInfo"]["TargetGroupPairInfoList"]
    assert pair["TargetGroups"] == [{"Name": "b"}, {"Name": "g"}]
    assert pair["ProdTrafficRoute"] == {"ListenerArns": [ECS["ProdListenerArn"]]} and "TestTrafficRoute" in pair
    assert "TestTrafficRoute" not in _group(ECS)[0]["LoadBalancerInfo"]["TargetGroupPairInfoList"][0]
    assert "Ec2TagSet" not in group and "AutoScalingGroups" not in group


def test_server_group_is_in_place_on_its_auto_scaling_groups_and_tags():
    group, _ = _group(SERVER)
    assert group["DeploymentStyle"]["DeploymentType"] == "IN_PLACE"
    assert group["AutoScalingGroups"] == ["web-a", "web-b"]
    assert len(group["Ec2TagSet"]["Ec2TagSetList"]) == 2 and "ECSServices" not in group


def test_dev_accounts_get_no_group_and_no_alarms():
    res = resolved({**LAMBDA, "Environment": "dev"})
    assert "DeploymentGroup" not in res and not any(v["Type"] == "AWS::CloudWatch::Alarm" for v in res.values())


def test_prod_exemption_is_tagged_on_the_group():
    group, _ = _group({**SERVER, "DeploymentConfigName": "CodeDeployDefault.AllAtOnce", "AllAtOnceExemption": "2099-01-01 legacy batch host"})
    tags = {t["Key"]: t["Value"] for t in group["Tags"]}
    assert tags == {"team": "payments", "environment": "prod", "secure-org:all-at-once-exemption": "2099-01-01 legacy batch host"}


def test_team_roles_cannot_change_groups_or_delete_the_catalogue():
    res = resolved(LAMBDA)
    for lid in ("CfnExecutionRole", "DeployRole", "WorkloadBoundary"):
        props = res[lid]["Properties"]
        doc = props["PolicyDocument"] if lid == "WorkloadBoundary" else props["Policies"][0]["PolicyDocument"]
        by_sid = {s["Sid"]: s for s in doc["Statement"]}
        assert by_sid["DenyDeploymentGroupChanges"]["Effect"] == "Deny"
        assert {"codedeploy:UpdateDeploymentGroup", "codedeploy:DeleteDeploymentGroup"} <= set(by_sid["DenyDeploymentGroupChanges"]["Action"])
        assert "codedeploy:DeleteDeploymentConfig" in by_sid["DenyDeploymentGroupChanges"]["Action"]
        assert not any(a.startswith("codedeploy:Get") for a in by_sid["DenyDeploymentGroupChanges"]["Action"])  # deployments read


def test_template_stays_within_the_body_limit_with_room_to_spare():
    assert len(dr.template_body().encode()) < dr.TEMPLATE_BODY_LIMIT - 2_000
    json.loads(dr.template_body())
