"""Run the real Pulumi program in-process under mocks, with one stack file's config."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as pulumi_settings

from blueprint.config import PROJECT
from blueprint.config_yaml import stack_config
from blueprint.offline.mocks import OfflineMocks, RecordingMonitor, Registration

SECRET_PLACEHOLDER = "offline-plan-secret-placeholder"


def _unsecure(value: Any) -> tuple[Any, bool]:
    """Replace ``{secure: ...}`` ciphertexts with a placeholder; report whether any were found."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], f = _unsecure(v)
            found |= f
        return out, found
    if isinstance(value, list):
        items = [_unsecure(v) for v in value]
        return [i for i, _ in items], any(f for _, f in items)
    return value, False


def stack_file_config(path: Path) -> tuple[dict[str, str], list[str]]:
    """Flatten a stack file's ``config:`` the way the Pulumi CLI hands it to a program.

    Read as Pulumi reads it (YAML 1.2, duplicate keys rejected); a broken file is a ConfigError.
    """
    flat: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in stack_config(path).items():
        value, secret = _unsecure(value)
        if secret:
            secrets.append(key)
        flat[key] = value if isinstance(value, str) else json.dumps(value)
    return flat, secrets


def run_program(stack: str, flat_config: dict[str, str], secret_keys: list[str], program, preview: bool = False) -> list[Registration]:
    """Run ``program()`` as `pulumi up` would (or `pulumi preview`), against mocks; return every registration.

    With ``preview=True`` the mocks answer like a preview of a new stack: ids and computed
    outputs (ARNs, account ids, key ids) are unknown, so the program meets the unknowns a
    real first `pulumi preview` has.

    Each run gets a fresh event loop and fresh runtime settings, so runs in one process
    (tests, the benchmark) do not leak state into each other.
    """
    region = flat_config.get("aws:region", "us-east-1")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        pulumi_settings.reset_options(project=PROJECT, stack=stack, preview=preview)
        pulumi.runtime.set_all_config(flat_config, secret_keys)
        mocks = OfflineMocks(region=region, preview=preview)
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
        pulumi.runtime.test(program)()
        return monitor.registrations
    finally:
        pulumi.runtime.set_all_config({}, [])
        asyncio.set_event_loop(None)
        loop.close()
