"""The ``deployment`` block of a team's pipeline: platform, strategy per environment, rollback
alarms and the target CodeDeploy shifts (see docs/pipeline.md, "Canary and linear deployments").

Strategies are picked from the platform's catalogue (blueprint/pipeline/deployments.py), so
a team never needs a config the accounts do not already have. Errors name the key path and
say what is allowed, never a regular expression.
"""

from __future__ import annotations

# pyright: reportOptionalMemberAccess=false, reportOptionalSubscript=false, reportArgumentType=false
# (pydantic models: the validators guarantee what these rules cannot see; no pulumi calls here)

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from blueprint.config_values import IsoDate
from blueprint.pipeline import deployments as dep

LISTENER = re.compile(r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener/(app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16})/[0-9a-f]{16}$")
TARGET_GROUP = re.compile(r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:(targetgroup/([A-Za-z0-9-]{1,32})/[0-9a-f]{16})$")
NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
ALARM = re.compile(r"^[\w+=,.@/:-]{1,255}$")
TAG_SAFE = re.compile(r"[^\w .:/=+@-]")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _name(value: str, what: str) -> str:
    if not NAME.match(value):
        raise ValueError(f"{value!r} is not a valid {what} name (letters, digits, '-' and '_', at most 255)")
    return value


class Strategy(_Strict):
    """canary: shift ``percentage``, wait ``interval_minutes``, shift the rest. linear: shift
    ``percentage`` every ``interval_minutes``. all-at-once: everything at once (prod: exemption only)."""

    type: Literal["canary", "linear", "all-at-once"]
    percentage: Annotated[int, Field(ge=1, le=99)] | None = None
    interval_minutes: Annotated[int, Field(ge=1, le=dep.MAX_SHIFT_MINUTES["ECS"])] | None = None

    @model_validator(mode="after")
    def _complete(self) -> "Strategy":
        given = self.percentage is not None or self.interval_minutes is not None
        if self.type == "all-at-once" and given:
            raise ValueError("all-at-once takes no percentage or interval_minutes")
        if self.type != "all-at-once" and (self.percentage is None or self.interval_minutes is None):
            raise ValueError(f"{self.type} needs percentage and interval_minutes")
        return self

    def describe(self) -> str:
        return self.type if self.type == "all-at-once" else f"{self.type} {self.percentage}%/{self.interval_minutes}min"


class AllAtOnceExemption(_Strict):
    """Why production may deploy all at once, until when (CrossGuard reports it once expired)."""

    reason: Annotated[str, Field(min_length=15, max_length=200)]
    expires: IsoDate  # text in a stack file (YAML 1.2, JSON from the engine): parsed, with a reason if wrong

    def tag(self) -> str:
        return f"{self.expires.isoformat()} {TAG_SAFE.sub(' ', self.reason)}"[:256]


class Stage(_Strict):
    strategy: Strategy
    all_at_once_exemption: AllAtOnceExemption | None = None


class LambdaTarget(_Strict):
    function: Annotated[str, Field(description="Function name after the team prefix: 'api' is <team>-api")] = "api"
    alias: str = "live"

    @field_validator("function")
    @classmethod
    def _function(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,30}", v):
            raise ValueError(f"{v!r}: give the part after '<team>-' (letters, digits, '-' and '_', at most 30)")
        return v

    @field_validator("alias")
    @classmethod
    def _alias(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", v) or v.isdigit():
            raise ValueError(f"{v!r} is not an alias name (letters, digits, '-' and '_'; not a version number)")
        return v


class EcsTarget(_Strict):
    cluster: str
    service: str
    listener_arn: Annotated[str, Field(description="Production listener of the application load balancer")]
    test_listener_arn: str | None = None
    target_group_arns: Annotated[list[str], Field(min_length=2, max_length=2, description="The blue/green pair")]

    @field_validator("cluster", "service")
    @classmethod
    def _names(cls, v: str, info) -> str:  # noqa: ANN001
        return _name(v, f"ECS {info.field_name}")

    @field_validator("listener_arn", "test_listener_arn")
    @classmethod
    def _listener(cls, v: str | None) -> str | None:
        if v is not None and not LISTENER.match(v):
            raise ValueError(f"{v!r} is not an application load balancer listener ARN")
        return v

    @field_validator("target_group_arns")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        bad = [x for x in v if not TARGET_GROUP.match(x)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a target group ARN")
        if v[0] == v[1]:
            raise ValueError("blue and green must be two different target groups")
        return v

    @model_validator(mode="after")
    def _same_balancer(self) -> "EcsTarget":
        if self.test_listener_arn and LISTENER.match(self.test_listener_arn).group(1) != LISTENER.match(self.listener_arn).group(1):
            raise ValueError("test_listener_arn must be a listener of the same load balancer as listener_arn")
        return self


class ServerTarget(_Strict):
    auto_scaling_groups: Annotated[list[str], Field(max_length=dep.MAX_ASGS)] = Field(default_factory=list)
    listener_arn: str | None = None  # the ALB in front, for its 5xx alarm

    @field_validator("auto_scaling_groups")
    @classmethod
    def _asgs(cls, v: list[str]) -> list[str]:
        for x in v:
            if not re.fullmatch(r"[\w.-]{1,255}", x):
                raise ValueError(f"{x!r} is not an Auto Scaling group name")
        return v

    @field_validator("listener_arn")
    @classmethod
    def _listener(cls, v: str | None) -> str | None:
        if v is not None and not LISTENER.match(v):
            raise ValueError(f"{v!r} is not an application load balancer listener ARN")
        return v

    @model_validator(mode="after")
    def _watched(self) -> "ServerTarget":
        if not self.auto_scaling_groups and not self.listener_arn:
            raise ValueError("name auto_scaling_groups and/or listener_arn: without them no default alarm receives data")
        return self


ENVS = ("test", "prod")


class Deployment(_Strict):
    platform: Literal["lambda", "ecs", "server"] = "lambda"
    test: Stage = Stage(strategy=Strategy(type="canary", percentage=10, interval_minutes=5))
    prod: Stage = Stage(strategy=Strategy(type="canary", percentage=10, interval_minutes=15))
    alarms: list[str] = Field(default_factory=list, description="The team's own CloudWatch alarms (in each account) that also roll back")
    # The target, under the platform's key. ECS and Server name per-account resources, so per environment.
    lambda_: LambdaTarget | None = Field(default=None, alias="lambda")
    ecs: dict[Literal["test", "prod"], EcsTarget] | None = None
    server: dict[Literal["test", "prod"], ServerTarget] | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("alarms")
    @classmethod
    def _alarm_names(cls, v: list[str]) -> list[str]:
        for x in v:
            if not ALARM.match(x):
                raise ValueError(f"{x!r} is not a CloudWatch alarm name")
        if len(set(v)) != len(v):
            raise ValueError("an alarm is listed twice")
        return v

    @property
    def compute_platform(self) -> str:
        return dep.PLATFORMS[self.platform]

    def lambda_target(self) -> LambdaTarget:
        return self.lambda_ or LambdaTarget()

    @model_validator(mode="after")
    def _consistent(self) -> "Deployment":
        problems = []
        others = {"lambda": self.lambda_, "ecs": self.ecs, "server": self.server}
        for key, block in others.items():
            if key != self.platform and block is not None:
                problems.append(f"{key}: given, but platform is {self.platform}")
        if self.platform in ("ecs", "server"):
            block = others[self.platform] or {}
            missing = [e for e in ENVS if e not in block]
            if missing:
                problems.append(f"{self.platform}: name the target in {' and '.join(missing)}")
        platform = self.compute_platform
        for env in ENVS:
            stage: Stage = getattr(self, env)
            s = stage.strategy
            if s.type != "all-at-once":
                bound = dep.MAX_SHIFT_MINUTES[platform]
                minutes = dep.Gradual(platform, s.type, s.percentage, s.interval_minutes).shift_minutes()
                if minutes > bound:
                    problems.append(f"{env}.strategy: {s.describe()} shifts for {minutes} minutes; {platform} allows at most {bound}")
                elif dep.find(platform, s.type, s.percentage, s.interval_minutes) is None:
                    problems.append(f"{env}.strategy: {s.describe()} is not in the {platform} catalogue; pick one of "
                                    f"{', '.join(dep.choices(platform))}, or all-at-once")
            if env == "prod" and s.type == "all-at-once" and stage.all_at_once_exemption is None:
                problems.append("prod.strategy: all-at-once in production needs all_at_once_exemption (reason and expires)")
            if stage.all_at_once_exemption is not None and s.type != "all-at-once":
                problems.append(f"{env}.all_at_once_exemption: only for an all-at-once strategy")
        defaults = max(self.default_alarms(e) for e in ENVS)
        if defaults + len(self.alarms) > dep.MAX_ALARMS:
            problems.append(f"alarms: {defaults} default and {len(self.alarms)} own alarms; a deployment group takes at most {dep.MAX_ALARMS}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # ---- derived ----------------------------------------------------------
    def default_alarms(self, env: str) -> int:
        if self.platform == "lambda":
            return 2
        if self.platform == "ecs":
            return 3
        t = (self.server or {}).get(env)
        return 0 if t is None else len(t.auto_scaling_groups) + (1 if t.listener_arn else 0)

    def config_name(self, env: str) -> str:
        s = getattr(self, env).strategy
        return dep.config_name(self.compute_platform, s.type, s.percentage, s.interval_minutes)

    def parameters(self, team: str, env: str) -> dict[str, str]:
        """The deploy-roles template's target parameters for the team's ``env`` account."""
        out: dict[str, str] = {f"ExtraAlarm{i + 1}": a for i, a in enumerate(self.alarms)}
        exemption = getattr(self, env).all_at_once_exemption
        if exemption is not None:
            out["AllAtOnceExemption"] = exemption.tag()
        if self.platform == "lambda":
            t = self.lambda_target()
            out.update(LambdaFunction=f"{team}-{t.function}", LambdaAlias=t.alias)
        elif self.platform == "ecs":
            e = self.ecs[env]
            blue, green = (TARGET_GROUP.match(a) for a in e.target_group_arns)
            out.update(EcsCluster=e.cluster, EcsService=e.service, ProdListenerArn=e.listener_arn,
                       LoadBalancer=LISTENER.match(e.listener_arn).group(1),
                       BlueTargetGroup=blue.group(1), GreenTargetGroup=green.group(1),
                       BlueTargetGroupName=blue.group(2), GreenTargetGroupName=green.group(2))
            if e.test_listener_arn:
                out["TestListenerArn"] = e.test_listener_arn
        else:
            s = self.server[env]
            out.update({f"AutoScalingGroup{i + 1}": g for i, g in enumerate(s.auto_scaling_groups)})
            if s.listener_arn:
                out["LoadBalancer"] = LISTENER.match(s.listener_arn).group(1)
        return out
