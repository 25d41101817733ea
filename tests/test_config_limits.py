"""AWS name limits from config: account names and emails, and every name derived from a team."""

from __future__ import annotations

import json
import re

import pytest

from blueprint import limits
from blueprint.config import ConfigError, load_file, parse
from tests.conftest import REPO, plan_of, stack_raw


def errors(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse(raw, "Pulumi.prod.yaml")
    return exc.value.lines()


def with_pipeline(raw: dict) -> tuple[int, dict]:
    return next((i, t) for i, t in enumerate(raw["teams"]) if t.get("pipeline"))


def test_the_longest_team_name_with_a_pipeline_fits_and_one_more_does_not():
    raw = stack_raw("prod")
    i, team = with_pipeline(raw)
    team["name"] = "a" * 18  # <team>-prod-deployer: 18 + 14 = 32, the permission set limit
    parse(raw, "x")
    team["name"] = "a" * 19
    assert errors(raw) == [
        f"Pulumi.prod.yaml: teams[{i}].name: IAM Identity Center permission set name '{'a' * 19}-prod-deployer' is 33 characters; "
        "AWS allows 32 (team names of at most 18 characters fit every name derived from them; "
        "or name the permission sets in pipeline.sso_permission_sets)"
    ]
    team["pipeline"]["sso_permission_sets"] = {d: f"ps-{d.replace('_', '-')}" for d in
                                              ("viewer", "committer", "merger", "build_owner", "iac_owner", "prod_deployer")}
    parse(raw, "x")  # named permission sets: the team name may be longer


def test_without_a_pipeline_a_team_name_may_use_all_32_characters():
    raw = stack_raw("prod")
    team = next(t for t in raw["teams"] if not t.get("pipeline"))
    team["name"] = "a" * 32
    parse(raw, "x")


def test_a_renamed_team_is_checked_by_its_identity():
    raw = stack_raw("prod")
    i, team = with_pipeline(raw)
    team["previous_names"] = ["b" * 20]
    assert any(line.startswith(f"Pulumi.prod.yaml: teams[{i}].previous_names[0]: IAM Identity Center permission set name 'bbbb")
               for line in errors(raw))


def test_reserved_bucket_prefixes():
    raw = stack_raw("prod")
    i, team = with_pipeline(raw)
    team["name"] = "xn--pay"
    got = errors(raw)
    assert f"Pulumi.prod.yaml: teams[{i}].name: S3 bucket name 'xn--pay-pipeline-<account id>' starts with 'xn--', which S3 reserves" in got


def test_account_emails_and_names():
    raw = stack_raw("prod")
    raw["organization"]["account_email"] = "platform-aws-accounts+{account}@mail.acme-corporation.example"
    got = errors(raw)
    assert "Pulumi.prod.yaml: shared_accounts.image_factory: account email 'platform-aws-accounts+image-factory@mail.acme-corporation.example' " \
           "is 65 characters; AWS allows 64 (shorten organization.account_email or the account name, or set an email for this account)" in got
    raw = stack_raw("prod")
    raw["teams"][0]["account_emails"] = {"prod": "a" * 60 + "@acme.example"}
    assert errors(raw) == [f"Pulumi.prod.yaml: teams[0].account_emails.prod: account email '{'a' * 60}@acme.example' is 73 characters; AWS allows 64"]
    assert limits.account_problems("a" * 51, "a@b.co", "x", False, None) == [("x", f"account name '{'a' * 51}' is 51 characters; AWS allows 50")]


def test_longest_fitting_is_the_brute_force_answer():
    cfg = load_file(REPO / "Pulumi.prod.yaml")
    templates = limits.team_templates(next(t for t in cfg.teams if t.pipeline).pipeline)
    fits = [n for n in range(1, 80) if all(lim.problem(t.replace(limits.TOKEN, "a" * n)) is None for lim, t in templates)]
    assert limits.longest_fitting(templates) == max(fits) == 18


def test_the_derived_names_are_the_planned_ones():
    """limits computes names with the components' naming functions: the prod plan holds them."""
    code, doc = plan_of("prod")
    assert code == 0
    text = json.dumps(doc["resources"])
    cfg = load_file(REPO / "Pulumi.prod.yaml")
    found: set[int] = set()
    for team in cfg.teams:
        if team.pipeline is None:
            continue
        for n, (_, template) in enumerate(limits.team_templates(team.pipeline)):
            name = re.escape(template.replace(limits.TOKEN, team.key)).replace(limits.ACCOUNT, r"\d{12}")
            if re.search(rf"(?<![A-Za-z0-9-]){name}(?![A-Za-z0-9-])", text):
                found.add(n)
    templates = limits.team_templates(cfg.teams[0].pipeline)
    # Not planned as such: the app-role prefix is a pattern, and the deploy-roles template names
    # the CodeDeploy role with ${Team} itself (blueprint/pipeline/deploy_roles.py).
    unplanned = {n for n, (_, t) in enumerate(templates) if t.endswith(("-app-x", "-codedeploy"))}
    assert set(range(len(templates))) - unplanned == found


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_planned_stack_set_and_stack_name_is_within_aws_limits(stack):
    # StackSet and stack names are constants, not derived from config: held to the same limits here.
    _, doc = plan_of(stack)
    names = {(limits.STACK_SET, r["inputs"]["name"]) for r in doc["resources"] if r["type"] == "aws:cloudformation/stackSet:StackSet"}
    names |= {(limits.STACK, r["inputs"]["name"]) for r in doc["resources"] if r["type"] == "aws:cloudformation/stack:Stack"}
    assert len(names) >= 2
    assert [limit.problem(name) for limit, name in names if limit.problem(name)] == []
    assert limits.STACK_SET.problem("a" * 129) and limits.STACK_SET.problem("1-starts-with-a-digit")
