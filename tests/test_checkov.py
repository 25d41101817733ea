"""checkov on the Terraform-plan export (blueprint/offline/checkov_scan.py).

checkov lives in its own virtualenv (its pins clash with pulumi's); `make test` passes its
path in CHECKOV_BIN. Known-bad resources are planted through the same conversion the real
stacks use, so a conversion bug that hid a problem from checkov fails here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from blueprint.offline import checkov_scan as scan
from tests.conftest import REPO, STACKS, plan_of
from tests.test_tfplan import res

CHECKOV = Path(os.environ["CHECKOV_BIN"]) if os.environ.get("CHECKOV_BIN") else REPO / "venv-checkov" / "bin" / "checkov"
needs_checkov = pytest.mark.skipif(
    not CHECKOV.exists(),
    reason=f"checkov not installed: CHECKOV_BIN is unset and {CHECKOV} is missing "
    "(`make test` builds venv-checkov from requirements-checkov.txt and sets CHECKOV_BIN)",
)

# Built at run time so that no secret scanner flags this file. AWS's documented example key.
FAKE_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
FAKE_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"


def policy(action: str, resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})


def planted() -> dict:
    """Known-bad resources and their fixed variants, as the offline plan records them."""
    good_bucket = res("aws:s3/bucket:Bucket", "good-bucket", {"bucket": "good-bucket"}, rid="good-bucket")
    target = res("aws:s3/bucket:Bucket", "log-target", {"bucket": "log-target"}, rid="log-target")
    on_good = {"bucket": [good_bucket["urn"]]}
    key = res("aws:kms/key:Key", "good-key", {"enableKeyRotation": True, "description": "k"}, rid="key-1")
    key_arn = "arn:aws:kms:us-east-1:111111111111:key/key-1"
    template = json.dumps({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"PlainBucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "plain"}}},
    })
    build = {
        "name": "build", "serviceRole": "arn:aws:iam::111111111111:role/cb",
        "artifacts": {"type": "CODEPIPELINE"}, "source": {"type": "CODEPIPELINE", "buildspec": "version: 0.2"},
    }
    env = {"computeType": "BUILD_GENERAL1_SMALL", "image": "aws/codebuild/standard:7.0", "type": "LINUX_CONTAINER"}
    pipeline = {"name": "p", "roleArn": "arn:aws:iam::111111111111:role/p", "stages": [
        {"name": "Source", "actions": [{"name": "Src", "category": "Source", "owner": "AWS", "provider": "S3",
                                        "version": "1", "outputArtifacts": ["src"],
                                        "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}}]},
        {"name": "Build", "actions": [{"name": "Build", "category": "Build", "owner": "AWS", "provider": "CodeBuild",
                                       "version": "1", "inputArtifacts": ["src"],
                                       "configuration": {"ProjectName": "build"}}]},
    ]}
    fn = {"role": "arn:aws:iam::111111111111:role/fn", "runtime": "python3.13", "handler": "index.handler"}
    # A StackSet template whose resources exist only once an instance names a team.
    team_template = json.dumps({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Team": {"Type": "String", "Default": "none"}},
        "Conditions": {"Assigned": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Team"}, "none"]}]}},
        "Resources": {
            "TeamBucket": {"Type": "AWS::S3::Bucket", "Condition": "Assigned", "Properties": {"BucketName": {"Fn::Sub": "${Team}-data"}}},
            "Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
        },
    })
    team_set = res("aws:cloudformation/stackSet:StackSet", "team-set",
                   {"name": "team-set", "templateBody": team_template, "permissionModel": "SERVICE_MANAGED"}, rid="team-set")
    return {"stack": "planted", "resources": [
        # S3: a bare bucket vs one with its v7 companion resources
        res("aws:s3/bucket:Bucket", "bad-bucket", {"bucket": "bad-bucket"}, rid="bad-bucket"),
        good_bucket, target, key,
        res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "good-sse", {
            "bucket": "good-bucket", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn},
                                                "bucketKeyEnabled": True}]}, deps={**on_good, "rules": [key["urn"]]}),
        res("aws:s3/bucketVersioning:BucketVersioning", "good-versioning",
            {"bucket": "good-bucket", "versioningConfiguration": {"status": "Enabled"}}, deps=on_good),
        res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "good-pab", {
            "bucket": "good-bucket", "blockPublicAcls": True, "blockPublicPolicy": True,
            "ignorePublicAcls": True, "restrictPublicBuckets": True}, deps=on_good),
        res("aws:s3/bucketLogging:BucketLogging", "good-logging",
            {"bucket": "good-bucket", "targetBucket": "log-target", "targetPrefix": "good/"},
            deps={**on_good, "targetBucket": [target["urn"]]}),
        # KMS rotation
        res("aws:kms/key:Key", "bad-key", {"enableKeyRotation": False, "description": "k"}),
        # IAM: administrator policies vs scoped ones
        res("aws:iam/policy:Policy", "bad-policy", {"name": "admin", "policy": policy("*", "*")}),
        res("aws:iam/policy:Policy", "good-policy", {"name": "scoped", "policy": policy("s3:GetObject", "arn:aws:s3:::good-bucket/*")}),
        res("aws:iam/rolePolicy:RolePolicy", "bad-inline", {"role": "r", "policy": policy("*", "*")}),
        res("aws:iam/rolePolicy:RolePolicy", "good-inline", {"role": "r", "policy": policy("logs:PutLogEvents", "arn:aws:logs:us-east-1:111111111111:log-group:/x:*")}),
        # CodeBuild: privileged + plaintext AWS keys + no CMK vs unprivileged, Parameter Store, CMK
        res("aws:codebuild/project:Project", "bad-build", {**build, "environment": {**env, "privilegedMode": True, "environmentVariables": [
            {"name": "AWS_ACCESS_KEY_ID", "value": FAKE_KEY_ID, "type": "PLAINTEXT"},
            {"name": "AWS_SECRET_ACCESS_KEY", "value": FAKE_SECRET, "type": "PLAINTEXT"}]}}),
        res("aws:codebuild/project:Project", "good-build", {**build, "encryptionKey": key_arn, "environment": {**env, "privilegedMode": False, "environmentVariables": [
            {"name": "DEPLOY_TOKEN", "value": "/ci/deploy-token", "type": "PARAMETER_STORE"}]}}),
        # CloudTrail log file validation
        res("aws:cloudtrail/trail:Trail", "bad-trail", {"name": "t", "s3BucketName": "good-bucket", "enableLogFileValidation": False}),
        res("aws:cloudtrail/trail:Trail", "good-trail", {"name": "t", "s3BucketName": "good-bucket", "enableLogFileValidation": True}),
        # CodePipeline artifact store encryption (pluralised "artifactStores" -> "artifact_store")
        res("aws:codepipeline/pipeline:Pipeline", "bad-pipeline", {**pipeline, "artifactStores": [{"location": "good-bucket", "type": "S3"}]}),
        res("aws:codepipeline/pipeline:Pipeline", "good-pipeline", {**pipeline, "artifactStores": [
            {"location": "good-bucket", "type": "S3", "encryptionKey": {"id": key_arn, "type": "KMS"}}]}),
        # Lambda environment (a map inside a v7-flattened block)
        res("aws:lambda/function:Function", "bad-function", {**fn, "environment": {"variables": {"AWS_SECRET_ACCESS_KEY": FAKE_SECRET}}}),
        res("aws:lambda/function:Function", "good-function", {**fn, "environment": {"variables": {"LOG_LEVEL": "INFO"}}}),
        # a CloudFormation template inside a stack: scanned as CloudFormation
        res("aws:cloudformation/stack:Stack", "tmpl-stack", {"name": "s", "templateBody": template}),
        team_set,
        res("aws:cloudformation/stackSetInstance:StackSetInstance", "team-set-a",
            {"stackSetName": "team-set", "parameterOverrides": {"Team": "a"}, "stackSetInstanceRegion": "us-east-1"},
            deps={"stackSetName": [team_set["urn"]]}),
    ]}


@pytest.fixture(scope="module")
def planted_scan(tmp_path_factory):
    if not CHECKOV.exists():
        pytest.skip(f"checkov not installed at {CHECKOV}")
    return scan.scan_stack("planted", CHECKOV, tmp_path_factory.mktemp("planted"), quiet=False, doc=planted())


def status(result: scan.StackResult, check: str, address: str) -> str | None:
    if any(f.check_id == check and f.address == address for f in result.findings):
        return "FAILED"
    if any(p["check_id"] == check and p["address"] == address for p in result.passed_checks):
        return "PASSED"
    return None


@needs_checkov
@pytest.mark.parametrize(
    "check, bad, good",
    [
        ("CKV_AWS_145", "aws_s3_bucket.bad-bucket", "aws_s3_bucket.good-bucket"),  # KMS default encryption
        ("CKV_AWS_21", "aws_s3_bucket.bad-bucket", "aws_s3_bucket.good-bucket"),  # versioning
        ("CKV2_AWS_6", "aws_s3_bucket.bad-bucket", "aws_s3_bucket.good-bucket"),  # public access block
        ("CKV_AWS_18", "aws_s3_bucket.bad-bucket", "aws_s3_bucket.good-bucket"),  # access logging
        ("CKV_AWS_7", "aws_kms_key.bad-key", "aws_kms_key.good-key"),  # rotation
        ("CKV_AWS_62", "aws_iam_policy.bad-policy", "aws_iam_policy.good-policy"),  # *:* admin
        ("CKV_AWS_62", "aws_iam_role_policy.bad-inline", "aws_iam_role_policy.good-inline"),
        ("CKV_AWS_63", "aws_iam_policy.bad-policy", "aws_iam_policy.good-policy"),  # "*" actions
        ("CKV_AWS_316", "aws_codebuild_project.bad-build", "aws_codebuild_project.good-build"),  # privileged mode
        ("CKV_AWS_147", "aws_codebuild_project.bad-build", "aws_codebuild_project.good-build"),  # CMK
        ("CKV_AWS_36", "aws_cloudtrail.bad-trail", "aws_cloudtrail.good-trail"),  # log file validation
        ("CKV_AWS_219", "aws_codepipeline.bad-pipeline", "aws_codepipeline.good-pipeline"),  # artifact store CMK
        ("CKV_AWS_45", "aws_lambda_function.bad-function", "aws_lambda_function.good-function"),  # secrets in env
    ],
)
def test_planted_problem_is_flagged_and_its_fix_passes(planted_scan, check, bad, good):
    assert status(planted_scan, check, bad) == "FAILED"
    assert status(planted_scan, check, good) == "PASSED"


@needs_checkov
def test_plaintext_aws_keys_are_found_by_the_secrets_framework(planted_scan):
    secrets = {(f.check_id, f.address) for f in planted_scan.findings if f.framework == "secrets"}
    assert ("CKV_SECRET_2", "aws_codebuild_project.bad-build") in secrets  # AWS access key id
    assert not any(a == "aws_codebuild_project.good-build" for _, a in secrets)


@needs_checkov
def test_embedded_cloudformation_template_is_scanned(planted_scan):
    cfn = [f for f in planted_scan.findings if f.framework == "cloudformation"]
    assert cfn, "the template inside aws_cloudformation_stack.tmpl-stack was not scanned"
    stack_findings = [f for f in cfn if f.address.startswith("aws_cloudformation_stack.tmpl-stack#")]
    assert stack_findings and all(f.address == "aws_cloudformation_stack.tmpl-stack#AWS::S3::Bucket.PlainBucket" for f in stack_findings)
    assert all(f.urn.endswith("::tmpl-stack") for f in cfn if f.address.startswith("aws_cloudformation_stack.tmpl-stack"))


@needs_checkov
def test_stack_set_templates_are_scanned_with_each_instances_parameters(planted_scan):
    """With its defaults (Team=none) the template deploys nothing checkov can see; with the
    instance's overrides it deploys a bucket, reported at the instance."""
    addresses = {f.address for f in planted_scan.findings} | {p["address"] for p in planted_scan.passed_checks}
    assert any(a.startswith("aws_cloudformation_stack_set_instance.team-set-a#AWS::S3::Bucket.TeamBucket") for a in addresses)
    assert not any(a.startswith("aws_cloudformation_stack_set.team-set#") for a in addresses)


