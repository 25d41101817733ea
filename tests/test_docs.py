"""The documentation tells the truth: its config snippets validate, its commands exist."""

from __future__ import annotations

import re

import yaml

from blueprint.config import parse
from tests.conftest import REPO, stack_raw

README = (REPO / "README.md").read_text()
DOCS = [README] + [p.read_text() for p in sorted((REPO / "docs").glob("*.md"))]


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.S)


def test_onboarding_and_pipeline_snippets_validate():
    blocks = _yaml_blocks(README)
    team_block = next(b for b in blocks if b.lstrip().startswith("- name:"))
    pipeline_block = next(b for b in blocks if b.lstrip().startswith("pipeline:"))
    team = yaml.safe_load(team_block)[0]
    team["pipeline"] = yaml.safe_load(pipeline_block)["pipeline"]
    raw = stack_raw("prod")
    raw["teams"].append(team)
    parse(raw, "README.md")  # raises ConfigError naming the key on any drift


def test_existing_organization_snippet_validates():
    block = next(b for b in _yaml_blocks(README) if "secure-org:existing" in b)
    raw = stack_raw("dev")
    raw["existing"] = yaml.safe_load(block)["secure-org:existing"]
    parse(raw, "README.md")


def test_every_make_target_the_docs_name_exists():
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.M))
    named = {m for text in DOCS for m in re.findall(r"`make ([a-z][a-z0-9-]*)", text)}
    assert named and named <= targets, sorted(named - targets)
