"""Where an ingress request's time goes: the ASGI app driven in-process, no sockets.

``python -m bench.ingress_profile [--requests N] [--concurrency C] [--profile gateway|bare]``

The ``ingress`` benchmark measures the whole stack (uvicorn, sockets, the load
generator); this harness calls the two ASGI apps directly with the same signed
deliveries, one request at a time on one event loop, so what is left is the
application's own cost per request: the gateway's ingress (with its real Redis
and database) against ``bench.bare_app``. With ``--profile`` it runs cProfile
over the chosen app and prints the functions that cost most (cumulative time),
which is how the ingress's hot spots were found. Not part of ``make bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from bench.bare_app import app as bare_app
from bench.env import WEBHOOK_SECRET, GatewayEnv
from bench.loadgen import ISSUE_ID_BASE
from bench.payloads import SITE, DeliveryFactory
from gateway.api.app import create_app

PATH = "/api/v1/webhooks/jira"
WARMUP_REQUESTS = 200

App = Callable[..., Any]
T = TypeVar("T")


def _scope(body: bytes, signature: str, identifier: str) -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1:8000"),
        (b"content-type", b"application/json"),
        (b"user-agent", b"Atlassian Webhook HTTP Client"),
        (b"content-length", str(len(body)).encode()),
        (b"x-hub-signature", signature.encode()),
        (b"x-atlassian-webhook-identifier", identifier.encode()),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _call(app: App, scope: dict[str, Any], body: bytes) -> int:
    """One request through ``app``; the response status."""
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _drive(
    app: App, factory: DeliveryFactory, count: int, concurrency: int, run: str
) -> tuple[float, int]:
    """CPU seconds for ``count`` requests after a warm-up, and how many were not 202.

    ``concurrency`` workers each send their share one after the other, as that many
    keep-alive connections of the load generator would.
    """
    for seq in range(WARMUP_REQUESTS):
        body = factory.body(seq, ISSUE_ID_BASE + seq)
        await _call(app, _scope(body, factory.signature(body), f"{run}-w{seq}"), body)
    requests = []
    for seq in range(count):
        body = factory.body(seq, ISSUE_ID_BASE + seq)
        requests.append((_scope(body, factory.signature(body), f"{run}-{seq}"), body))

    async def worker(share: list[tuple[dict[str, Any], bytes]]) -> int:
        return sum([await _call(app, scope, body) != 202 for scope, body in share])

    shares = [requests[n::concurrency] for n in range(concurrency)]
    started = time.process_time()
    refused = sum(await asyncio.gather(*(worker(share) for share in shares)))
    return time.process_time() - started, refused


async def _lifespan_and_drive(
    app: App,
    factory: DeliveryFactory,
    count: int,
    concurrency: int,
    profile: bool,
    top: int,
    sort: str = "cumulative",
) -> tuple[float, int, str]:
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await messages.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, messages.get, replies.put)
    )
    started = await replies.get()
    if started["type"] != "lifespan.startup.complete":
        raise SystemExit(f"app did not start: {started}")
    profiler = cProfile.Profile(time.process_time) if profile else None
    try:
        if profiler:
            profiler.enable()
        spent, refused = await _drive(app, factory, count, concurrency, uuid.uuid4().hex[:8])
    finally:
        if profiler:
            profiler.disable()
        await messages.put({"type": "lifespan.shutdown"})
        await replies.get()
        await lifespan
    report = ""
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
        report = out.getvalue()
    return spent, refused, report


def run_on_servers_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop when it is installed, as uvicorn's default ``loop="auto"`` does."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--profile", choices=["gateway", "bare"], default=None)
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--sort", choices=["cumulative", "tottime"], default="cumulative")
    args = parser.parse_args()
    factory = DeliveryFactory(WEBHOOK_SECRET)
    with GatewayEnv("ingress-profile") as env:
        env.add_domain(jira_base_url=SITE)
        apps: dict[str, App] = {"gateway": create_app(env.settings), "bare": bare_app}
        for name, app in apps.items():
            profile = args.profile == name
            spent, refused, report = run_on_servers_loop(
                _lifespan_and_drive(
                    app, factory, args.requests, args.concurrency, profile, args.top, args.sort
                )
            )
            print(
                f"{name}: {spent / args.requests * 1e6:.0f} µs CPU per request "
                f"({args.requests} requests, concurrency {args.concurrency}, {refused} not 202)"
                + (" [profiled]" if profile else "")
            )
            if report:
                print(report)


if __name__ == "__main__":
    main()
