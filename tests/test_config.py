"""Config validation: every error class reported with file and key path, all at once."""

from __future__ import annotations

import pytest

from blueprint.config import ConfigError, StackConfig, json_schema, load_file, parse
from tests.conftest import REPO, STACKS, stack_raw


def errors(raw: dict, source: str = "Pulumi.prod.yaml") -> list[str]:
    with pytest.raises(ConfigError) as exc:
        parse(raw, source)
    return exc.value.lines()


@pytest.mark.parametrize("stack", STACKS)
def test_committed_stacks_are_valid(stack):
    cfg = load_file(REPO / f"Pulumi.{stack}.yaml")
    assert isinstance(cfg, StackConfig)
    assert cfg.teams, "every stack onboards at least one team"


def test_invalid_environment_names_file_and_path():
    raw = stack_raw("prod")
    raw["teams"][2]["environments"] = ["dev", "staging"]
    assert errors(raw) == ["Pulumi.prod.yaml: teams[2].environments[1]: 'staging' is not one of dev, test, prod"]


def test_invalid_email():
    raw = stack_raw("prod")
    raw["teams"][1]["owner_email"] = "payments at acme"
    assert errors(raw) == ["Pulumi.prod.yaml: teams[1].owner_email: 'payments at acme' is not a valid email address"]


def test_invalid_region_suggests_the_right_one():
    raw = stack_raw("dev")
    raw["organization"]["allowed_regions"] = ["us-east-1", "eu-west1"]
    assert errors(raw, "Pulumi.dev.yaml") == [
        "Pulumi.dev.yaml: organization.allowed_regions[1]: 'eu-west1' is not an AWS region (did you mean 'eu-west-1'?)"
    ]


def test_home_region_must_be_allowed():
    raw = stack_raw("dev")
    raw["organization"]["home_region"] = "eu-west-1"
    (line,) = errors(raw)
    assert line.startswith("Pulumi.prod.yaml: organization: ")
    assert "home_region 'eu-west-1' must be one of allowed_regions" in line


def test_unknown_key_is_an_error_with_suggestion():
    raw = stack_raw("prod")
    raw["teams"][0]["enviroments"] = raw["teams"][0].pop("environments")
    assert errors(raw) == [
        "Pulumi.prod.yaml: teams[0].environments: is required",
        "Pulumi.prod.yaml: teams[0].enviroments: unknown key 'enviroments' (did you mean 'environments'?)",
    ]


def test_unknown_top_level_key():
    raw = stack_raw("prod")
    raw["tems"] = []
    assert errors(raw) == ["Pulumi.prod.yaml: secure-org:tems: unknown key (did you mean 'teams'?)"]


def test_unknown_nested_key_in_organization():
    raw = stack_raw("prod")
    raw["organization"]["alowed_regions"] = ["eu-west-1"]
    assert "Pulumi.prod.yaml: organization.alowed_regions: unknown key 'alowed_regions' (did you mean 'allowed_regions'?)" in errors(raw)


def test_duplicate_team_and_account_names():
    raw = stack_raw("prod")
    raw["teams"].append(dict(raw["teams"][0], owner_email="other@acme.example"))
    got = errors(raw)
    n = len(raw["teams"]) - 1
    assert f"Pulumi.prod.yaml: teams[{n}].name: duplicate team 'payments' (already teams[0])" in got
    assert (
        f"Pulumi.prod.yaml: teams[{n}].environments[0]: duplicate account name 'payments-dev' "
        "(already used by teams[0].environments[0])" in got
    )


def test_duplicate_email_across_accounts():
    raw = stack_raw("prod")
    raw["teams"][1]["account_emails"] = {"prod": "aws+payments-prod@acme.example"}
    assert errors(raw) == [
        "Pulumi.prod.yaml: teams[1].environments[2]: duplicate account email 'aws+payments-prod@acme.example' "
        "(already used by teams[0].environments[2])"
    ]


def test_shared_account_name_clash_with_team_account():
    raw = stack_raw("prod")
    raw["shared_accounts"]["tooling"]["name"] = "payments-dev"
    assert "Pulumi.prod.yaml: teams[0].environments[0]: duplicate account name 'payments-dev' (already used by shared_accounts.tooling.name)" in errors(raw)


def test_unknown_ou_reference_with_suggestion():
    raw = stack_raw("prod")
    raw["shared_accounts"]["tooling"]["ou"] = "Infra"
    raw["guardrails"]["service_control_policies"]["Workloads/Prd"] = ["deny-leave-org"]
    got = errors(raw)
    assert "Pulumi.prod.yaml: shared_accounts.tooling.ou: unknown OU 'Infra'" in got
    assert "Pulumi.prod.yaml: guardrails.service_control_policies.Workloads/Prd: unknown OU 'Workloads/Prd' (did you mean 'Workloads/Prod'?)" in got


def test_unknown_guardrail_id():
    raw = stack_raw("prod")
    raw["guardrails"]["service_control_policies"]["Root"].append("deny-leave-orgg")
    n = len(raw["guardrails"]["service_control_policies"]["Root"]) - 1
    assert errors(raw) == [
        f"Pulumi.prod.yaml: guardrails.service_control_policies.Root[{n}]: no guardrail 'deny-leave-orgg' in policies/scp/ (did you mean 'deny-leave-org'?)"
    ]


def test_ou_depth_limit():
    raw = stack_raw("dev")
    deep = {"name": "L6"}
    for name in ("L5", "L4", "L3", "L2"):
        deep = {"name": name, "children": [deep]}
    raw["organizational_units"].append({"name": "L1", "children": [deep]})
    got = errors(raw, "Pulumi.dev.yaml")
    assert len(got) == 1 and "OU 'L1/L2/L3/L4/L5/L6' is nested 6 levels deep; AWS allows 5" in got[0]


