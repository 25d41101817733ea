"""Static types: blueprint/ and components/ type-check against pulumi_aws's own annotations.

basedpyright (pyright's rules, node bundled from PyPI) runs with pyrightconfig.json, "standard"
mode, against the interpreter running these tests, so every keyword and nested ``*Args`` type
passed to pulumi_aws is checked. It lives in ./.venv-lint (requirements-lint.txt, built by
`make test`); looked up as $BASEDPYRIGHT, then on PATH, then in ./.venv-lint/bin.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CHECKED = ("blueprint", "components")


def checker() -> str:
    for candidate in (os.environ.get("BASEDPYRIGHT"), shutil.which("basedpyright"), str(REPO / ".venv-lint" / "bin" / "basedpyright")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    missing = "basedpyright is not installed (`make test` installs it into .venv-lint; or set $BASEDPYRIGHT)"
    if os.environ.get("CI"):
        pytest.fail(missing)  # in CI the type check must run, never pass by skipping
    pytest.skip(missing)


def run(project: Path) -> dict:
    """Diagnostics of one project, resolving imports through this interpreter's site-packages."""
    done = subprocess.run([checker(), "--outputjson", "--pythonpath", sys.executable, "-p", str(project)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"basedpyright exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


def errors(report: dict) -> list[str]:
    return [f"{Path(d['file']).relative_to(REPO) if d['file'].startswith(str(REPO)) else Path(d['file']).name}:"
            f"{d['range']['start']['line'] + 1}: {d['message'].splitlines()[0]} ({d.get('rule', '')})"
            for d in report["generalDiagnostics"] if d["severity"] == "error"]


def test_blueprint_and_components_have_no_type_errors():
    report = run(REPO / "pyrightconfig.json")
    found = errors(report)
    assert not found, f"{len(found)} type errors:\n" + "\n".join(found)
    # Every module was checked (a broken config or include would check nothing and pass).
    sources = [p for d in CHECKED for p in (REPO / d).rglob("*.py")]
    assert report["summary"]["filesAnalyzed"] >= len(sources)


PROBE = '''\
import pulumi_aws as aws

aws.cloudformation.StackSetInstance("a", stack_set_name="s", stack_set_instance_regoin="us-east-1")
aws.s3.BucketVersioning("b", bucket="b", versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(statuz="Enabled"))
aws.s3.BucketVersioning("c", bucket="b", versioning_configuration={"statuz": "Enabled"})
aws.imagebuilder.ImageRecipeBlockDeviceMappingEbsArgs(encrypted=True)
'''


def test_the_checker_sees_pulumi_aws_keywords_and_nested_types(tmp_path):
    """A misspelled keyword, a misspelled nested key (Args class and plain dict) and a bool where
    the SDK takes a string: each is an error, so pulumi_aws's types really are resolved."""
    (tmp_path / "probe.py").write_text(PROBE)
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({"include": ["probe.py"], "typeCheckingMode": "standard"}))
    lines = sorted({int(e.split(":")[1]) for e in errors(run(tmp_path))})
    assert lines == [3, 4, 5, 6], errors(run(tmp_path))


# --- keywords stay checkable ------------------------------------------------------------


def splatted_calls(source: str) -> list[int]:
    """Lines where a ``**mapping`` is passed to pulumi_aws (a resource or an *Args class):
    its keys would escape the type check."""
    tree = ast.parse(source)
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name.split(".")[0] == "pulumi_aws"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pulumi_aws":
            aliases |= {a.asname or a.name for a in node.names}
    for node in tree.body:  # module-level shorthands such as `ib = aws.imagebuilder`
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in aliases:
                aliases |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(k.arg is None for k in node.keywords):
            root = node.func
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in aliases:
                out.append(node.lineno)
    return out


def test_no_mapping_is_splatted_into_pulumi_aws():
    found = [f"{p.relative_to(REPO)}:{line}" for d in CHECKED for p in sorted((REPO / d).rglob("*.py"))
             for line in splatted_calls(p.read_text())]
    assert not found, "pass pulumi_aws its keywords one by one:\n" + "\n".join(found)


def test_a_splat_is_found_through_any_alias():
    source = ("import pulumi_aws as aws\nfrom pulumi_aws import s3\nib = aws.imagebuilder\nprefs = {}\n"
              "aws.cloudformation.StackSetOperationPreferencesArgs(**prefs)\ns3.Bucket('b', **prefs)\nib.Image('i', **prefs)\n"
              "dict(**prefs)\n")
    assert splatted_calls(source) == [5, 6, 7]