@needs_checkov
def test_findings_map_back_to_pulumi(planted_scan):
    f = next(f for f in planted_scan.findings if f.address == "aws_kms_key.bad-key")
    assert f.pulumi_type == "aws:kms/key:Key" and f.urn.endswith("::bad-key")
    assert planted_scan.parsing_errors == 0


# --- the real stacks -------------------------------------------------------------------------


def _offline_wrapper(tmp: Path) -> Path | None:
    """A checkov launcher in a network namespace with no interfaces, where the OS allows one."""
    unshare = shutil.which("unshare")
    if not unshare or subprocess.run([unshare, "-n", "true"], capture_output=True).returncode != 0:
        return None
    wrapper = tmp / "checkov-offline"
    wrapper.write_text(f'#!/bin/sh\nexec {unshare} -n "{CHECKOV.absolute()}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def _scan_real(stack: str) -> dict:
    """One checkov run of a real stack (network cut off where possible), waivers applied."""
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix=f"checkov-{stack}-"))
    checkov = _offline_wrapper(tmp) or CHECKOV
    code, doc = plan_of(stack)
    # The plan's own findings are tests/test_plan.py's business; checkov scans what would deploy.
    assert not doc.get("config_errors"), doc.get("config_errors")
    r = scan.scan_stack(stack, checkov, tmp, doc=doc)
    scan.apply_waivers(r, scan.load_waivers(scan.WAIVERS), dt.date.today())
    return {"result": r, "offline": checkov != CHECKOV}


