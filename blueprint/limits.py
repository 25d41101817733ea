"""AWS name limits, checked from config before anything is registered.

A team name is short, but the names derived from it are not: ``<team>-prod-deployer`` is an
IAM Identity Center permission set (32 characters at most), ``<team>-pipeline-<account id>``
an S3 bucket (63). Each derived name is computed here with the *same* naming function the
components call (blueprint/pipeline/naming.py, blueprint/images/naming.py), so the check
cannot drift from what is deployed; the message names the derived name, its length, the
limit, and the longest team name that fits every name derived from it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from blueprint.config import ImageFactory, Team

ACCOUNT_EMAIL_MAX = 64  # Organizations CreateAccount: Email
ACCOUNT_NAME_MAX = 50  # Organizations CreateAccount: AccountName
TOKEN = "\x00name\x00"  # stands for the team (or image) name while a naming function runs
ACCOUNT = "0" * 12  # account ids are always twelve digits


@dataclass(frozen=True)
class Limit:
    what: str
    max_len: int
    chars: str = ""  # a regular expression the whole name must match (never shown)
    words: str = ""  # what ``chars`` allows, in words

    def problem(self, name: str) -> str | None:
        if len(name) > self.max_len:
            return f"{self.what} {name!r} is {len(name)} characters; AWS allows {self.max_len}"
        if self.chars and not re.fullmatch(self.chars, name):
            return f"{self.what} {name!r} is not allowed: AWS takes {self.words}"
        if self is S3_BUCKET:
            return _bucket_rule(name)
        return None


IAM_ROLE = Limit("IAM role name", 64, r"[\w+=,.@-]+", "letters, digits and + = , . @ _ -")
IAM_POLICY = Limit("IAM policy name", 128, r"[\w+=,.@-]+", "letters, digits and + = , . @ _ -")
PERMISSION_SET = Limit("IAM Identity Center permission set name", 32, r"[\w+=,.@-]+", "letters, digits and + = , . @ _ -")
S3_BUCKET = Limit("S3 bucket name", 63, r"[a-z0-9][a-z0-9.-]*[a-z0-9]", "lower-case letters, digits, '.' and '-', starting and ending with a letter or digit")
CODEBUILD_PROJECT = Limit("CodeBuild project name", 255, r"[A-Za-z0-9][A-Za-z0-9_-]{1,254}", "letters, digits, '-' and '_', starting with a letter or digit")
CODEPIPELINE = Limit("CodePipeline name", 100, r"[A-Za-z0-9.@_-]+", "letters, digits and . @ _ -")
LOG_GROUP = Limit("CloudWatch log group name", 512, r"[\w./#-]+", "letters, digits and . _ - / #")
CODEDEPLOY = Limit("CodeDeploy application or deployment group name", 100)
STACK = Limit("CloudFormation stack name", 128, r"[A-Za-z][A-Za-z0-9-]*", "letters, digits and '-', starting with a letter")
STACK_SET = Limit("CloudFormation StackSet name", 128, r"[A-Za-z][A-Za-z0-9-]*", "letters, digits and '-', starting with a letter")
# AWS counts 1,011 characters for the whole parameter ARN, arn:aws:ssm:<region>:<account>:parameter<name>:
# the longest commercial region (14) leaves 1,011 - 49 for the name.
SSM_PARAMETER = Limit("SSM parameter name", 1011 - len("arn:aws:ssm:ap-southeast-7:123456789012:parameter"),
                      r"(/[A-Za-z0-9_.-]+){1,15}", "up to 15 '/'-separated levels of letters, digits and _ . -")

# S3 prefixes and suffixes reserved for access points, Object Lambda, directory and table buckets.
BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
# Service roles a pipeline creates in the tooling account (components/pipeline_roles.py).
PIPELINE_SERVICES = ("codepipeline", "codebuild", "events")


def _bucket_rule(name: str) -> str | None:
    if ".." in name or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return f"S3 bucket name {name!r} is not allowed: no '..' and not an IP address"
    for p in BUCKET_PREFIXES:
        if name.startswith(p):
            return f"S3 bucket name {name!r} starts with {p!r}, which S3 reserves"
    for s in BUCKET_SUFFIXES:
        if name.endswith(s):
            return f"S3 bucket name {name!r} ends with {s!r}, which S3 reserves"
    return None


@lru_cache(maxsize=None)
def _resolved(fn: Callable[..., Any], *args: Any) -> str:
    """A naming function's result for the stand-in name, awaited if it is a pulumi Output.

    Runs in a thread with its own event loop: this may be called while Pulumi's loop runs.
    """
    async def run() -> str:
        out = fn(TOKEN, *args)
        return out if isinstance(out, str) else await out.future()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def team_templates(pipeline: Any) -> list[tuple[Limit, str]]:
    """Every name derived from a team with this pipeline, with TOKEN for the team's name."""
    from blueprint.pipeline import naming
    from blueprint.pipeline_config import DUTIES

    if pipeline is None:
        return []
    out: list[tuple[Limit, str]] = [(IAM_ROLE, naming.service_role(TOKEN, s)) for s in PIPELINE_SERVICES]
    out += [(IAM_ROLE, naming.duty_role(TOKEN, d)) for d in DUTIES]
    out += [(PERMISSION_SET, naming.permission_set(TOKEN, d, pipeline)) for d in DUTIES]
    out += [(IAM_ROLE, f(TOKEN)) for f in (naming.deploy_role, naming.cfn_exec_role, naming.codedeploy_role)]
    # The shortest role the team's own IaC can create under its prefix, and the boundary it must carry.
    out += [(IAM_ROLE, naming.app_role_prefix(TOKEN) + "x"), (IAM_POLICY, naming.boundary_policy(TOKEN))]
    out += [(S3_BUCKET, _resolved(naming.artifact_bucket, ACCOUNT)), (S3_BUCKET, _resolved(naming.source_bucket, ACCOUNT))]
    out += [(CODEBUILD_PROJECT, naming.project(TOKEN, k)) for k in ("build", *naming.SCANS, "dast")]
    out += [(CODEPIPELINE, naming.pipeline_name(TOKEN)), (LOG_GROUP, naming.log_group(TOKEN))]
    out += [(CODEDEPLOY, naming.codedeploy_application(TOKEN))]
    for env in naming.DEPLOY_STAGES.values():
        out += [(CODEDEPLOY, naming.deployment_group(TOKEN, env)), (STACK, naming.app_stack(TOKEN, env))]
    return out


