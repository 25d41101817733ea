"""The template's groups and configs as CodeDeploy's API takes them.

moto (mock_aws) implements applications, deployment groups and deployments, so the
resolved groups are created there and a deployment is started against each. moto lacks the
deployment-config API (create/get_deployment_config raise NotImplemented), so those calls go
through botocore's Stubber with responses in the real service's shape: that checks our
catalogue against botocore's request model (names, types, required fields).
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from blueprint.pipeline import deployments as dep
from tests.pipeline.test_deployments import ECS, LAMBDA, SERVER, resolved

REGION = "eu-west-1"


def _lower(props: dict) -> dict:
    """CloudFormation's property names -> the API's (camelCase), for the catalogue's shapes."""
    out = {}
    for k, v in props.items():
        key = k[0].lower() + k[1:]
        out[key] = _lower(v) if isinstance(v, dict) else v
    return out


@pytest.mark.parametrize("config", dep.CATALOGUE, ids=lambda g: g.name)
def test_every_catalogue_config_is_a_valid_create_deployment_config_request(config):
    props = config.resource("Assigned")["Properties"]
    request = _lower(props)
    client = boto3.client("codedeploy", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_response("create_deployment_config", {"deploymentConfigId": "5f1dbe72-0aab-8e18-4a5b-6c7d8e9f0a1b"}, request)
        assert client.create_deployment_config(**request)["deploymentConfigId"]
        stub.assert_no_pending_responses()


def test_a_config_in_use_cannot_be_deleted_so_the_catalogue_never_is():
    client = boto3.client("codedeploy", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("delete_deployment_config", "DeploymentConfigInUseException",
                              "The deployment configuration is still in use.", 400)
        with pytest.raises(client.exceptions.DeploymentConfigInUseException):
            client.delete_deployment_config(deploymentConfigName="secure-org.LambdaCanary10Percent15Minutes")


def test_throttled_config_lookup_surfaces_as_a_client_error():
    client = boto3.client("codedeploy", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("get_deployment_config", "ThrottlingException", "Rate exceeded", 400)
        with pytest.raises(client.exceptions.ClientError, match="ThrottlingException"):
            client.get_deployment_config(deploymentConfigName="secure-org.ECSCanary10Percent5Minutes")


def _group_request(props: dict) -> dict:
    req = {"applicationName": "payments", "deploymentGroupName": props["DeploymentGroupName"],
           "deploymentConfigName": props["DeploymentConfigName"], "serviceRoleArn": "arn:aws:iam::123456789012:role/payments-codedeploy",
           "autoRollbackConfiguration": {"enabled": True, "events": props["AutoRollbackConfiguration"]["Events"]},
           "alarmConfiguration": {"enabled": True, "alarms": [{"name": a["Name"]} for a in props["AlarmConfiguration"]["Alarms"]]},
           "deploymentStyle": {"deploymentType": props["DeploymentStyle"]["DeploymentType"],
                               "deploymentOption": props["DeploymentStyle"]["DeploymentOption"]}}
    if "AutoScalingGroups" in props:
        req["autoScalingGroups"] = props["AutoScalingGroups"]
    if "ECSServices" in props:
        req["ecsServices"] = [{"serviceName": s["ServiceName"], "clusterName": s["ClusterName"]} for s in props["ECSServices"]]
    return req


@pytest.mark.parametrize("params", [LAMBDA, ECS, SERVER], ids=["Lambda", "ECS", "Server"])
def test_groups_create_and_deploy_in_moto_with_rollback_and_alarms(params):
    props = resolved(params)["DeploymentGroup"]["Properties"]
    with mock_aws():
        cd = boto3.client("codedeploy", region_name=REGION)
        cd.create_application(applicationName="payments", computePlatform=params["ComputePlatform"])
        request = _group_request(props)
        cd.create_deployment_group(**request)  # botocore validates the request's shape client-side
        got = cd.get_deployment_group(applicationName="payments", deploymentGroupName="payments-prod")["deploymentGroupInfo"]
        assert got["deploymentConfigName"] == params["DeploymentConfigName"]
        assert got["autoRollbackConfiguration"] == {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
        # moto 5.2.5 stores but does not return alarmConfiguration: check what we sent.
        assert request["alarmConfiguration"]["enabled"] and 1 <= len(request["alarmConfiguration"]["alarms"]) <= dep.MAX_ALARMS
        dep_id = cd.create_deployment(applicationName="payments", deploymentGroupName="payments-prod",
                                      revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}})["deploymentId"]
        assert cd.get_deployment(deploymentId=dep_id)["deploymentInfo"]["deploymentGroupName"] == "payments-prod"


def test_moto_does_not_police_the_alarm_limit_so_our_template_must():
    """moto accepts 11 alarms (AWS does not): the 10-alarm bound is ours to enforce (config, template, CrossGuard)."""
    with mock_aws():
        cd = boto3.client("codedeploy", region_name=REGION)
        cd.create_application(applicationName="a", computePlatform="Lambda")
        cd.create_deployment_group(applicationName="a", deploymentGroupName="g", serviceRoleArn="arn:aws:iam::123456789012:role/r",
                                   alarmConfiguration={"enabled": True, "alarms": [{"name": f"a{i}"} for i in range(11)]})
    assert dep.EXTRA_SLOTS + 2 == dep.MAX_ALARMS  # the template's slots cannot exceed it


def test_malformed_group_request_is_rejected_client_side():
    client = boto3.client("codedeploy", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with pytest.raises(Exception, match="Parameter validation failed"):
        client.create_deployment_group(applicationName="a", deploymentGroupName="g", serviceRoleArn="r",
                                       autoRollbackConfiguration={"enabled": "yes", "events": "DEPLOYMENT_FAILURE"})
