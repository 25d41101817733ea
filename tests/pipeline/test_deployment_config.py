"""The ``pipeline.deployment`` block: validation with key paths, and what it hands the template."""

from __future__ import annotations

from datetime import date

import pytest

from blueprint.config import ConfigError, parse
from blueprint.deployment_config import Deployment
from tests.conftest import stack_raw

LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/shop/0123456789abcdef/fedcba9876543210"
TG = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/{}/0123456789abcdef"
ECS_TARGET = {"cluster": "shop", "service": "web", "listener_arn": LISTENER, "target_group_arns": [TG.format("blue"), TG.format("green")]}


def errors(deployment: dict, team: int = 0) -> list[str]:
    raw = stack_raw("prod")
    raw["teams"][team]["pipeline"]["deployment"] = deployment
    with pytest.raises(ConfigError) as exc:
        parse(raw, "Pulumi.prod.yaml")
    return exc.value.lines()


def test_the_prod_stack_has_a_team_per_platform():
    raw = stack_raw("prod")
    platforms = {t["pipeline"].get("deployment", {}).get("platform", "lambda") for t in raw["teams"] if "pipeline" in t}
    assert platforms == {"lambda", "ecs", "server"}


def test_all_at_once_in_prod_needs_an_exemption_naming_file_and_path():
    (line,) = errors({"prod": {"strategy": {"type": "all-at-once"}}})
    assert line.startswith("Pulumi.prod.yaml: teams[0].pipeline.deployment:")
    assert "all-at-once in production needs all_at_once_exemption" in line
    ok = Deployment.model_validate({"prod": {"strategy": {"type": "all-at-once"},
                                             "all_at_once_exemption": {"reason": "legacy batch, no traffic to shift", "expires": "2099-01-01"}}})
    assert ok.config_name("prod") == "CodeDeployDefault.LambdaAllAtOnce"
    assert ok.parameters("payments", "prod")["AllAtOnceExemption"] == "2099-01-01 legacy batch  no traffic to shift"  # tag-safe: no comma
    assert "AllAtOnceExemption" not in ok.parameters("payments", "test")


def test_all_at_once_is_fine_in_test():
    assert Deployment.model_validate({"test": {"strategy": {"type": "all-at-once"}}}).config_name("test") == "CodeDeployDefault.LambdaAllAtOnce"


@pytest.mark.parametrize("strategy,needle", [
    ({"type": "canary", "percentage": 0, "interval_minutes": 5}, "percentage: Input should be greater than or equal to 1"),
    ({"type": "canary", "percentage": 100, "interval_minutes": 5}, "percentage: Input should be less than or equal to 99"),
    ({"type": "linear", "percentage": 10}, "linear needs percentage and interval_minutes"),
    ({"type": "linear", "percentage": 1, "interval_minutes": 60}, "shifts for 5940 minutes; Lambda allows at most 2880"),
    ({"type": "canary", "percentage": 15, "interval_minutes": 5}, "canary 15%/5min is not in the Lambda catalogue; pick one of canary 10%/5min"),
    ({"type": "all-at-once", "percentage": 10}, "all-at-once takes no percentage"),
])
def test_strategy_bounds_and_catalogue(strategy, needle):
    lines = errors({"test": {"strategy": strategy}})
    assert any(needle in line for line in lines), lines
    assert all("^" not in line for line in lines)  # no raw regex in messages


def test_ecs_needs_a_target_per_environment_and_a_real_pair():
    (line,) = errors({"platform": "ecs", "ecs": {"test": ECS_TARGET}})
    assert "ecs: name the target in prod" in line
    bad = errors({"platform": "ecs", "ecs": {"test": {**ECS_TARGET, "target_group_arns": [TG.format("b"), TG.format("b")]}, "prod": ECS_TARGET}})
    assert any("deployment.ecs.test.target_group_arns" in line and "two different target groups" in line for line in bad)
    bad = errors({"platform": "ecs", "ecs": {"test": {**ECS_TARGET, "listener_arn": "arn:aws:elasticloadbalancing:x"}, "prod": ECS_TARGET}})
    assert any("is not an application load balancer listener ARN" in line for line in bad)


def test_target_block_must_match_the_platform():
    (line,) = errors({"platform": "lambda", "ecs": {"test": ECS_TARGET, "prod": ECS_TARGET}})
    assert "ecs: given, but platform is lambda" in line


def test_server_needs_something_that_receives_data():
    lines = errors({"platform": "server", "server": {"test": {"auto_scaling_groups": []}, "prod": {"auto_scaling_groups": ["a"]}}})
    assert any("no default alarm receives data" in line for line in lines)


def test_at_most_ten_alarms_in_all():
    lines = errors({"platform": "ecs", "ecs": {"test": ECS_TARGET, "prod": ECS_TARGET}, "alarms": [f"a{i}" for i in range(8)]})
    assert any("3 default and 8 own alarms; a deployment group takes at most 10" in line for line in lines)
    Deployment.model_validate({"alarms": [f"a{i}" for i in range(8)]})  # Lambda: 2 + 8


def test_ecs_parameters_derive_names_and_dimensions_from_arns():
    d = Deployment.model_validate({"platform": "ecs", "ecs": {"test": ECS_TARGET, "prod": ECS_TARGET},
                                   "prod": {"strategy": {"type": "linear", "percentage": 10, "interval_minutes": 3}}})
    p = d.parameters("shop", "prod")
    assert p["LoadBalancer"] == "app/shop/0123456789abcdef" and p["BlueTargetGroup"] == "targetgroup/blue/0123456789abcdef"
    assert (p["BlueTargetGroupName"], p["GreenTargetGroupName"]) == ("blue", "green")
    assert d.config_name("prod") == "secure-org.ECSLinear10PercentEvery3Minutes" and d.compute_platform == "ECS"


def test_lambda_function_lives_under_the_team_prefix():
    p = Deployment.model_validate({"lambda": {"function": "orders", "alias": "prod"}}).parameters("payments", "test")
    assert (p["LambdaFunction"], p["LambdaAlias"]) == ("payments-orders", "prod")
    lines = errors({"lambda": {"function": "payments:orders"}})
    assert any("give the part after '<team>-'" in line for line in lines)


def test_exemption_date_is_a_date():
    lines = errors({"prod": {"strategy": {"type": "all-at-once"}, "all_at_once_exemption": {"reason": "r" * 20, "expires": "soon"}}})
    assert any("prod.all_at_once_exemption.expires" in line for line in lines)
    assert date.today()  # the expiry itself is judged by CrossGuard (codedeploy-prod-gradual), like policy_exemptions
