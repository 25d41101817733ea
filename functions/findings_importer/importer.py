"""Batching, rate limiting and retries for ``securityhub:BatchImportFindings``.

Guarantees:

* every request holds at most 100 findings **and** a body of at most
  6,000,000 bytes (the serialised size is measured exactly, see
  :func:`asff.serialized_size`);
* throttling / transient errors (the botocore throttling codes, HTTP 429 and
  5xx, connection errors) are retried with exponential backoff and jitter, a
  bounded number of times per request;
* ``FailedFindings`` are re-sent (only those) in up to ``failed_finding_passes``
  further passes;
* calls are paced to ``rate_per_second`` (Security Hub allows 10 TPS, burst 30);
* nothing is lost silently: every finding ends up either imported or in
  :attr:`ImportOutcome.failed` with an error code and message;
* each finding is validated client-side against the botocore model first, so
  one malformed finding can't make botocore reject a whole batch of 100.

``sleep``, ``clock``, ``rng`` and ``time_left`` are injectable so tests run
instantly and deterministically.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

if __package__:
    from .asff import serialized_size
else:  # flat Lambda bundle
    from asff import serialized_size

LOG = logging.getLogger(__name__)

MAX_FINDINGS_PER_BATCH = 100
MAX_BATCH_BYTES = 6_000_000  # 6 MB; below 6 MiB as well
_ENVELOPE = len('{"Findings": []}')  # json.dumps({"Findings": [...]}) framing
_SEPARATOR = len(", ")

try:  # the union of throttling codes botocore itself retries on
    from botocore.retries.standard import ThrottledRetryableChecker as _Checker

    _BOTOCORE_THROTTLING = frozenset(_Checker._THROTTLED_ERROR_CODES)
except (ImportError, AttributeError):  # pragma: no cover - older botocore
    _BOTOCORE_THROTTLING = frozenset()

THROTTLING_CODES = _BOTOCORE_THROTTLING | {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "SlowDown",
}
TRANSIENT_CODES = frozenset(
    {
        "InternalException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
#: Errors that no amount of retrying fixes and that apply to every request.
FATAL_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "InvalidAccessException",  # Security Hub not enabled in the account/region
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "ExpiredToken",
        "InvalidSignatureException",
    }
)
_CONNECTION_ERRORS = (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectTimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8  # per request, throttling/transient errors
    base_delay: float = 0.25  # seconds
    max_delay: float = 20.0
    failed_finding_passes: int = 3  # extra passes re-sending FailedFindings
    rate_per_second: float = 10.0
    deadline_margin: float = 10.0  # stop sending when less time than this remains

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with "equal jitter": in [cap/2, cap]."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return cap / 2 + rng.uniform(0, cap / 2)


class RateLimiter:
    """Spaces calls at least ``1/rate`` seconds apart."""

    def __init__(self, rate_per_second: float, clock: Callable[[], float], sleep: Callable[[float], None]):
        self._interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = float("-inf")
        self.waited = 0.0

    def acquire(self) -> None:
        now = self._clock()
        if now < self._next:
            self._sleep(self._next - now)
            self.waited += self._next - now
            now = self._next
        self._next = now + self._interval


@dataclass
class ImportOutcome:
    imported_ids: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)  # {"Id", "ErrorCode", "ErrorMessage"}
    calls: int = 0
    retries: int = 0  # throttling/transient retries of a request
    passes: int = 0
    backoff_seconds: float = 0.0
    rate_limit_seconds: float = 0.0

    @property
    def imported(self) -> int:
        return len(self.imported_ids)


class _RequestFailed(Exception):
    def __init__(self, code: str, message: str, retryable: bool, fatal: bool = False):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.retryable, self.fatal = code, message, retryable, fatal


@functools.lru_cache(maxsize=1)
def _finding_shape():
    import botocore.session

    model = botocore.session.get_session().get_service_model("securityhub")
    return model.operation_model("BatchImportFindings").input_shape.members["Findings"].member


def validate_finding(finding: dict) -> str | None:
    """botocore's client-side validation of one finding; error text or None."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(finding, _finding_shape())
    return report.generate_report() if report.has_errors() else None


