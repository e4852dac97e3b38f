"""Server spans are named by route template, also for requests answered before routing."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from starlette.types import Receive, Scope, Send

from gateway.api.domain_webhooks import DOMAIN_WEBHOOK_PATH
from gateway.api.webhooks import WEBHOOK_PATH
from gateway.monitoring.tracing import TracingMiddleware

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def answered_before_routing(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that answers without a router (as the ingress's fast path does)."""
    await send({"type": "http.response.start", "status": 202, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def request(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    middleware = TracingMiddleware(
        answered_before_routing, templates=(WEBHOOK_PATH, DOMAIN_WEBHOOK_PATH)
    )
    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": path}
    scope["headers"] = headers or []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    await middleware(scope, receive, send)


async def test_an_unrouted_request_is_named_by_its_template(spans: InMemorySpanExporter) -> None:
    await request("/api/v1/webhooks/jira/Zx81-public-id")
    await request("/api/v1/webhooks/jira")
    await request("/nowhere/42")

    names = [span.name for span in spans.get_finished_spans()]
    assert names == [f"POST {DOMAIN_WEBHOOK_PATH}", f"POST {WEBHOOK_PATH}", "POST"]
    first = spans.get_finished_spans()[0]
    assert first.kind == SpanKind.SERVER
    assert first.attributes is not None
    assert first.attributes["http.response.status_code"] == 202
    assert first.attributes["http.route"] == DOMAIN_WEBHOOK_PATH


async def test_a_callers_traceparent_is_continued(spans: InMemorySpanExporter) -> None:
    await request(WEBHOOK_PATH, [(b"traceparent", TRACEPARENT.encode())])

    [span] = spans.get_finished_spans()
    assert span.parent is not None and span.parent.is_remote
    assert f"{span.parent.trace_id:032x}" == TRACEPARENT.split("-")[1]
