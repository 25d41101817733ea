"""Every way a stack file used to slip through, or crash the plan, through the plan's own entry point.

Each case edits the committed dev stack file as a user would, runs ``blueprint.offline.plan``'s
``main`` on it and checks the exit code (2: configuration error, never 1, which means a
mandatory finding) and the exact message, with the file and key path or line and column.
Configuration errors stop before the program runs, so these take a fraction of a second each.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from blueprint.offline import plan
from tests.conftest import REPO, stack_raw

DEV = (REPO / "Pulumi.dev.yaml").read_text()


def edit(old: str, new: str, text: str = DEV) -> str:
    assert old in text, f"the dev stack no longer holds {old!r}: update this case"
    return text.replace(old, new, 1)


def line_of(text: str, needle: str, nth: int = 0) -> int:
    return [i for i, line in enumerate(text.splitlines(), 1) if needle in line][nth]


def run(tmp_path, capsys, text: str, name: str = "case") -> tuple[int, str, str]:
    path = tmp_path / f"Pulumi.{name}.yaml"
    path.write_text(text)
    code = plan.main(["--stack", name, "--file", str(path), "--out", str(tmp_path / "build")])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


TWICE = DEV + "  secure-org:teams: []\n"
DEEP = edit("      cost_center: CC-1001\n", "      cost_center: CC-1001\n      cost_center: CC-1002\n")
SYNTAX = edit("allowed_regions: [us-east-1, us-west-2]", "allowed_regions: [us-east-1, us-west-2")
TAB = edit("    home_region: us-east-1", "\thome_region: us-east-1")

CASES = {
    # YAML itself: line and column.
    "duplicate top-level key": (TWICE, f"Pulumi.case.yaml: line {line_of(TWICE, 'secure-org:teams', 1)}, column 3: duplicate key "
                                f"'secure-org:teams' (first at line {line_of(TWICE, 'secure-org:teams')})"),
    "duplicate nested key": (DEEP, f"Pulumi.case.yaml: line {line_of(DEEP, 'CC-1002')}, column 7: duplicate key 'cost_center' "
                             f"(first at line {line_of(DEEP, 'CC-1001')})"),
    "syntax error": (SYNTAX, f"Pulumi.case.yaml: line {line_of(SYNTAX, 'account_email')}, column 18: is not valid YAML: "),
    "tab": (TAB, f"Pulumi.case.yaml: line {line_of(TAB, 'home_region')}, column 1: is not valid YAML: a tab character: YAML indents with spaces only"),
    # Namespaces.
    "namespace typo": (edit("secure-org:teams:", "secureorg:teams:"),
                       "Pulumi.case.yaml: secureorg:teams: unknown namespace 'secureorg' (did you mean 'secure-org:teams'?)"),
    "aws key typo": (edit("aws:region:", "aws:regoin:"), "Pulumi.case.yaml: aws:regoin: unknown key (did you mean 'aws:region'?)"),
    # Strict types: YAML 1.2 reads yes as text; true is no number.
    "yes for a number": (edit("object_lock_days: 7", "object_lock_days: yes"),
                         "Pulumi.case.yaml: security_baseline.log_archive.object_lock_days: expects a whole number such as 30, got the text 'yes'"),
    "true for a number": (edit("max_concurrent_percentage: 100", "max_concurrent_percentage: true"),
                          "Pulumi.case.yaml: security_baseline.rollout.max_concurrent_percentage: expects a whole number such as 30, got the boolean true"),
    "impossible date": (edit('expires: "2027-06-30"', "expires: 2026-02-30"),
                        "Pulumi.case.yaml: policy_exemptions[0].expires: 2026-02-30 is not a date: February 2026 has 28 days"),
    "pattern in words": (edit("cost_center: CC-1001", "cost_center: CC 1001"),
                         "Pulumi.case.yaml: teams[0].cost_center: 'CC 1001' is not allowed here: expected 2 to 32 letters, digits or '-', e.g. 'CC-1001'"),
    # Values AWS would reject later.
    "service principal typo": (edit("    account_email: aws-rehearsal+{account}@acme.example\n",
                                    "    account_email: aws-rehearsal+{account}@acme.example\n"
                                    "    service_access_principals: [guardduty.amazonaws.co]\n"),
                               "Pulumi.case.yaml: organization.service_access_principals[0]: 'guardduty.amazonaws.co' is not a service principal "
                               "AWS Organizations knows (did you mean 'guardduty.amazonaws.com'?)"),
    "account email over 64": (edit("aws-rehearsal+{account}@acme.example", "aws-rehearsal+{account}@acme-corporation-mail-gateway.example"),
                              "Pulumi.case.yaml: teams[0].environments[1]: account email 'aws-rehearsal+payments-test@acme-corporation-mail-gateway.example' "
                              "is 65 characters; AWS allows 64 (with organization.account_email, team names of at most 7 characters fit"),
    "long team name with a pipeline": (edit("    - name: payments\n", "    - name: payments-platform-eu\n"),
                                       "Pulumi.case.yaml: teams[0].name: IAM Identity Center permission set name 'payments-platform-eu-prod-deployer' "
                                       "is 34 characters; AWS allows 32 (team names of at most 18 characters fit every name derived from them"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_case_is_a_configuration_error_naming_where(case, tmp_path, capsys):
    text, expected = CASES[case]
    code, _, err = run(tmp_path, capsys, text)
    assert code == plan.EXIT_CONFIG, err
    assert err.startswith("configuration rejected (")
    assert any(line.strip().startswith(expected) for line in err.splitlines()), err
    assert not re.search(r"\^|\$'|\\[dws]|\{\d", err), "no raw regular expression in a message"


def test_every_duplicate_is_reported_at_once(tmp_path, capsys):
    code, _, err = run(tmp_path, capsys, edit("      cost_center: CC-1001\n", "      cost_center: CC-1001\n      cost_center: CC-1002\n", TWICE))
    assert code == plan.EXIT_CONFIG
    assert err.count("duplicate key") == 2


def test_a_missing_stack_file_names_the_stacks_there(capsys):
    assert plan.main(["--stack", "staging"]) == plan.EXIT_CONFIG
    err = capsys.readouterr().err
    assert "Pulumi.staging.yaml: no such stack file" in err and "the stacks here are dev, prod" in err and "Traceback" not in err


def test_2000_teams_are_a_mandatory_quota_finding_before_the_program_runs(tmp_path, capsys):
    raw = stack_raw("prod")
    base = {k: v for k, v in raw["teams"][1].items() if k != "pipeline"}
    raw["teams"] = [dict(copy.deepcopy(base), name=f"team-{i:04d}", owner_email=f"t{i}@acme.example") for i in range(2000)]
    raw["organization"]["quotas"] = {**raw["organization"].get("quotas", {}), "organizations-accounts": 10000}
    path = tmp_path / "Pulumi.big.yaml"  # as write_stack does, with libyaml's faster writer
    doc = {"config": {"aws:region": "eu-west-1", **{f"secure-org:{k}": v for k, v in raw.items()}}}
    path.write_text(yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False))
    code, doc = plan.plan_stack("big", path)
    assert code == plan.EXIT_FINDINGS
    assert doc["resources"] == []  # decided from config: no plan of 30,000 resources first
    (finding,) = [f for f in doc["findings"] if f["severity"] == "mandatory"]
    assert finding["rule"] == "quota-organizations-policies-per-type"
    assert finding["message"].startswith("TAG_POLICY: 2,001 over the 1,000 limit")


def test_an_internal_error_is_not_a_finding(monkeypatch, capsys):
    def broken(*_args):
        raise RuntimeError("boom")

    monkeypatch.setattr(plan, "plan_stack", broken)
    assert plan.main(["--stack", "dev"]) == plan.EXIT_INTERNAL == 3
    err = capsys.readouterr().err
    assert "RuntimeError: boom" in err and "internal error" in err


@pytest.mark.parametrize("tool", ["explain", "diff"])
def test_other_entry_points_exit_2_on_a_broken_stack_file(tool, tmp_path, capsys):
    bad = tmp_path / "Pulumi.dev.yaml"
    bad.write_text(TWICE)
    if tool == "explain":
        from blueprint.access import explain

        code = explain.main(["--stack", "dev", "--file", str(bad), "--principal", "x", "--action", "s3:GetObject", "--resource", "*"])
    else:
        from blueprint.offline import diff

        code = diff.main(["--stack", "dev", "--file", str(bad), "--out", str(tmp_path / "build")])
    err = capsys.readouterr().err
    assert code == 2 and "duplicate key 'secure-org:teams'" in err and "Traceback" not in err


def test_the_committed_stacks_read_the_same_as_yaml_1_1():
    """Nothing in them depends on a YAML 1.1 reading (yes/no, unquoted dates, sexagesimals)."""
    from blueprint.config_yaml import read_stack_file

    for stack in ("dev", "prod"):
        path = REPO / f"Pulumi.{stack}.yaml"
        assert read_stack_file(path) == yaml.safe_load(path.read_text()), stack
