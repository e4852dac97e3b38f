"""``gateway serve`` as deployed: its access line and the worker's line of one delivery
share the request id, and with tracing on the trace id too.

The API runs as its own process (uvicorn's access log on, as in production; tracing
turned on by OTEL_* variables alone), the worker in this process in burst mode.
"""

from __future__ import annotations

import socket

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.demo.processes import gateway_command
from gateway.demo.stack import register_webhook
from tests.gateway.tracing.spans import json_logs, lines, one
from tests.return_path import one_synced_task, wait_for_deliveries
from tests.world import World

LOOPBACK = "127.0.0.1"
ACCESS_LOGGER = "uvicorn.access"
JSON_LOGS = {"GATEWAY_LOG_FORMAT": "json", "GATEWAY_LOG_LEVEL": "INFO"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


async def deliver_through_gateway_serve(world: World, env: dict[str, str]) -> tuple[dict, dict]:
    """One delivery through a ``gateway serve`` child: (its access line, the worker's line)."""
    port = free_port()
    serve = gateway_command("serve", "--port", str(port))
    child = world.start_process("gateway-serve", serve, extra_env=JSON_LOGS | env)
    child.wait_http(f"http://{LOOPBACK}:{port}/healthz")
    register_webhook(world.jira, f"http://{LOOPBACK}:{port}", world.webhook_secret())
    _, key = await one_synced_task(world)
    with json_logs("INFO") as stream:
        world.jira.transition(key, to_category="done")
        await wait_for_deliveries(world, 1)
        await world.run_worker()
    child.stop()
    [access] = [
        line
        for line in lines(child.log_path.read_text(), ACCESS_LOGGER, "")
        if "POST /api/v1/webhooks/jira" in line["message"] and " 202" in line["message"]
    ]
    [handled] = lines(stream.getvalue(), "gateway.worker", "Jira issue")
    return access, handled


async def test_with_tracing_both_lines_carry_the_trace_id(
    spans: InMemorySpanExporter, world: World
) -> None:
    access, handled = await deliver_through_gateway_serve(
        world, {"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "gateway-api"}
    )
    assert access["trace_id"] == handled["trace_id"]
    assert access["request_id"] == handled["request_id"]
    job = one(spans.get_finished_spans(), "job process_jira_issue_event")
    assert job.parent is not None and job.parent.is_remote
    assert f"{job.parent.trace_id:032x}" == access["trace_id"]


async def test_without_tracing_both_lines_carry_the_request_id(world: World) -> None:
    access, handled = await deliver_through_gateway_serve(world, {})
    assert access["request_id"] == handled["request_id"]
    assert "trace_id" not in access and "trace_id" not in handled
