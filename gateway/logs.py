"""Logging set-up: JSON lines for machines, plain text on a terminal.

Context (request id, domain, task id, issue key) travels in context variables, so
every line logged while a request or job runs carries it without passing it
around; ``extra=`` on one call still wins. Secrets are never context. When a span
is recording (``gateway.monitoring.tracing``), its trace and span ids are fields too,
so a line leads to its trace and a trace to its lines.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Generator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

# ARQ logs each job's start and end at INFO; these run every few seconds and would
# drown everything else, so their lines go out at DEBUG.
ROUTINE_ARQ_JOBS = ("cron:schedule_due_work", "cron:record_heartbeat")
ARQ_WORKER_LOGGER = "arq.worker"

# Context fields a record may carry through ``extra=`` or ``log_context``; emitted when present.
CONTEXT_FIELDS = (
    "request_id",
    "domain",
    "task_id",
    "issue_key",
    "issue_id",
    "job_id",
    "worker",
    "event",
    "trace_id",
    "span_id",
)

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "gateway_log_context", default=None
)


@contextmanager
def log_context(**fields: Any) -> Generator[None]:
    """Attach ``fields`` (only CONTEXT_FIELDS names) to every record logged in the block."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"not log context fields: {sorted(unknown)}")
    current = _context.get() or {}
    token = _context.set(current | {k: v for k, v in fields.items() if v is not None})
    try:
        yield
    finally:
        _context.reset(token)


def push_context(fields: dict[str, Any]) -> contextvars.Token[dict[str, Any] | None]:
    """``log_context`` without the context manager, for a per-request hot path: the
    caller has checked the names (CONTEXT_FIELDS) and passes the token to ``pop_context``."""
    return _context.set((_context.get() or {}) | fields)


def pop_context(token: contextvars.Token[dict[str, Any] | None]) -> None:
    """Restore the context ``push_context`` replaced."""
    _context.reset(token)


def current_context() -> dict[str, Any]:
    """The context fields in force here (a copy)."""
    return dict(_context.get() or {})


class ContextFilter(logging.Filter):
    """Copies the context variables, and the ids of the span in force, onto each record
    that does not set them itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_context.get() or {}).items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        span = trace.get_current_span().get_span_context()
        if span.is_valid and getattr(record, "trace_id", None) is None:
            record.trace_id = trace.format_trace_id(span.trace_id)
            record.span_id = trace.format_span_id(span.span_id)
        return True


class RoutineJobFilter(logging.Filter):
    """Demotes ARQ's start/end lines of the scheduler and heartbeat crons to DEBUG.

    ARQ writes them at INFO with no setting to change it; a handler filter is the one
    place that sees them before they are written, whichever format is chosen.
    """

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != ARQ_WORKER_LOGGER or record.levelno != logging.INFO:
            return True
        message = record.getMessage()
        if not any(job in message for job in ROUTINE_ARQ_JOBS):
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return self.threshold <= logging.DEBUG


# A Telegram bot token sits in the Bot API's URL path (/bot<id>:<secret>/sendMessage),
# which httpx logs at DEBUG; whatever logs such a URL, the token is cut out.
_BOT_TOKEN_IN_URL = re.compile(r"/bot[0-9]+:[A-Za-z0-9_-]+")


class RedactFilter(logging.Filter):
    """Replaces credentials that can appear in logged URLs before any line is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _BOT_TOKEN_IN_URL.sub("/bot<redacted>", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the context fields the gateway attaches."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Human lines; context fields follow the message as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [
            f"{field}={getattr(record, field)}"
            for field in CONTEXT_FIELDS
            if getattr(record, field, None) is not None
        ]
        return f"{line} [{' '.join(extras)}]" if extras else line


def configure_logging(
    level: str = "INFO", fmt: str = "auto", stream: Any = None
) -> logging.Handler:
    """Install one handler on the root logger (idempotent); stderr unless ``stream``."""
    target = stream if stream is not None else sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not target.isatty())
    handler = logging.StreamHandler(target)
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    handler.addFilter(RoutineJobFilter(root.level))
    handler.addFilter(RedactFilter())
    # httpx logs full URLs at INFO; keep it quiet unless debugging.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    # Alembic narrates every migration step at INFO (about 20 lines at each start).
    quiet = logging.WARNING if root.level > logging.DEBUG else logging.DEBUG
    logging.getLogger("alembic").setLevel(quiet)
    # Python warnings (deprecations of libraries) become records in the same format.
    logging.captureWarnings(True)
    return handler
