"""Read a stack file as Pulumi does, and say exactly where it is broken.

Pulumi reads ``Pulumi.<stack>.yaml`` with Go's yaml.v3, which follows YAML 1.2: only
``true``/``false`` are booleans (``yes``, ``no``, ``on``, ``off`` are text), dates stay text,
and a key given twice is an error. PyYAML's ``safe_load`` follows YAML 1.1 and silently keeps
the last of two keys, so ``object_lock_days: yes`` became 1 and a second ``secure-org:teams``
replaced the first. This loader resolves plain scalars like the YAML 1.2 core schema and
reports every duplicate key, a syntax error or a tab with its line and column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from blueprint.config_errors import ConfigError, close_match

# Top-level keys of a Pulumi stack settings file.
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
MERGE = "tag:yaml.org,2002:merge"
# libyaml's parser when PyYAML has it: 2,000 teams parse in under a second instead of five.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StackFileLoader(_Base):
    """SafeLoader with YAML 1.2 core-schema scalars that records duplicate keys instead of keeping the last."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self.duplicates: list[tuple[yaml.Mark, str]] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE:  # `<<: *anchor` merges; its keys may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:  # an unhashable key: SafeLoader reports it below
                continue
            if first is not key_node.start_mark:
                self.duplicates.append((key_node.start_mark, f"duplicate key {key!r} (first at line {first.line + 1}): "
                                                             "a key may appear once per mapping, and Pulumi rejects the file"))
        return super().construct_mapping(node, deep=deep)


def _int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    sign, body = (-1, text[1:]) if text[0] == "-" else (1, text.lstrip("+"))
    base = 8 if body.startswith("0o") else 16 if body.startswith("0x") else 10
    return sign * int(body[2:] if base != 10 else body, base)


# The YAML 1.2 core schema: everything else (dates, yes/no, 1:30, 0b1) is text. A number with a
# leading zero (017) is text too: YAML 1.2 reads it as 17 and yaml.v3 as octal 15, so neither is safe.
StackFileLoader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"^(?:[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
     "-+0123456789."),
    (MERGE, r"^(?:<<)$", "<"),
):
    StackFileLoader.add_implicit_resolver(_tag, re.compile(_regexp), list(_first))
StackFileLoader.add_constructor("tag:yaml.org,2002:int", _int)


def _where(mark: yaml.Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""


def _syntax(exc: yaml.YAMLError, text: str) -> tuple[str, str]:
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return "", f"is not valid YAML: {exc}"
    problem = exc.problem or "syntax error"
    mark = exc.problem_mark
    line = text.splitlines()[mark.line] if mark.line < len(text.splitlines()) else ""
    context = f" ({exc.context}, from line {exc.context_mark.line + 1})" if exc.context and exc.context_mark else ""
    if line[mark.column:mark.column + 1] == "\t":
        problem, context = "a tab character: YAML indents with spaces only", ""
    return _where(exc.problem_mark), f"is not valid YAML: {problem}{context}"


def load(text: str, source: str) -> Any:
    """Parse YAML text like Pulumi; every duplicate key, or the syntax error, as a ConfigError."""
    loader = StackFileLoader(text)
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise ConfigError(source, [_syntax(exc, text)]) from None
    finally:
        loader.dispose()
    if loader.duplicates:  # in file order (outer mappings are checked before inner ones)
        found = sorted(loader.duplicates, key=lambda d: (d[0].line, d[0].column))
        raise ConfigError(source, [(_where(mark), msg) for mark, msg in found])
    return doc


def read_stack_file(path: Path) -> dict[str, Any]:
    """The whole stack file as a mapping; a missing, unreadable or malformed file is a ConfigError."""
    source = path.name
    if not path.is_file():
        stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in path.parent.glob("Pulumi.*.yaml"))
        here = f"; the stacks here are {', '.join(stacks)}" if stacks else ""
        raise ConfigError(source, [("", f"no such stack file in {path.parent}{here} (a stack is a Pulumi.<stack>.yaml file)")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [("", f"cannot be read: {exc}")]) from None
    doc = load(text, source)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError(source, [("", "must be a mapping with a 'config:' key, like Pulumi.dev.yaml")])
    problems = [(str(k), f"unknown top-level key{close_match(k, STACK_FILE_KEYS)}: a stack file holds {', '.join(STACK_FILE_KEYS)}")
                for k in doc if k not in STACK_FILE_KEYS]
    if not isinstance(doc.get("config") or {}, dict):
        problems.append(("config", "must be a mapping of namespaced keys such as 'secure-org:organization'"))
    if problems:
        raise ConfigError(source, problems)
    return doc


def stack_config(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping, keys namespaced: a bare key belongs to the project, as in Pulumi."""
    from blueprint.config_namespaces import PROJECT

    config = read_stack_file(path).get("config") or {}
    return {(str(k) if ":" in str(k) else f"{PROJECT}:{k}"): v for k, v in config.items()}