def image_templates() -> list[tuple[Limit, str]]:
    from blueprint.images import naming

    return [(SSM_PARAMETER, naming.approved_parameter(TOKEN)), (SSM_PARAMETER, naming.latest_parameter(TOKEN))]


def longest_fitting(templates: list[tuple[Limit, str]]) -> int | None:
    """The longest name for which every derived name is within its length limit."""
    fits = [(lim.max_len - len(t.replace(TOKEN, ""))) // t.count(TOKEN) for lim, t in templates if TOKEN in t]
    return min(fits) if fits else None


def derived_problems(name: str, templates: list[tuple[Limit, str]], noun: str, fixes: dict[Limit, str] | None = None) -> list[str]:
    """What is wrong with the names derived from ``name``; ``fixes`` says how else to shorten one kind."""
    problems = []
    longest = longest_fitting(templates)
    for lim, t in templates:
        p = lim.problem(t.replace(TOKEN, name))
        if p and "characters; AWS allows" in p and longest is not None:
            p += f" ({noun} names of at most {longest} characters fit every name derived from them{(fixes or {}).get(lim, '')})"
        if p:
            problems.append(p.replace(ACCOUNT, "<account id>"))  # the stand-in is sized, not shown
    return problems


def team_problems(teams: list["Team | None"]) -> list[tuple[str, str]]:
    """Names derived from each team's identity (Team.key: what the components name things after)."""
    out: list[tuple[str, str]] = []
    for i, team in enumerate(teams):
        if team is None or team.pipeline is None:
            continue
        key = team.key
        loc = f"teams[{i}].name" if key == team.name else f"teams[{i}].previous_names[0]"
        fixes = {PERMISSION_SET: "; or name the permission sets in pipeline.sso_permission_sets"}
        out += [(loc, msg) for msg in derived_problems(key, team_templates(team.pipeline), "team", fixes)]
    return out


def image_problems(factory: "ImageFactory | None") -> list[tuple[str, str]]:
    if factory is None:
        return []
    templates = image_templates()
    return [(f"image_factory.images[{i}].name", msg) for i, img in enumerate(factory.images)
            for msg in derived_problems(img.name, templates, "image")]


def account_problems(name: str, email: str, loc: str, templated: bool, team: str | None) -> list[tuple[str, str]]:
    """An account's name and root email against the Organizations limits."""
    out = []
    if len(name) > ACCOUNT_NAME_MAX:
        out.append((loc, f"account name {name!r} is {len(name)} characters; AWS allows {ACCOUNT_NAME_MAX}"))
    if len(email) > ACCOUNT_EMAIL_MAX:
        msg = f"account email {email!r} is {len(email)} characters; AWS allows {ACCOUNT_EMAIL_MAX}"
        fit = ACCOUNT_EMAIL_MAX - (len(email) - len(team)) if templated and team else 0
        if fit >= 3:  # team names have at least three characters
            msg += f" (with organization.account_email, team names of at most {fit} characters fit; or set an account_emails override)"
        elif templated:
            msg += " (shorten organization.account_email or the account name, or set an email for this account)"
        out.append((loc, msg))
    return out
