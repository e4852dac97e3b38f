"""Metrics of upstream calls, shared by both clients' transport and the retry hook.

Endpoints are counted as templates (ids and issue keys replaced by ``{id}``) so the
label has a bounded number of values; nothing from headers or bodies is recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gateway import metrics
from gateway.clients.retry import RetryEvent

# Path segments that identify one object (ids, issue keys) become "{id}", so the
# endpoint label has a bounded number of values.
_ID_SEGMENT = re.compile(r"^(?:[0-9]+|[A-Za-z][A-Za-z0-9_]*-[0-9]+)$")
RATE_LIMITED_STATUS = 429


def endpoint_template(path: str) -> str:
    """``/rest/api/3/issue/10042/transitions`` -> ``/rest/api/3/issue/{id}/transitions``."""
    parts = path.split("?", 1)[0].split("/")
    out = []
    for index, part in enumerate(parts):
        # ``/rest/api/3/...``: the number after "api" is the API version, not an id.
        version = index > 0 and parts[index - 1] == "api"
        out.append("{id}" if _ID_SEGMENT.match(part) and not version else part)
    return "/".join(out)


def count_upstream_attempt(service: str, path: str, status: int | None) -> None:
    """One HTTP attempt to an upstream (called by the clients' transport)."""
    label = str(status) if status is not None else "error"
    metrics.UPSTREAM_REQUESTS.labels(
        service=service, endpoint=endpoint_template(path), status=label
    ).inc()
    if status == RATE_LIMITED_STATUS:
        metrics.UPSTREAM_RATE_LIMITED.labels(service=service).inc()


def record_retry(event: RetryEvent) -> None:
    """``RetryPolicy.on_retry`` hook: count the retry and the time it waits."""
    status = str(event.status) if event.status is not None else "error"
    metrics.UPSTREAM_RETRIES.labels(service=str(event.service), status=status).inc()
    metrics.UPSTREAM_BACKOFF_SECONDS.labels(service=str(event.service)).inc(event.delay)


def report_window(site: str, slots: int, paces: Mapping[str, float]) -> None:
    """A site's rate window changed: its slots, and its pace per kind of limit (per second)."""
    metrics.JIRA_WINDOW_SLOTS.labels(site=site).set(slots)
    for kind, pace in paces.items():
        metrics.JIRA_PACE_PER_SECOND.labels(site=site, kind=kind).set(pace)
