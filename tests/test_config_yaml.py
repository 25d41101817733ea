"""The stack-file reader: YAML 1.2 scalars as Pulumi reads them, duplicate keys and broken files as config errors."""

from __future__ import annotations

import pytest

from blueprint.config_errors import ConfigError
from blueprint.config_yaml import load, read_stack_file, stack_config


def test_scalars_follow_yaml_1_2_like_pulumi():
    doc = load(
        "a: yes\nb: no\nc: on\nd: off\ne: true\nf: False\ng: 2026-02-30\nh: 2026-01-01\n"
        "i: 1:30\nj: 0o17\nk: 0x1F\nl: ~\nm: 017\nn: 1.5\no: 1_000\np: -3\n",
        "x",
    )
    assert doc == {"a": "yes", "b": "no", "c": "on", "d": "off", "e": True, "f": False, "g": "2026-02-30", "h": "2026-01-01",
                   "i": "1:30", "j": 15, "k": 31, "l": None, "m": "017", "n": 1.5, "o": "1_000", "p": -3}


def test_duplicate_keys_at_any_depth_are_all_reported_with_line_and_column():
    text = "config:\n  a: 1\n  b:\n    - x: 1\n      x: 2\n  a: 3\n"
    with pytest.raises(ConfigError) as exc:
        load(text, "Pulumi.t.yaml")
    assert exc.value.lines() == [
        "Pulumi.t.yaml: line 5, column 7: duplicate key 'x' (first at line 4): a key may appear once per mapping, and Pulumi rejects the file",
        "Pulumi.t.yaml: line 6, column 3: duplicate key 'a' (first at line 2): a key may appear once per mapping, and Pulumi rejects the file",
    ]


def test_merge_keys_may_be_overridden():
    assert load("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n", "x")["d"] == {"x": 1, "y": 3}


@pytest.mark.parametrize("text,where,words", [
    ("config:\n\tsecure-org:teams: []\n", "line 2, column 1", "a tab character: YAML indents with spaces only"),
    ("config:\n  a: [1,\n", "line 3, column 1", "is not valid YAML: "),
    ("config:\n  a: b: c\n", "line 2, column 7", "is not valid YAML: "),
])
def test_syntax_errors_say_where(text, where, words):
    with pytest.raises(ConfigError) as exc:
        load(text, "Pulumi.t.yaml")
    (line,) = exc.value.lines()
    assert line.startswith(f"Pulumi.t.yaml: {where}: ") and words in line


def test_a_file_that_is_not_a_stack_file(tmp_path):
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text("confg:\n  secure-org:teams: []\n")
    with pytest.raises(ConfigError) as exc:
        read_stack_file(path)
    assert exc.value.lines()[0].startswith("Pulumi.t.yaml: confg: unknown top-level key (did you mean 'config'?)")
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping with a 'config:' key"):
        read_stack_file(path)


def test_a_bare_key_belongs_to_the_project(tmp_path):
    path = tmp_path / "Pulumi.t.yaml"
    path.write_text("config:\n  teams: []\n  aws:region: eu-west-1\n")
    assert stack_config(path) == {"secure-org:teams": [], "aws:region": "eu-west-1"}
