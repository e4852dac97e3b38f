"""Benchmark: what tracing costs the webhook ingress, off (the default) and on.

The real app (real Redis, SQLite) is driven in-process through its ASGI interface, so
the figures are the app's own CPU per delivery, without a server or a load generator
around it. The modes run in alternating rounds and the median round of each is
compared, so a machine busy with other work skews them alike. "on" exports to a
batch processor whose exporter drops the spans: the cost of recording, not of a
network. A second table times the hook every traced function wears, off, against
the same function undecorated.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import timeit
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from starlette.types import Message

from bench.env import WEBHOOK_SECRET, GatewayEnv
from bench.payloads import SITE, DeliveryFactory
from bench.report import BenchResult
from gateway.api.app import create_app
from gateway.demo.storage import flush_redis
from gateway.monitoring import tracing

PATH = "/api/v1/webhooks/jira"
ROUNDS = 5
REQUESTS = 600
QUICK_REQUESTS = 150
HOOK_CALLS = 200_000
OFF_OVERHEAD_TARGET = 0.02


class DroppingExporter(SpanExporter):
    """Accepts every span and keeps none."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _scope(body: bytes, factory: DeliveryFactory, seq: int) -> dict[str, Any]:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-hub-signature", factory.signature(body).encode()),
        (b"x-atlassian-webhook-identifier", f"bench-{seq}".encode()),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _deliver(app: FastAPI, scope: dict[str, Any], body: bytes) -> int:
    """One request through the ASGI app; its status."""
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(dict(message))

    await app(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


async def _round(app: FastAPI, factory: DeliveryFactory, first: int, count: int) -> float:
    """CPU microseconds per delivery over ``count`` distinct deliveries."""
    requests = []
    for seq in range(first, first + count):
        body = factory.body(seq, 10_000 + seq)
        requests.append((_scope(body, factory, seq), body))
    started = time.process_time()
    for scope, body in requests:
        status = await _deliver(app, scope, body)
        if status != 202:
            raise RuntimeError(f"delivery answered {status}")
    return (time.process_time() - started) / count * 1e6


async def _ingress_rounds(env: GatewayEnv, requests: int) -> dict[str, list[float]]:
    factory = DeliveryFactory(WEBHOOK_SECRET)
    off_app = create_app(env.settings)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(DroppingExporter()))
    tracing.install(provider)
    try:
        on_app = create_app(env.settings)
        apps = {"off": off_app, "on": on_app}
        rounds: dict[str, list[float]] = {name: [] for name in apps}
        async with (
            off_app.router.lifespan_context(off_app),
            on_app.router.lifespan_context(on_app),
        ):
            seq = 0
            await _round(off_app, factory, seq, 20)  # warm both before measuring
            await _round(on_app, factory, seq + 20, 20)
            seq += 40
            for _ in range(ROUNDS):
                for name, app in apps.items():
                    if name == "on":
                        tracing.install(provider)
                    else:
                        tracing.uninstall()
                    rounds[name].append(await _round(app, factory, seq, requests))
                    seq += requests
                    flush_redis(env.redis_url)
    finally:
        tracing.uninstall()
        provider.shutdown()
    return rounds


def _hook_costs() -> dict[str, float]:
    """Nanoseconds per call: a plain function, the same wearing ``traced`` with tracing off."""

    def plain(value: int) -> int:
        return value + 1

    hooked = tracing.traced("bench")(plain)
    tracing.uninstall()
    runs = {
        name: min(timeit.repeat(lambda f=f: f(1), number=HOOK_CALLS, repeat=5)) / HOOK_CALLS
        for name, f in (("plain", plain), ("traced, off", hooked))
    }
    return {name: seconds * 1e9 for name, seconds in runs.items()}


def run(quick: bool = False) -> BenchResult:
    requests = QUICK_REQUESTS if quick else REQUESTS
    result = BenchResult(
        "tracing",
        "Tracing's cost to the webhook ingress: off (default) vs on",
        params={"rounds": ROUNDS, "deliveries_per_round": requests},
    )
    with GatewayEnv("tracing") as env:
        env.add_domain(jira_base_url=SITE)
        rounds = asyncio.run(_ingress_rounds(env, requests))
    median = {name: statistics.median(values) for name, values in rounds.items()}
    table = result.section(
        "ingress, in-process (CPU µs per delivery, median of rounds)",
        ["mode", "CPU µs/delivery", "rounds (µs)", "vs off"],
    )
    for name, value in median.items():
        table.add(name, value, " ".join(f"{v:.0f}" for v in rounds[name]), value / median["off"])
    hooks = _hook_costs()
    hook_table = result.section("one traced call, tracing off", ["function", "ns/call"])
    for name, value in hooks.items():
        hook_table.add(name, value)
    per_delivery_ns = 2 * (hooks["traced, off"] - hooks["plain"])  # verify and enqueue
    share = per_delivery_ns / 1000 / median["off"]
    result.figures = {"median_us": median, "hook_ns": hooks, "off_hook_share": share}
    result.target(
        "tracing off costs the ingress nothing measurable",
        f"the off hooks < {OFF_OVERHEAD_TARGET:.0%} of a delivery's CPU",
        f"{share:.3%}",
        share < OFF_OVERHEAD_TARGET,
    )
    result.notes.append(
        "'on' records every span (server, verify, enqueue) into a batch processor "
        "that drops them: the price of recording, before any network."
    )
    return result
