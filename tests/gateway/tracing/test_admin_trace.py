"""Work an operator queues from the admin API continues the request's trace and id."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway.admin.accounts import create_api_token
from gateway.api.app import create_app
from gateway.db import session_scope
from tests.gateway.tracing.spans import json_logs, lineage, one, trace_id
from tests.world import World

TICK_ROUTE = "POST /api/v1/admin/domains/{domain}/tick"


def bearer(world: World) -> dict[str, str]:
    with session_scope(world.engine) as session:
        _, plaintext = create_api_token(session, "tests")
    return {"Authorization": f"Bearer {plaintext}"}


async def test_run_tick_now_is_one_trace_from_the_click_to_the_tick(
    spans: InMemorySpanExporter, world: World
) -> None:
    domain_id = world.add_domain()
    world.pf.create_task("Welcome lunch")
    with TestClient(create_app(world.settings)) as client:
        response = client.post(
            f"/api/v1/admin/domains/{domain_id}/tick",
            headers=bearer(world) | {"X-Request-ID": "operator-click-1"},
        )
    assert response.status_code == 202, response.text
    with json_logs("INFO") as stream:
        await world.run_worker()

    finished = spans.get_finished_spans()
    request = one(finished, TICK_ROUTE)
    assert request.kind == SpanKind.SERVER and request.parent is None
    tick = one(finished, "tick")
    assert lineage(finished, tick) == ["tick", "job sync_pf_to_jira_task", TICK_ROUTE]
    assert {trace_id(span) for span in finished} == {trace_id(request)}
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    tick_lines = [entry for entry in entries if entry.get("domain") == "acme"]
    assert tick_lines, entries
    assert {entry.get("request_id") for entry in tick_lines} == {"operator-click-1"}