def real_scan(stack: str) -> dict:
    """Each stack is scanned once per run, by whichever xdist worker asks first (the scans of
    dev and prod run side by side; the stale-waiver test reads both)."""
    from tests.shared import once

    if not CHECKOV.exists():
        pytest.skip(f"checkov not installed at {CHECKOV}")
    return once(f"checkov-{stack}", lambda: _scan_real(stack))


@needs_checkov
@pytest.mark.parametrize("stack", STACKS)
def test_real_stack_has_no_unwaived_failures(stack):
    r = real_scan(stack)["result"]
    assert r.parsing_errors == 0
    assert r.passed > 50, "checkov ran almost nothing: is the export empty?"
    unwaived = [f"{f.check_id} {f.address} ({f.status}: {f.reason or f.name})" for f in r.unwaived]
    assert unwaived == [], "fix these, or waive them with a reason in checkov-waivers.yaml:\n" + "\n".join(unwaived)
    assert r.notes == [], r.notes  # every type mapped from the table, every property in the schema


@needs_checkov
def test_no_stale_waivers():
    import copy

    waivers = scan.load_waivers(scan.WAIVERS)
    for stack in STACKS:  # the waivers count what they match as they are applied
        scan.apply_waivers(copy.deepcopy(real_scan(stack)["result"]), waivers, dt.date.today())
    stale = scan.stale_waivers(waivers, list(STACKS))
    assert [w.label() for w in stale] == [], "these waivers match nothing any more: remove them"


