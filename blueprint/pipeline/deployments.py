"""Canary and linear deployments: the platform's catalogue of CodeDeploy configs, and the
CodeDeploy part of the deploy-roles template (application, service role, configs, alarms and
one deployment group per team account).

Deployment configs are create-only (CodeDeploy has no UpdateDeploymentConfig) and must live
in the account of the group that uses them. So every team account gets the *whole*
catalogue through the deploy-roles StackSet, each config named by its parameters
(``secure-org.LambdaCanary10Percent15Minutes``): changing a team's strategy only points its
group at another existing name, and no config is ever updated or deleted while in use.
Onboarding a team changes no config either: the catalogue is the same in every account.

Groups roll back on DEPLOYMENT_FAILURE and DEPLOYMENT_STOP_ON_ALARM and watch the platform's
default alarms, whose dimensions name the team's real target (alias, load balancer and
target groups, Auto Scaling groups), plus up to the team's own alarms (10 in all).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREFIX = "secure-org."
CUSTOM_CONFIG_LIMIT = 50  # per account and region, not adjustable
MAX_ALARMS = 10  # per deployment group (CloudFormation and CodeDeploy monitoring docs)
MAX_ASGS = 4  # Auto Scaling group slots of a Server group (one status-check alarm each)
# Lambda: 50 h per deployment, of which at most 48 h between the first and the last shift.
# ECS: at most 120 h of traffic shifting. Server (zonal): bake time we allow after a zone.
MAX_SHIFT_MINUTES = {"Lambda": 2880, "ECS": 7200, "Server": 2880}
ALL_AT_ONCE = {"Lambda": "CodeDeployDefault.LambdaAllAtOnce", "ECS": "CodeDeployDefault.ECSAllAtOnce",
               "Server": "CodeDeployDefault.AllAtOnce"}
PLATFORMS = {"lambda": "Lambda", "ecs": "ECS", "server": "Server"}  # config value -> CodeDeploy compute platform


@dataclass(frozen=True)
class Gradual:
    """One catalogue entry. Lambda/ECS: shift ``percentage`` of traffic, then wait
    ``interval`` minutes (canary: once, then the rest; linear: every step). Server (zonal,
    in place): at most ``percentage`` of hosts out at a time; canary bakes ``interval``
    minutes after the first Availability Zone, linear after every zone."""

    platform: str  # Lambda | ECS | Server
    kind: str  # canary | linear
    percentage: int
    interval: int

    @property
    def name(self) -> str:
        unit = "Minute" if self.interval == 1 else "Minutes"
        how = f"Canary{self.percentage}Percent{self.interval}{unit}" if self.kind == "canary" else \
            f"Linear{self.percentage}PercentEvery{self.interval}{unit}"
        return f"{PREFIX}{self.platform}{how}"

    @property
    def logical_id(self) -> str:
        return "Config" + self.name.removeprefix(PREFIX)

    def shift_minutes(self) -> int:
        """Minutes between the first and the last traffic shift (AWS's duration limits)."""
        if self.kind == "canary":
            return self.interval
        return (-(-100 // self.percentage) - 1) * self.interval

    def resource(self, condition: str) -> dict[str, Any]:
        props: dict[str, Any] = {"DeploymentConfigName": self.name, "ComputePlatform": self.platform}
        if self.platform == "Server":
            # Within each zone at most `percentage` of the hosts are out of service.
            healthy = {"Type": "FLEET_PERCENT", "Value": 100 - self.percentage}
            props["MinimumHealthyHosts"] = healthy
            props["ZonalConfig"] = {
                "FirstZoneMonitorDurationInSeconds": self.interval * 60,
                "MonitorDurationInSeconds": self.interval * 60 if self.kind == "linear" else 60,
                "MinimumHealthyHostsPerZone": healthy,
            }
        else:
            kind = "TimeBasedCanary" if self.kind == "canary" else "TimeBasedLinear"
            word = "Canary" if self.kind == "canary" else "Linear"
            props["TrafficRoutingConfig"] = {"Type": kind, kind: {f"{word}Percentage": self.percentage, f"{word}Interval": self.interval}}
        return {"Type": "AWS::CodeDeploy::DeploymentConfig", "Condition": condition, "Properties": props}


def _entries() -> tuple[Gradual, ...]:
    out = []
    for platform in ("Lambda", "ECS"):
        out += [Gradual(platform, "canary", p, i) for p, i in ((10, 5), (10, 15), (10, 30), (25, 15))]
        out += [Gradual(platform, "linear", p, i) for p, i in ((10, 1), (10, 3), (10, 10), (20, 5))]
    out += [Gradual("Server", "canary", p, i) for p, i in ((10, 15), (25, 15))]
    out += [Gradual("Server", "linear", p, i) for p, i in ((25, 5), (50, 10))]
    return tuple(out)


CATALOGUE: tuple[Gradual, ...] = _entries()
BY_NAME = {g.name: g for g in CATALOGUE}


def find(platform: str, kind: str, percentage: int, interval: int) -> Gradual | None:
    return BY_NAME.get(Gradual(platform, kind, percentage, interval).name)


def choices(platform: str) -> list[str]:
    """Human-readable options for error messages: 'canary 10% / 15 min'."""
    return [f"{g.kind} {g.percentage}%/{g.interval}min" for g in CATALOGUE if g.platform == platform]


def config_name(platform: str, kind: str, percentage: int | None, interval: int | None) -> str:
    if kind == "all-at-once":
        return ALL_AT_ONCE[platform]
    got = find(platform, kind, percentage or 0, interval or 0)
    if got is None:
        raise ValueError(f"no {platform} {kind} {percentage}%/{interval}min config in the catalogue")
    return got.name


# --------------------------------------------------------------------------- template
NONE = "none"
ASSIGNED, LAMBDA, ECS, SERVER = "Assigned", "IsLambda", "IsEcs", "IsServer"
# Only the accounts the pipeline deploys to (test, prod) get alarms and a group: dev has no target.
DEPLOYS, D_LAMBDA, D_ECS, D_SERVER = "Deploys", "DeploysLambda", "DeploysEcs", "DeploysServer"
HAS_LB = "HasLoadBalancer"
HAS_TEST_ROUTE = "HasTestListener"
EXTRA_SLOTS = MAX_ALARMS - 2  # Lambda has the fewest default alarms (2)
NAME = r"^(none|[\w+=,.@/:-]{1,255})$"
PARAMETERS: dict[str, dict[str, Any]] = {
    "LambdaFunction": {"Type": "String", "Default": NONE, "AllowedPattern": r"^(none|[a-z][a-z0-9-]{1,30}[a-z0-9]-[A-Za-z0-9_-]{1,30})$", "Description": "Lambda: the team's function (<team>-...) whose alias CodeDeploy shifts"},
    "LambdaAlias": {"Type": "String", "Default": "live", "AllowedPattern": r"^[A-Za-z0-9_-]{1,128}$", "Description": "Lambda: the alias"},
    "EcsCluster": {"Type": "String", "Default": NONE, "AllowedPattern": r"^[A-Za-z0-9_-]{1,255}$", "Description": "ECS: cluster of the service"},
    "EcsService": {"Type": "String", "Default": NONE, "AllowedPattern": r"^[A-Za-z0-9_-]{1,255}$", "Description": "ECS: service (deployment controller CODE_DEPLOY)"},
    "ProdListenerArn": {"Type": "String", "Default": NONE, "AllowedPattern": NAME, "Description": "ECS: production listener"},
    "TestListenerArn": {"Type": "String", "Default": NONE, "AllowedPattern": NAME, "Description": "ECS: optional test listener"},
    "BlueTargetGroup": {"Type": "String", "Default": NONE, "AllowedPattern": NAME, "Description": "ECS: first target group, as its CloudWatch dimension targetgroup/<name>/<id>"},
    "GreenTargetGroup": {"Type": "String", "Default": NONE, "AllowedPattern": NAME, "Description": "ECS: second target group (dimension)"},
    "BlueTargetGroupName": {"Type": "String", "Default": NONE, "AllowedPattern": NAME, "Description": "ECS: first target group's name"},
    "GreenTargetGroupName": {"Type": "String", "Default": NONE, "AllowedPattern": NAME, "Description": "ECS: second target group's name"},
    "LoadBalancer": {"Type": "String", "Default": NONE, "AllowedPattern": NAME, "Description": "ECS/Server: the ALB as its CloudWatch dimension app/<name>/<id> (5xx alarm)"},
    **{f"AutoScalingGroup{i}": {"Type": "String", "Default": NONE, "AllowedPattern": NAME, "Description": f"Server: Auto Scaling group {i}"}
       for i in range(1, MAX_ASGS + 1)},
    **{f"ExtraAlarm{i}": {"Type": "String", "Default": NONE, "AllowedPattern": NAME, "Description": f"Team's own rollback alarm {i}"}
       for i in range(1, EXTRA_SLOTS + 1)},
    "AllAtOnceExemption": {"Type": "String", "Default": NONE, "AllowedPattern": r"^[\w .:/=+@-]{1,256}$", "Description": "'<expires> <reason>' when this group may deploy all at once in prod; tagged on the group"},
}


def _ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _set(param: str) -> dict[str, Any]:
    return {"Fn::Not": [{"Fn::Equals": [_ref(param), NONE]}]}


def _and(*conds: Any) -> dict[str, Any]:
    return {"Fn::And": [c if isinstance(c, dict) else {"Condition": c} for c in conds]}


def conditions() -> dict[str, Any]:
    env = lambda e: {"Fn::Equals": [_ref("Environment"), e]}  # noqa: E731
    out = {DEPLOYS: _and(ASSIGNED, {"Fn::Or": [env("test"), env("prod")]}),
           D_LAMBDA: _and(DEPLOYS, LAMBDA), D_ECS: _and(DEPLOYS, ECS), D_SERVER: _and(DEPLOYS, SERVER),
           HAS_LB: _and({"Fn::Or": [{"Condition": D_ECS}, {"Condition": D_SERVER}]}, _set("LoadBalancer")),
           HAS_TEST_ROUTE: _and(D_ECS, _set("TestListenerArn"))}
    out.update({f"HasAutoScalingGroup{i}": _and(D_SERVER, _set(f"AutoScalingGroup{i}")) for i in range(1, MAX_ASGS + 1)})
    out.update({f"HasExtraAlarm{i}": _and(DEPLOYS, _set(f"ExtraAlarm{i}")) for i in range(1, EXTRA_SLOTS + 1)})
    out["HasExemption"] = _and(DEPLOYS, _set("AllAtOnceExemption"))
    return out


def _alarm(condition: str, what: str, namespace: str, metric: str, stat: str, dims: list[tuple[str, Any]], threshold: int = 1) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Condition": condition,
        "Properties": {
            "AlarmName": _sub(f"${{Team}}-${{Environment}}-{what}"),
            "AlarmDescription": "secure-org: rolls back the team's deployment",
            "Namespace": namespace, "MetricName": metric, "Statistic": stat,
            "Dimensions": [{"Name": n, "Value": v} for n, v in dims],
            # 2 of 3 one-minute periods: one noisy minute does not roll back; no data is healthy.
            "Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
        },
    }


def alarms() -> dict[str, dict[str, Any]]:
    """Default rollback alarms per platform, with dimensions that receive data."""
    fn, alias = _ref("LambdaFunction"), _sub("${LambdaFunction}:${LambdaAlias}")
    lb = _ref("LoadBalancer")
    out = {
        # Lambda publishes per alias under Resource=<function>:<alias> (with FunctionName).
        "LambdaErrorsAlarm": _alarm(D_LAMBDA, "lambda-errors", "AWS/Lambda", "Errors", "Sum", [("FunctionName", fn), ("Resource", alias)]),
        "LambdaThrottlesAlarm": _alarm(D_LAMBDA, "lambda-throttles", "AWS/Lambda", "Throttles", "Sum", [("FunctionName", fn), ("Resource", alias)]),
        # The load balancer, not a target group: traffic moves between the two groups.
        "Alb5xxAlarm": _alarm(HAS_LB, "alb-5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", [("LoadBalancer", lb)], threshold=5),
        "BlueUnhealthyAlarm": _alarm(D_ECS, "blue-unhealthy", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum",
                                     [("TargetGroup", _ref("BlueTargetGroup")), ("LoadBalancer", lb)]),
        "GreenUnhealthyAlarm": _alarm(D_ECS, "green-unhealthy", "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum",
                                      [("TargetGroup", _ref("GreenTargetGroup")), ("LoadBalancer", lb)]),
    }
    for i in range(1, MAX_ASGS + 1):
        out[f"StatusCheck{i}Alarm"] = _alarm(f"HasAutoScalingGroup{i}", f"asg{i}-status-check", "AWS/EC2", "StatusCheckFailed", "Maximum",
                                             [("AutoScalingGroupName", _ref(f"AutoScalingGroup{i}"))])
    return out


def _if(cond: str, value: Any) -> dict[str, Any]:
    return {"Fn::If": [cond, value, _ref("AWS::NoValue")]}


def group() -> dict[str, Any]:
    alarm_list = [_if(res["Condition"], {"Name": _ref(lid)}) for lid, res in alarms().items()]
    alarm_list += [_if(f"HasExtraAlarm{i}", {"Name": _ref(f"ExtraAlarm{i}")}) for i in range(1, EXTRA_SLOTS + 1)]
    route = lambda p: {"ListenerArns": [_ref(p)]}  # noqa: E731
    return {
        "Type": "AWS::CodeDeploy::DeploymentGroup",
        "Condition": DEPLOYS,
        # The group may name any catalogue config: they all exist before it.
        "DependsOn": [g.logical_id for g in CATALOGUE],
        "Properties": {
            "ApplicationName": _ref("Application"),
            "DeploymentGroupName": _sub("${Team}-${Environment}"),
            "DeploymentConfigName": _ref("DeploymentConfigName"),
            "ServiceRoleArn": {"Fn::GetAtt": ["CodeDeployServiceRole", "Arn"]},
            "AutoRollbackConfiguration": {"Enabled": True, "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
            "AlarmConfiguration": {"Enabled": True, "Alarms": alarm_list},
            "DeploymentStyle": {
                "DeploymentType": {"Fn::If": [SERVER, "IN_PLACE", "BLUE_GREEN"]},
                "DeploymentOption": {"Fn::If": [SERVER, "WITHOUT_TRAFFIC_CONTROL", "WITH_TRAFFIC_CONTROL"]},
            },
            "BlueGreenDeploymentConfiguration": _if(ECS, {
                "DeploymentReadyOption": {"ActionOnTimeout": "CONTINUE_DEPLOYMENT", "WaitTimeInMinutes": 0},
                "TerminateBlueInstancesOnDeploymentSuccess": {"Action": "TERMINATE", "TerminationWaitTimeInMinutes": 5},
            }),
            "ECSServices": _if(ECS, [{"ClusterName": _ref("EcsCluster"), "ServiceName": _ref("EcsService")}]),
            "LoadBalancerInfo": _if(ECS, {"TargetGroupPairInfoList": [{
                "ProdTrafficRoute": route("ProdListenerArn"),
                "TestTrafficRoute": _if(HAS_TEST_ROUTE, route("TestListenerArn")),
                "TargetGroups": [{"Name": _ref("BlueTargetGroupName")}, {"Name": _ref("GreenTargetGroupName")}],
            }]}),
            # Server: the Auto Scaling groups named in config, and instances tagged with both tags.
            "AutoScalingGroups": {"Fn::If": [SERVER, [_if(f"HasAutoScalingGroup{i}", _ref(f"AutoScalingGroup{i}")) for i in range(1, MAX_ASGS + 1)],
                                             _ref("AWS::NoValue")]},
            "Ec2TagSet": _if(SERVER, {"Ec2TagSetList": [
                {"Ec2TagGroup": [{"Key": "team", "Value": _ref("Team"), "Type": "KEY_AND_VALUE"}]},
                {"Ec2TagGroup": [{"Key": "environment", "Value": _ref("Environment"), "Type": "KEY_AND_VALUE"}]},
            ]}),
            # CrossGuard reads these: prod groups deploy gradually unless an exemption (with expiry) is tagged.
            "Tags": [{"Key": "team", "Value": _ref("Team")}, {"Key": "environment", "Value": _ref("Environment")},
                     _if("HasExemption", {"Key": "secure-org:all-at-once-exemption", "Value": _ref("AllAtOnceExemption")})],
        },
    }


def resources() -> dict[str, Any]:
    managed = {
        "Server": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSCodeDeployRole",
        "Lambda": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSCodeDeployRoleForLambda",
        "ECS": "arn:${AWS::Partition}:iam::aws:policy/AWSCodeDeployRoleForECS",
    }
    policy_arn = {"Fn::If": [LAMBDA, _sub(managed["Lambda"]), {"Fn::If": [ECS, _sub(managed["ECS"]), _sub(managed["Server"])]}]}
    out: dict[str, Any] = {
        "CodeDeployServiceRole": {
            "Type": "AWS::IAM::Role",
            "Condition": ASSIGNED,
            "Properties": {
                "RoleName": _sub("${Team}-codedeploy"),
                "Description": "CodeDeploy service role for the team's application",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "codedeploy.amazonaws.com"}, "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:SourceAccount": _ref("AWS::AccountId")}}}]},
                "ManagedPolicyArns": [policy_arn],
                "MaxSessionDuration": 3600,
            },
        },
        "Application": {
            "Type": "AWS::CodeDeploy::Application",
            "Condition": ASSIGNED,
            "Properties": {"ApplicationName": _ref("Team"), "ComputePlatform": _ref("ComputePlatform")},
        },
        **{g.logical_id: g.resource(ASSIGNED) for g in CATALOGUE},
        **alarms(),
        "DeploymentGroup": group(),
    }
    return out