def test_duplicate_environment_in_team():
    raw = stack_raw("dev")
    raw["teams"][0]["environments"] = ["dev", "dev"]
    assert errors(raw, "Pulumi.dev.yaml") == ["Pulumi.dev.yaml: teams[0].environments: lists dev more than once"]


def test_every_error_is_reported_at_once():
    """Errors in several sections and several teams come back together, in one run."""
    raw = stack_raw("prod")
    raw["teams"][0]["environments"] = ["qa"]
    raw["teams"][3]["owner_email"] = "nope"
    raw["organization"]["allowed_regions"].append("mars-1")
    raw["shared_accounts"]["security"]["ou"] = "Nowhere"
    raw["extra"] = 1
    got = errors(raw)
    assert len(got) == 5
    assert all(line.startswith("Pulumi.prod.yaml: ") for line in got)
    paths = [line.split(": ")[1] for line in got]
    assert set(paths) == {
        "secure-org:extra",
        "teams[0].environments[0]",
        "teams[3].owner_email",
        "organization.allowed_regions[3]",
        "shared_accounts.security.ou",
    }


def test_missing_required_sections():
    assert errors({}, "Pulumi.x.yaml") == [
        "Pulumi.x.yaml: organization: is required",
        "Pulumi.x.yaml: organizational_units: is required",
        "Pulumi.x.yaml: shared_accounts: is required",
        "Pulumi.x.yaml: guardrails: is required",
        "Pulumi.x.yaml: security_baseline: is required",
    ]


def test_policy_limits_default_to_2026_values_and_are_configurable():
    raw = stack_raw("prod")
    cfg = parse(raw, "x")
    assert cfg.organization.policy_limits.service_control_policy.max_chars == 10240
    assert cfg.organization.policy_limits.service_control_policy.max_per_target == 10
    raw["organization"]["policy_limits"] = {"service_control_policy": {"max_chars": 5120, "max_per_target": 5}}
    cfg = parse(raw, "x")
    assert cfg.organization.policy_limits.service_control_policy.max_chars == 5120


def test_account_email_template_must_be_per_account():
    raw = stack_raw("prod")
    raw["organization"]["account_email"] = "aws@acme.example"
    assert errors(raw) == ["Pulumi.prod.yaml: organization.account_email: must contain '{account}' so every account gets its own email"]


def test_accounts_are_team_by_environment_in_their_ou():
    cfg = parse(stack_raw("prod"), "x")
    accts = {a.name: a for a in cfg.accounts()}
    assert accts["payments-prod"].ou == "Workloads/Prod"
    assert accts["payments-dev"].ou == "Workloads/Dev"
    assert accts["mobile-dev"].email == "aws+mobile-dev@acme.example"
    assert "mobile-test" not in accts
    assert {a.role for a in cfg.accounts()} == {"log_archive", "security", "tooling", "image_factory", "workload"}


def test_malformed_yaml_is_a_config_error_with_line_and_column(tmp_path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  secure-org:teams: [\n")
    with pytest.raises(ConfigError) as exc:
        load_file(bad)
    assert exc.value.lines()[0].startswith("Pulumi.bad.yaml: line 3, column 1: is not valid YAML: ")


def test_committed_schema_is_current():
    from blueprint.schema import PATH, render

    assert PATH.read_text() == render(), "run `make schema` after changing blueprint/config.py"


@pytest.mark.parametrize("stack", STACKS)
def test_stack_files_validate_against_the_schema(stack):
    import jsonschema
    import yaml

    doc = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())
    jsonschema.validate(doc, json_schema())


def test_schema_rejects_typo_and_bad_environment():
    import jsonschema
    import yaml

    doc = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    doc["config"]["secure-org:teams"][0]["environments"] = ["staging"]
    with pytest.raises(jsonschema.ValidationError, match="staging"):
        jsonschema.validate(doc, json_schema())


def test_a_new_team_may_not_take_a_renamed_teams_old_name():
    # payments renamed to pay keeps "payments" as its identity; a new "payments" would collide.
    raw = stack_raw("prod")
    first = raw["teams"][0]
    old = first["name"]
    first["name"], first["previous_names"] = "pay", [old]
    raw["teams"].append({**raw["teams"][1], "name": old, "owner_email": "new@acme.example", "pipeline": None})
    raw["teams"][-1].pop("pipeline")
    found = [e for e in errors(raw) if "duplicate team" in e]
    assert found == [f"Pulumi.prod.yaml: teams[{len(raw['teams']) - 1}].name: duplicate team {old!r} (already a name of teams[0]; "
                     "a team keeps every name it has had, so pick another)"]


def test_existing_accounts_may_name_a_renamed_team_by_either_name():
    raw = stack_raw("prod")
    first = raw["teams"][0]
    old, env = first["name"], first["environments"][0]
    first["name"], first["previous_names"] = "pay", [old]
    for key in (f"{old}-{env}", f"pay-{env}"):
        raw["existing"] = {"accounts": {key: "123456789012"}}
        assert parse(raw, "Pulumi.prod.yaml").existing.accounts == {key: "123456789012"}


def test_a_pipeline_team_cannot_decommission_where_it_deploys():
    raw = stack_raw("prod")
    i, team = next((i, t) for i, t in enumerate(raw["teams"]) if t.get("pipeline"))
    team["decommission"] = list(team["environments"])
    assert errors(raw) == [f"Pulumi.prod.yaml: teams[{i}].decommission: lists prod, test, where the team's pipeline deploys: remove "
                           "the pipeline: block first (its artifacts, keys and logs are left behind, not deleted), then decommission "
                           '(README "Renaming, moving and closing accounts")']