@needs_checkov
def test_real_scan_ran_without_network():
    scans = [real_scan(stack) for stack in STACKS]
    if not all(s["offline"] for s in scans):
        pytest.skip("this machine does not allow `unshare -n` (no network namespace), so offline-ness is not proven here")
    assert all(s["result"].parsing_errors == 0 for s in scans)


# --- waivers (no checkov needed) -------------------------------------------------------------


def finding(check: str, address: str) -> scan.Finding:
    return scan.Finding(check_id=check, name="n", address=address, urn="", pulumi_type="", framework="terraform_plan")


def test_waivers_match_by_check_and_address_pattern_and_expire():
    today = dt.date(2026, 6, 1)
    r = scan.StackResult(stack="prod", plan_file=Path("x"), findings=[
        finding("CKV_AWS_144", "aws_s3_bucket.org-logs-bucket"),
        finding("CKV_AWS_144", "aws_s3_bucket.team-data"),
        finding("CKV_AWS_145", "aws_s3_bucket.org-logs-bucket"),
        finding("CKV_AWS_7", "aws_kms_key.k"),
    ])
    waivers = [
        scan.Waiver("CKV_AWS_144", "aws_s3_bucket.org-*-bucket", "logs stay in the home region"),
        scan.Waiver("CKV_AWS_145", "aws_s3_bucket.*", "temporary until the key lands", expires=dt.date(2026, 5, 31)),
        scan.Waiver("CKV_AWS_7", ["aws_kms_key.other", "aws_kms_key.k"], "dev only exception for the test", stacks=["dev"]),
        scan.Waiver("CKV_AWS_999", "aws_sns_topic.*", "matches nothing at all here"),
    ]
    scan.apply_waivers(r, waivers, today)
    by = {(f.check_id, f.address): f.status for f in r.findings}
    assert by == {
        ("CKV_AWS_144", "aws_s3_bucket.org-logs-bucket"): "WAIVED",
        ("CKV_AWS_144", "aws_s3_bucket.team-data"): "FAILED",  # pattern does not match
        ("CKV_AWS_145", "aws_s3_bucket.org-logs-bucket"): "EXPIRED",  # expired waivers do not waive
        ("CKV_AWS_7", "aws_kms_key.k"): "FAILED",  # waiver is for dev only
    }
    assert [f.address for f in r.unwaived] == ["aws_s3_bucket.team-data", "aws_s3_bucket.org-logs-bucket", "aws_kms_key.k"]
    stale = scan.stale_waivers(waivers, ["prod"])
    assert [w.check for w in stale] == ["CKV_AWS_999"]  # the dev-only one is not judged on prod
    assert [w.check for w in scan.stale_waivers(waivers, ["dev", "prod"])] == ["CKV_AWS_7", "CKV_AWS_999"]


