"""After a small story, /metrics on the API and on a real worker process hold the right counts.

The worker is a `gateway worker` process with its own metrics port; the API is the
real app on loopback, registered as the fake Jira's admin webhook. Three tasks are
created, one completion arrives by webhook, one lost webhook is repaired by a sweep.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
from prometheus_client.parser import text_string_to_metric_families

from fakes.server import FakeServer
from gateway.api.app import create_app
from gateway.jobs import ISSUE_EVENT_JOB, SWEEP_JOB
from gateway.settings import ENV_PREFIX
from tests.conftest import WEBHOOK_SECRET
from tests.world import World


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text page, keyed by name and labels."""
    text = httpx.get(url, timeout=5).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def from_workers(samples: dict, name: str, **labels: str) -> float:
    """The sum over the workers' series of ``name`` that have ``labels``.

    Only series with a ``worker`` label: the API's own counters (this test process's,
    which other tests' in-process workers may have counted) are left out.
    """
    wanted = set(labels.items())
    return sum(
        v
        for (n, series), v in samples.items()
        if n == name and wanted <= series and "worker" in dict(series)
    )


async def eventually(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_counters_after_a_story(world: World) -> None:
    api = FakeServer(create_app(world.settings)).start()
    world.jira.webhooks.register(f"{api.url}/api/v1/webhooks/jira", secret=WEBHOOK_SECRET)
    metrics_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update(
        {
            "GATEWAY_DATABASE_URL": world.settings.effective_database_url,
            "GATEWAY_REDIS_URL": world.settings.redis_url or "",
            "GATEWAY_DATA_DIR": str(world.settings.data_dir),
            "GATEWAY_WORKER_METRICS_PORT": str(metrics_port),
            "GATEWAY_WORKER_METRICS_HOST": "127.0.0.1",
            "GATEWAY_SCHEDULER_INTERVAL_SECONDS": "1",
            "GATEWAY_LOG_FORMAT": "json",
        }
    )
    accepted_before = value(scrape(f"{api.url}/metrics"), "gateway_webhooks_accepted_total")
    world.add_domain(poll_interval_seconds=1)
    for n in range(3):
        world.pf.create_task(f"Onboarding step {n}")
    worker = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await eventually(lambda: len(world.issues()) == 3, "three issues")
        first, second = world.issues()[:2]

        world.jira.transition(first["key"], to_category="done")  # delivered and queued
        await eventually(
            lambda: sum(t["completed"] for t in world.pf.tasks.values()) == 1, "webhook path"
        )
        world.jira.webhooks.set_faults(drop_rate=1.0)
        world.jira.transition(second["key"], to_category="done")  # this webhook is lost
        await world.pool.enqueue_job(SWEEP_JOB, world.domain_id)
        await eventually(
            lambda: sum(t["completed"] for t in world.pf.tasks.values()) == 2, "sweep repair"
        )

        worker_metrics = scrape(f"http://127.0.0.1:{metrics_port}/metrics")
        # One endpoint for everything: the API serves the worker's counters too.
        await eventually(
            lambda: from_workers(scrape(f"{api.url}/metrics"), "gateway_sweep_repaired_total") == 1,
            "the worker's counters on the API's /metrics",
        )
        api_metrics = scrape(f"{api.url}/metrics")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        api.stop()

    assert value(worker_metrics, "gateway_ticks_total", domain="acme", outcome="ok") >= 1
    assert value(worker_metrics, "gateway_sync_actions_total", domain="acme", action="created") == 3
    create = {"service": "jira", "endpoint": "/rest/api/3/issue", "status": "201"}
    assert value(worker_metrics, "gateway_upstream_requests_total", **create) == 3
    assert (
        value(
            worker_metrics,
            "gateway_jobs_total",
            function=ISSUE_EVENT_JOB,
            outcome="ok",
        )
        == 1
    )
    assert value(worker_metrics, "gateway_sweep_repaired_total", domain="acme") == 1
    assert value(api_metrics, "gateway_webhooks_accepted_total") == accepted_before + 1
    # Each worker's series carries its id, so a worker that stops ends its series
    # instead of lowering a sum (which Prometheus would read as a counter reset).
    workers = {
        dict(series)["worker"]
        for name, series in api_metrics
        if name == "gateway_ticks_total" and "worker" in dict(series)
    }
    assert len(workers) == 1  # the one worker process of this story
    assert from_workers(api_metrics, "gateway_ticks_total", domain="acme", outcome="ok") >= 1
    actions = {"domain": "acme", "action": "created"}
    assert from_workers(api_metrics, "gateway_sync_actions_total", **actions) == 3
    assert from_workers(api_metrics, "gateway_upstream_requests_total", **create) == 3
