"""Data and history outlive config edits: organization-level data protected and retained, a team's retained only."""

from __future__ import annotations

from pathlib import Path

import pulumi_aws

from blueprint.offline.checks import data_types
from tests.conftest import resources_of


def test_data_resource_types_are_real_pulumi_aws_types():
    sources = "".join(p.read_text() for p in Path(pulumi_aws.__file__).parent.rglob("*.py") if p.stem != "_utilities")
    missing = [t for t in data_types() if f"'{t}'" not in sources]
    assert missing == []


def _team_scoped(r: dict) -> bool:
    """Inside a team's pipeline, or tagged with a team (its artifact key, made before the pipeline)."""
    return "blueprint:pipeline:TeamPipeline$" in r["urn"] or "team" in (r["inputs"].get("tags") or {})


def test_every_data_resource_is_kept_and_only_organization_data_is_protected(plan):
    data = [r for t in data_types() for r in resources_of(plan, t)]
    for r in data:
        assert r["retain_on_delete"], r["name"]
        # Protecting a team's data would stop `pulumi up` when its pipeline block is removed.
        assert r["protect"] is not _team_scoped(r), r["name"]
    kinds = {(r["type"], _team_scoped(r)) for r in data}
    if plan["stack"] == "prod":  # prod has both kinds of every type its pipelines and baseline create
        for t in ("aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:cloudwatch/logGroup:LogGroup", "aws:sns/topic:Topic"):
            assert {(t, True), (t, False)} <= kinds, t
        assert {("aws:codepipeline/pipeline:Pipeline", True), ("aws:codecommit/repository:Repository", True),
                ("aws:cloudtrail/trail:Trail", False)} <= kinds


def test_a_bucket_is_retained_with_its_settings(plan):
    """A bucket left behind stays private, encrypted, versioned and TLS-only."""
    for r in plan["resources"]:
        if "blueprint:storage:SecureBucket$" in r["urn"] and r["custom"]:
            assert r["retain_on_delete"], r["name"]
