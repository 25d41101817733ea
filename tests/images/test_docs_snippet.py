"""docs/images.md tells the truth: its onboarding block validates and its components exist."""

from __future__ import annotations

import re

import pytest
import yaml

from blueprint.config import ConfigError, parse
from tests.conftest import REPO, stack_raw

DOC = (REPO / "docs" / "images.md").read_text()


def onboarding_block() -> dict:
    [block] = [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S) if b.lstrip().startswith("- name:")]
    [image] = yaml.safe_load(block)
    return image


def test_onboarding_an_image_is_adding_a_block():
    image = onboarding_block()
    raw = stack_raw("prod")
    before = len(raw["image_factory"]["images"])
    raw["image_factory"]["images"].append(image)
    cfg = parse(raw, "docs/images.md")
    assert len(cfg.image_factory.images) == before + 1
    for c in image["components"]:
        assert (REPO / "blueprint" / "images" / "components" / f"{c}.yaml").exists(), c


def test_a_broken_block_is_refused_naming_the_key():
    raw = stack_raw("prod")
    raw["image_factory"]["images"].append({**onboarding_block(), "instance_types": ["huge"], "severity_threshold": "SEVERE"})
    with pytest.raises(ConfigError) as e:
        parse(raw, "docs/images.md")
    text = str(e.value)
    assert "instance_types" in text and "severity_threshold" in text  # every error at once
