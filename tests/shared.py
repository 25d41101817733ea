"""Work computed once per test run and shared by every pytest-xdist worker.

A module-scoped fixture is built once per *worker*; the offline plans and the checkov scans
are the costliest things the suite builds, so they are computed by whichever worker first
needs them, under a file lock, and read back by the others. The cache lives for one run only
(keyed by xdist's run id), so it can never serve a result from older code.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, Callable

_MEMO: dict[str, Any] = {}


def _run_dir() -> Path | None:
    uid = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not uid:
        return None
    path = Path(tempfile.gettempdir()) / f"secure-org-tests-{uid}"
    path.mkdir(exist_ok=True)
    return path


def once(key: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per run (per process without xdist); the same value for every caller."""
    if key in _MEMO:
        return _MEMO[key]
    where = _run_dir()
    if where is None:
        _MEMO[key] = compute()
        return _MEMO[key]
    data = where / f"{key}.pickle"
    with open(where / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second worker waits here instead of recomputing
        if data.exists():
            value = pickle.loads(data.read_bytes())
        else:
            value = compute()
            tmp = data.with_suffix(".partial")
            tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
            tmp.replace(data)
    _MEMO[key] = value
    return value
