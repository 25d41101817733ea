"""Exceptions raised by the findings importer."""

from __future__ import annotations


class FindingsImporterError(Exception):
    """Base class; ``kind`` is echoed into the handler result."""

    kind = "InternalError"


class EventValidationError(FindingsImporterError):
    """The invocation event (or CodePipeline UserParameters) is unusable."""

    kind = "InvalidEvent"


class ReportLoadError(FindingsImporterError):
    """The raw report could not be read (S3, artifact zip, size limits)."""

    kind = "ReportUnavailable"


class ReportFormatError(FindingsImporterError):
    """The report is not a valid document of the declared format.

    The message always names the format and, where it helps, the JSON path of
    the offending element, e.g.
    ``sarif report is malformed at $.runs[0].results[3]: expected an object``.
    """

    kind = "MalformedReport"

    def __init__(self, fmt: str, problem: str, path: str | None = None):
        self.format = fmt
        self.problem = problem
        self.path = path
        where = f" at {path}" if path else ""
        super().__init__(f"{fmt} report is malformed{where}: {problem}")


class ImportFailedError(FindingsImporterError):
    """Some findings could not be imported into Security Hub after retries."""

    kind = "ImportFailed"
