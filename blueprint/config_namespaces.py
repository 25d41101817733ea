"""Which config keys a stack file may hold: the project's own, the AWS provider's and Pulumi's.

A key in any other namespace is an error, not ignored: ``secureorg:teams`` (a typo of the
namespace) would otherwise drop every team, and ``aws:regoin`` would leave the provider on
its default region. The AWS provider's keys are read from the installed pulumi_aws package,
so they follow its version.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from blueprint.config_errors import close_match, shown

PROJECT = "secure-org"
# Keys the Pulumi engine itself reads from stack config.
PULUMI_KEYS = frozenset({"pulumi:autonaming", "pulumi:disable-default-providers", "pulumi:tags"})
_PROVIDER_GETTER = re.compile(r"__config__\.get(?:_bool|_int|_float|_object)?\('([A-Za-z0-9_]+)'\)")


@lru_cache(maxsize=1)
def aws_keys() -> frozenset[str]:
    """``aws:<key>`` for every setting of the installed pulumi_aws provider (its config/vars.py)."""
    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or not spec.submodule_search_locations:
        return frozenset({"aws:region"})
    source = (Path(next(iter(spec.submodule_search_locations))) / "config" / "vars.py").read_text()
    return frozenset(f"aws:{k}" for k in _PROVIDER_GETTER.findall(source))


def known_keys() -> frozenset[str]:
    return aws_keys() | PULUMI_KEYS


def check(flat: dict[str, Any], project_keys: list[str]) -> list[tuple[str, str]]:
    """Problems with keys outside the project's namespace, and with ``aws:region``'s value."""
    from blueprint.config import _region  # local import: config imports this module

    problems: list[tuple[str, str]] = []
    others = known_keys()
    for key in flat:
        ns, sep, _ = key.partition(":")
        if ns == PROJECT:
            continue
        if key in others:
            continue
        choices = others | {f"{PROJECT}:{k}" for k in project_keys}
        what = "unknown key" if ns in ("aws", "pulumi") else f"unknown namespace {ns!r}" if sep else "unknown key"
        hint = close_match(key, choices) or f": a stack file holds {PROJECT}:* keys, the AWS provider's aws:* keys and Pulumi's pulumi:* keys"
        problems.append((key, f"{what}{hint}"))
    region = flat.get("aws:region")
    if region is not None:
        try:
            _region(region if isinstance(region, str) else shown(region))
        except ValueError as exc:
            problems.append(("aws:region", str(exc)))
    return problems