def chunk(
    findings: Iterable[tuple[dict, int]],
    max_count: int = MAX_FINDINGS_PER_BATCH,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[list[dict]]:
    """Greedy, order-preserving split into requests within both limits.

    ``findings`` yields ``(finding, serialized_size)``. A finding that can't
    fit even alone must be filtered out by the caller beforehand.
    """
    batch: list[dict] = []
    size = _ENVELOPE
    for finding, fsize in findings:
        extra = fsize + (_SEPARATOR if batch else 0)
        if batch and (len(batch) >= max_count or size + extra > max_bytes):
            yield batch
            batch, size, extra = [], _ENVELOPE, fsize
        batch.append(finding)
        size += extra
    if batch:
        yield batch


def request_size(batch: list[dict]) -> int:
    """Exact body size of a BatchImportFindings request (for tests/metrics)."""
    return _ENVELOPE + sum(serialized_size(f) for f in batch) + _SEPARATOR * max(len(batch) - 1, 0)


class Importer:
    def __init__(
        self,
        client: Any,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        time_left: Callable[[], float] | None = None,
        validate: bool = True,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        max_batch_count: int = MAX_FINDINGS_PER_BATCH,
    ):
        self.client = client
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.time_left = time_left
        self.validate = validate
        # Never above the service limits, whatever the caller asks for.
        self.max_batch_bytes = min(max_batch_bytes, MAX_BATCH_BYTES)
        self.max_batch_count = max(1, min(max_batch_count, MAX_FINDINGS_PER_BATCH))
        self.limiter = RateLimiter(self.policy.rate_per_second, clock, sleep)

    # -- helpers -----------------------------------------------------------
    def _out_of_time(self) -> bool:
        return self.time_left is not None and self.time_left() < self.policy.deadline_margin

    def _backoff(self, attempt: int, outcome: ImportOutcome) -> bool:
        delay = self.policy.backoff(attempt, self.rng)
        if self.time_left is not None and self.time_left() - delay < self.policy.deadline_margin:
            return False
        outcome.backoff_seconds += delay
        self.sleep(delay)
        return True

    def _send(self, batch: list[dict], outcome: ImportOutcome) -> dict:
        """One request, retried on throttling/transient errors."""
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire()
            outcome.calls += 1
            try:
                return self.client.batch_import_findings(Findings=batch)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = error.get("Code") or "Unknown"
                message = error.get("Message") or str(exc)
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
                if code in FATAL_CODES:
                    raise _RequestFailed(code, message, retryable=False, fatal=True) from None
                retryable = code in THROTTLING_CODES or code in TRANSIENT_CODES or status == 429 or status >= 500
            except _CONNECTION_ERRORS as exc:
                code, message, retryable = type(exc).__name__, str(exc), True
            if not retryable:
                raise _RequestFailed(code, message, retryable=False)
            if attempt >= self.policy.max_attempts:
                raise _RequestFailed(code, f"{message} (gave up after {attempt} attempts)", retryable=True)
            LOG.warning("BatchImportFindings %s (attempt %d/%d), backing off", code, attempt, self.policy.max_attempts)
            if not self._backoff(attempt, outcome):
                raise _RequestFailed(code, f"{message} (no time left to retry)", retryable=True)
            outcome.retries += 1

    # -- main entry point --------------------------------------------------
    def import_findings(self, findings: list[dict]) -> ImportOutcome:
        outcome = ImportOutcome()
        errors: dict[str, tuple[str, str]] = {}
        pending: list[tuple[dict, int]] = []
        seen_ids: set[str] = set()
        for finding in findings:
            fid = finding.get("Id")
            problem = validate_finding(finding) if self.validate else None
            if not isinstance(fid, str) or not fid.strip():
                rejection = ("ClientValidationError", problem or "finding has no Id")
            elif problem:
                rejection = ("ClientValidationError", problem)
            elif fid in seen_ids:
                rejection = ("DuplicateId", "the same finding Id appears more than once in this import")
            else:
                size = serialized_size(finding)
                rejection = None
                if size + _ENVELOPE > self.max_batch_bytes:
                    rejection = ("FindingTooLarge", f"{size} bytes do not fit in one request")
            if rejection:
                # Rejected client-side: never sent, reported as failed.
                outcome.failed.append({"Id": str(fid), "ErrorCode": rejection[0], "ErrorMessage": rejection[1]})
                continue
            seen_ids.add(fid)
            pending.append((finding, size))
        final_failed: list[str] = []

        halted: tuple[str, str] | None = None  # (code, message) once sending must stop
        for pass_no in range(self.policy.failed_finding_passes + 1):
            if not pending or halted:
                break
            if pass_no:
                if not self._backoff(pass_no, outcome):
                    break
                LOG.warning("re-sending %d failed finding(s), pass %d", len(pending), pass_no)
            outcome.passes += 1
            retry: list[tuple[dict, int]] = []
            sizes = {f["Id"]: s for f, s in pending}
            for batch in chunk(pending, self.max_batch_count, self.max_batch_bytes):
                ids = [f["Id"] for f in batch]
                if halted is None and self._out_of_time():
                    halted = ("DeadlineExceeded", "the Lambda time ran out before this finding could be imported")
                if halted:
                    for fid in ids:
                        previous = errors.get(fid)
                        suffix = f" (last error {previous[0]}: {previous[1]})" if previous else ""
                        errors[fid] = (halted[0], halted[1] + suffix)
                    final_failed.extend(ids)
                    continue
                try:
                    response = self._send(batch, outcome)
                except _RequestFailed as exc:
                    for fid in ids:
                        errors[fid] = (exc.code, exc.message)
                    if exc.fatal:
                        halted = (exc.code, f"not sent after a fatal error: {exc.message}")
                        final_failed.extend(ids)
                    else:
                        # Re-sending is safe: Ids are stable, a repeat only updates.
                        retry.extend((f, sizes[f["Id"]]) for f in batch)
                    continue
                failed_entries = [e for e in response.get("FailedFindings") or [] if isinstance(e, dict)]
                failed_ids = {e.get("Id") for e in failed_entries} & set(ids)
                for entry in failed_entries:
                    if entry.get("Id") in failed_ids:
                        errors[entry["Id"]] = (entry.get("ErrorCode") or "Unknown", entry.get("ErrorMessage") or "")
                if (response.get("FailedCount") or 0) > len(failed_ids):
                    # Failures we can't attribute to Ids: re-send the whole batch.
                    LOG.warning(
                        "FailedCount=%s but only %d failed Ids identified; re-sending the batch",
                        response.get("FailedCount"),
                        len(failed_ids),
                    )
                    for fid in ids:
                        errors.setdefault(fid, ("UnattributedFailure", "FailedCount exceeded the FailedFindings returned"))
                    retry.extend((f, sizes[f["Id"]]) for f in batch)
                    continue
                for finding in batch:
                    if finding["Id"] in failed_ids:
                        retry.append((finding, sizes[finding["Id"]]))
                    else:
                        errors.pop(finding["Id"], None)
                        outcome.imported_ids.append(finding["Id"])
            pending = retry
        final_failed.extend(f["Id"] for f, _ in pending)

        reported: set[str] = set()
        for fid in final_failed:
            if fid not in reported:
                reported.add(fid)
                code, message = errors.get(fid, ("Unknown", "not imported"))
                outcome.failed.append({"Id": fid, "ErrorCode": code, "ErrorMessage": message})
        outcome.rate_limit_seconds = self.limiter.waited
        return outcome