def test_waiver_file_is_validated(tmp_path):
    bad = tmp_path / "w.yaml"
    bad.write_text(textwrap.dedent("""\
        waivers:
          - check: AWS_144
            resource: ""
            reason: because
            expires: someday
            owner: me
    """))
    with pytest.raises(scan.ScanError) as exc:
        scan.load_waivers(bad)
    msg = str(exc.value)
    for part in ("'check'", "'resource'", "'reason'", "'expires'", "unknown keys"):
        assert part in msg


def test_repository_waivers_are_valid_and_specific():
    waivers = scan.load_waivers(scan.WAIVERS)
    assert waivers, "checkov-waivers.yaml is empty"
    for w in waivers:
        patterns = [w.resource] if isinstance(w.resource, str) else w.resource
        for p in patterns:
            kind, _, name = p.partition(".")
            assert "*" not in kind and name.strip("*"), f"{w.label()}: waive named resources of one type, not everything"
    assert len({w.label() for w in waivers}) == len(waivers)


def test_cli_exit_codes_with_a_stand_in_checkov(tmp_path):
    """The CLI end to end on the dev stack, with a stand-in for checkov that reports one failure."""
    report = {"check_type": "terraform_plan", "summary": {"passed": 3, "failed": 1, "skipped": 0, "parsing_errors": 0, "resource_count": 9},
              "results": {"passed_checks": [], "failed_checks": [{
                  "check_id": "CKV_AWS_252", "check_name": "Ensure CloudTrail defines an SNS Topic",
                  "resource": "aws_cloudtrail.org-baseline-trail-trail", "file_abs_path": "x"}]}}
    fake = tmp_path / "checkov"
    fake.write_text(f"#!/bin/sh\nif [ \"$1\" = --version ]; then echo 0.0-test; exit 0; fi\ncat <<'EOF'\n{json.dumps(report)}\nEOF\nexit 1\n")
    fake.chmod(0o755)
    waived = tmp_path / "waivers.yaml"
    waived.write_text("waivers:\n  - check: CKV_AWS_252\n    resource: aws_cloudtrail.org-baseline-trail-trail\n"
                      "    reason: the trail alerts through EventBridge instead\n"
                      "  - check: CKV_AWS_1\n    resource: aws_nothing.here\n    reason: a waiver that matches nothing\n")
    args = ["--checkov", str(fake), "--stacks", "dev", "--out", str(tmp_path)]
    assert scan.main(args + ["--waivers", str(waived)]) == scan.EXIT_OK
    out = json.loads((tmp_path / "checkov-dev.json").read_text())
    assert out["summary"]["waived"] == 1 and out["summary"]["unwaived"] == 0
    assert out["findings"][0]["urn"].endswith("::org-baseline-trail-trail")
    assert scan.main(args + ["--waivers", str(waived), "--fail-on-stale"]) == scan.EXIT_FAILED
    assert scan.main(args + ["--waivers", str(tmp_path / "none.yaml")]) == scan.EXIT_FAILED
    expired = tmp_path / "expired.yaml"
    expired.write_text(waived.read_text().replace("instead\n", "instead\n    expires: 2020-01-01\n", 1))
    assert scan.main(args + ["--waivers", str(expired)]) == scan.EXIT_FAILED
    assert scan.main(["--checkov", str(tmp_path / "missing"), "--stacks", "dev", "--out", str(tmp_path)]) == scan.EXIT_ERROR
