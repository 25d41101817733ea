"""Keys outside the project's namespace: the AWS provider's real settings and Pulumi's own, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi_aws.config
import pytest

from blueprint.config import ConfigError, json_schema, load_flat
from blueprint.config_namespaces import PULUMI_KEYS, aws_keys
from tests.conftest import stack_raw


def flat(**extra) -> dict:
    """The prod stack's config as the engine hands it to the program (objects as JSON)."""
    out = {f"secure-org:{k}": json.dumps(v) for k, v in stack_raw("prod").items()}
    return {"aws:region": "eu-west-1", **out, **extra}


def test_aws_keys_are_the_installed_providers():
    keys = aws_keys()
    assert {"aws:region", "aws:profile", "aws:allowedAccountIds", "aws:defaultTags", "aws:assumeRoles", "aws:skipCredentialsValidation"} <= keys
    # One per getter of the provider's config module, spelled as the provider reads it.
    source = (Path(pulumi_aws.config.__file__).parent / "vars.py").read_text()
    assert len(keys) == source.count("__config__.get") >= 30


def test_provider_and_pulumi_keys_are_accepted():
    cfg = load_flat(flat(**{"aws:profile": "org", "aws:defaultTags": '{"tags": {"a": "b"}}', "pulumi:disable-default-providers": '["*"]'}), "x")
    assert cfg.teams


@pytest.mark.parametrize("key,message", [
    ("secureorg:teams", "unknown namespace 'secureorg' (did you mean 'secure-org:teams'?)"),
    ("aws:regoin", "unknown key (did you mean 'aws:region'?)"),
    ("aws:allowedAccountId", "unknown key (did you mean 'aws:allowedAccountIds'?)"),
    ("pulumi:tag", "unknown key (did you mean 'pulumi:tags'?)"),
    ("gcp:project", "unknown namespace 'gcp': a stack file holds secure-org:* keys, the AWS provider's aws:* keys and Pulumi's pulumi:* keys"),
])
def test_any_other_key_is_an_error_with_the_closest_match(key, message):
    with pytest.raises(ConfigError) as exc:
        load_flat(flat(**{key: "[]"}), "Pulumi.prod.yaml")
    assert exc.value.lines() == [f"Pulumi.prod.yaml: {key}: {message}"]


def test_namespace_errors_come_with_every_other_error():
    config = flat(**{"aws:regoin": "x"})
    config["aws:region"] = "eu-west1"
    config["secure-org:tems"] = "[]"
    with pytest.raises(ConfigError) as exc:
        load_flat(config, "Pulumi.prod.yaml")
    assert [line.split(": ")[1] for line in exc.value.lines()] == ["aws:regoin", "aws:region", "secure-org:tems"]
    assert "'eu-west1' is not an AWS region (did you mean 'eu-west-1'?)" in exc.value.lines()[1]


def test_the_schema_lists_the_same_keys():
    props = json_schema()["properties"]["config"]["properties"]
    assert aws_keys() | PULUMI_KEYS <= set(props)
    assert json_schema()["properties"]["config"]["additionalProperties"] is False


def test_aws_region_must_be_the_home_region(tmp_path):
    from blueprint.config import ConfigError, load_file
    from tests.conftest import stack_raw, write_stack

    path = write_stack(tmp_path / "Pulumi.dev.yaml", stack_raw("dev"), region="eu-west-1")
    with pytest.raises(ConfigError) as exc:
        load_file(path)
    assert exc.value.lines() == [
        "Pulumi.dev.yaml: aws:region: is 'eu-west-1' but organization.home_region is 'us-east-1': the management account's "
        "provider (and every StackSet it manages) works in aws:region, so set both to the same region"]


def test_aws_region_is_required(tmp_path):
    from blueprint.config import load_file
    from tests.conftest import write_stack

    path = write_stack(tmp_path / "Pulumi.dev.yaml", stack_raw("dev"))
    path.write_text("\n".join(line for line in path.read_text().splitlines() if not line.strip().startswith("aws:region")))
    with pytest.raises(ConfigError) as exc:
        load_file(path)
    assert exc.value.lines() == [
        "Pulumi.dev.yaml: aws:region: is required: the management account's provider (and every StackSet it manages) works "
        "in aws:region; set it to organization.home_region, e.g. aws:region: us-east-1"]


def test_a_key_that_is_not_json_hides_no_other_error():
    # As the engine passes objects: one malformed section must not hide the others' errors.
    config = flat()
    config["secure-org:organization"] = '{"name": "acme",'
    teams = json.loads(config["secure-org:teams"])
    teams[0]["environments"] = ["staging"]
    config["secure-org:teams"] = json.dumps(teams)
    with pytest.raises(ConfigError) as exc:
        load_flat(config, "Pulumi.prod.yaml")
    lines = exc.value.lines()
    assert lines[0].startswith("Pulumi.prod.yaml: organization: is not valid JSON: ")
    assert "Pulumi.prod.yaml: teams[0].environments[0]: 'staging' is not one of dev, test, prod" in lines
    assert not any(line == "Pulumi.prod.yaml: organization: is required" for line in lines)
