"""One signed delivery is one trace: ingress, queue, job and the PeopleForce call.

The real API on loopback receives the fake Jira's signed webhook, the real ARQ worker
runs the queued job in burst mode, and the job completes the task in the fake
PeopleForce; the SDK's in-memory exporter keeps every span they finish.
"""

from __future__ import annotations

from typing import cast

import pytest
import redis
from arq.constants import job_key_prefix
from arq.jobs import deserialize_job_raw, serialize_job
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, format_trace_id

from gateway.jobs import QUEUE_NAME
from gateway.monitoring.tracing import JOB_ORIGIN_KWARG
from tests.gateway.tracing.spans import (
    json_logs,
    lineage,
    lines,
    of_kind,
    one,
    span_id,
    trace_id,
)
from tests.return_path import one_synced_task, wait_for_deliveries
from tests.world import World

INGRESS = "POST /api/v1/webhooks/jira"
VERIFY = "webhook.verify"
ENQUEUE = "webhook.enqueue"
JOB = "job process_jira_issue_event"
COMPLETE = "peopleforce PUT /tasks/{id}/complete"


async def deliver_done(world: World, spans: InMemorySpanExporter | None = None) -> None:
    """Sync one task, then move its issue to done: the fake Jira sends one signed delivery."""
    _, key = await one_synced_task(world)
    if spans is not None:
        spans.clear()
    world.jira.transition(key, to_category="done")
    await wait_for_deliveries(world, 1)
    [delivery] = world.jira.webhooks.log
    assert delivery.status == 202


async def test_one_delivery_is_one_connected_trace(
    spans: InMemorySpanExporter, world: World, gateway_api: str
) -> None:
    await deliver_done(world, spans)
    await world.run_worker()

    finished = spans.get_finished_spans()
    ingress = one(finished, INGRESS)
    assert ingress.parent is None
    assert ingress.kind == SpanKind.SERVER
    assert ingress.attributes is not None
    assert ingress.attributes["http.response.status_code"] == 202
    assert {trace_id(span) for span in finished} == {trace_id(ingress)}
    assert lineage(finished, one(finished, VERIFY)) == [VERIFY, INGRESS]
    assert lineage(finished, one(finished, COMPLETE)) == [COMPLETE, JOB, ENQUEUE, INGRESS]
    assert one(finished, JOB).kind == SpanKind.CONSUMER
    assert one(finished, ENQUEUE).kind == SpanKind.PRODUCER
    # The job's other upstream calls (reading the issue in Jira) belong to it too.
    clients = of_kind(finished, SpanKind.CLIENT)
    assert len(clients) >= 2
    assert {c.parent.span_id for c in clients if c.parent} == {span_id(one(finished, JOB))}


def strip_origin(redis_url: str) -> int:
    """Rewrite every queued job as one queued without its origin; returns how many had one."""
    client = redis.Redis.from_url(redis_url)
    stripped = 0
    try:
        for raw_id in cast(list[bytes], client.zrange(QUEUE_NAME, 0, -1)):
            key = job_key_prefix.encode() + raw_id
            function, args, kwargs, job_try, enqueued_ms = deserialize_job_raw(
                cast(bytes, client.get(key))
            )
            stripped += int(kwargs.pop(JOB_ORIGIN_KWARG, None) is not None)
            ttl = cast(int, client.pttl(key))
            client.psetex(key, ttl, serialize_job(function, args, kwargs, job_try, enqueued_ms))
    finally:
        client.close()
    return stripped


async def test_a_job_without_its_carried_context_starts_a_second_trace(
    spans: InMemorySpanExporter, world: World, gateway_api: str
) -> None:
    """The connection is the carried context's doing: without it, two traces."""
    await deliver_done(world, spans)
    assert strip_origin(world.redis_url) == 1
    await world.run_worker()

    finished = spans.get_finished_spans()
    ingress, job = one(finished, INGRESS), one(finished, JOB)
    assert job.parent is None
    assert trace_id(job) != trace_id(ingress)
    assert lineage(finished, one(finished, COMPLETE)) == [COMPLETE, JOB]
    assert len({trace_id(span) for span in finished}) == 2


async def test_the_trace_id_is_in_the_api_and_the_worker_log_lines(
    spans: InMemorySpanExporter, world: World, gateway_api: str
) -> None:
    with json_logs() as stream:
        await deliver_done(world, spans)
        await world.run_worker()

    trace = format_trace_id(trace_id(one(spans.get_finished_spans(), INGRESS)))
    [queued] = lines(stream.getvalue(), "gateway.webhooks", "webhook queued")
    [handled] = lines(stream.getvalue(), "gateway.worker", "Jira issue")
    assert queued["trace_id"] == handled["trace_id"] == trace
    assert queued["span_id"] != handled["span_id"]
    # The request id travels with the job too: one delivery, followed by either id.
    assert queued["request_id"] == handled["request_id"]
    assert handled["job_id"].startswith("jira-event:")


async def test_without_tracing_the_request_id_still_reaches_the_worker(
    world: World, gateway_api: str
) -> None:
    with json_logs() as stream:
        await deliver_done(world)
        await world.run_worker()

    [queued] = lines(stream.getvalue(), "gateway.webhooks", "webhook queued")
    [handled] = lines(stream.getvalue(), "gateway.worker", "Jira issue")
    assert "trace_id" not in queued and "trace_id" not in handled
    assert queued["request_id"] == handled["request_id"]


async def test_a_job_queued_without_an_origin_has_no_request_id(
    world: World, gateway_api: str
) -> None:
    """The request id in the worker's line comes from the job, not from anywhere else."""
    with json_logs() as stream:
        await deliver_done(world)
        assert strip_origin(world.redis_url) == 1
        await world.run_worker()

    [handled] = lines(stream.getvalue(), "gateway.worker", "Jira issue")
    assert "request_id" not in handled


async def test_a_failed_call_is_marked_with_its_error_type_and_no_message(
    spans: InMemorySpanExporter,
    world: World,
    gateway_api: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Error messages can hold URLs and ids: spans carry the error's type, never its text."""
    import gateway.worker

    monkeypatch.setattr(gateway.worker, "INBOUND_MAX_TRIES", 1)
    await deliver_done(world, spans)
    world.pf_faults.partition("refuse")
    await world.run_worker()

    assert len(world.dead_letters()) == 1
    [failed] = [s for s in spans.get_finished_spans() if s.name == COMPLETE]
    assert failed.status.status_code == StatusCode.ERROR
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "TransientUpstreamError"
    assert failed.events == ()
    assert failed.status.description == "TransientUpstreamError"
