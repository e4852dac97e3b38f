"""Reading finished spans (by name, by kind, a span's chain of parents) and log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from io import StringIO
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from gateway.logs import configure_logging


def named(spans: Sequence[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def one(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    found = named(spans, name)
    assert len(found) == 1, f"{name}: {[span.name for span in spans]}"
    return found[0]


def of_kind(spans: Sequence[ReadableSpan], kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in spans if span.kind == kind]


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def trace_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id


def lineage(spans: Sequence[ReadableSpan], span: ReadableSpan) -> list[str]:
    """The names from ``span`` up to its root, following parent links among ``spans``."""
    by_id = {span_id(each): each for each in spans}
    names = [span.name]
    while span.parent is not None:
        assert span.parent.trace_id == trace_id(span), "a parent in another trace"
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


@contextmanager
def json_logs(level: str = "DEBUG") -> Generator[StringIO]:
    """Capture the JSON log lines of this process (API thread and worker alike); DEBUG
    by default, for the ingress's ``webhook queued`` line (in-process, no access log)."""
    root = logging.getLogger()
    handlers, level_before = list(root.handlers), root.level
    stream = StringIO()
    configure_logging(level, "json", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level_before)


def lines(text: str, logger: str, starts: str) -> list[dict[str, Any]]:
    """The JSON log entries of ``logger`` whose message starts with ``starts``."""
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # not a log line (a child's other output)
        if isinstance(entry, dict) and entry.get("logger") == logger:
            entries.append(entry)
    return [e for e in entries if e["message"].startswith(starts)]
