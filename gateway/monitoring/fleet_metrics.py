"""The workers' counters on the API's ``/metrics``, shared through Redis.

One scrape of the API shows everything: each worker writes a snapshot of its own
counters and histograms to Redis (after its jobs, at most once a second, and with
every heartbeat), and the API adds every live snapshot to its own metrics, each
worker's samples under a ``worker`` label (``host:pid``).

Why Redis rather than prometheus-client's multiprocess mode: the mode needs every
process on one host sharing one directory, while workers may run in other
containers or on other hosts; Redis is the one thing every process already shares.

Why a ``worker`` label rather than one sum: a worker that dies takes its counters
with it. Summed, the total would drop and Prometheus would read a counter reset
(a false jump in every ``rate``); as its own series it simply ends when its snapshot
expires (``SNAPSHOT_TTL_SECONDS`` after its last write), which ``sum(rate(...))``
handles like any finished target. Values lag by at most one heartbeat (15 s).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis

log = logging.getLogger("gateway.monitoring")

SNAPSHOT_KEY_PREFIX = "gateway:metrics:worker:"
SNAPSHOT_TTL_SECONDS = 120
WORKER_LABEL = "worker"
# Gauges that describe one worker process; the others are read from the database or
# Redis by whoever is scraped, so copying them from workers would count them twice.
WORKER_GAUGES = frozenset(
    {"gateway_jobs_running", "gateway_jira_window_slots", "gateway_jira_pace_per_second"}
)
MIN_PUBLISH_INTERVAL_SECONDS = 1.0

_last_publish = 0.0

Snapshot = list[dict[str, Any]]


def process_id() -> str:
    """``host:pid``: the id a worker publishes under (the same as its heartbeat's)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def snapshot(registry: CollectorRegistry = REGISTRY) -> Snapshot:
    """This process's gateway counters, histograms and per-process gauges, as JSON data."""
    families: Snapshot = []
    for family in registry.collect():
        if not family.name.startswith("gateway_"):
            continue
        if family.type == "gauge" and family.name not in WORKER_GAUGES:
            continue
        if family.type not in ("counter", "histogram", "gauge"):
            continue
        samples = [[s.name, s.labels, s.value] for s in family.samples]
        if samples:
            families.append(
                {
                    "name": family.name,
                    "documentation": family.documentation,
                    "type": family.type,
                    "samples": samples,
                }
            )
    return families


async def publish(redis: Redis, worker: str, *, force: bool = True) -> None:
    """Write this worker's snapshot; unforced, at most once a second per process."""
    global _last_publish
    now = time.monotonic()
    if not force and now - _last_publish < MIN_PUBLISH_INTERVAL_SECONDS:
        return
    _last_publish = now
    body = json.dumps(snapshot(), separators=(",", ":"))
    await redis.set(SNAPSHOT_KEY_PREFIX + worker, body, ex=SNAPSHOT_TTL_SECONDS)


async def read_snapshots(redis: Redis, *, exclude: str | None = None) -> dict[str, Snapshot]:
    """Every live worker's snapshot by worker id (``exclude``: this process, counted already)."""
    keys = [key async for key in redis.scan_iter(match=SNAPSHOT_KEY_PREFIX + "*", count=500)]
    if not keys:
        return {}
    found: dict[str, Snapshot] = {}
    for key, body in zip(keys, await redis.mget(keys), strict=True):
        name = (key.decode() if isinstance(key, bytes) else key).removeprefix(SNAPSHOT_KEY_PREFIX)
        if body is None or name == exclude:
            continue
        try:
            found[name] = json.loads(body)
        except ValueError:
            log.warning("metrics snapshot of worker %s unreadable; skipped", name)
    return found


class FleetCollector(Collector):
    """This process's metrics with the workers' samples added, one family per name."""

    def __init__(self, snapshots: dict[str, Snapshot], own: CollectorRegistry = REGISTRY) -> None:
        self.snapshots = snapshots
        self.own = own

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {family.name: family for family in self.own.collect()}
        for worker, families in sorted(self.snapshots.items()):
            for family in families:
                target = merged.get(family["name"])
                if target is None:
                    target = Metric(family["name"], family["documentation"], family["type"])
                    merged[family["name"]] = target
                for name, labels, value in _samples(family):
                    target.add_sample(name, {**labels, WORKER_LABEL: worker}, value)
        yield from merged.values()


def _samples(family: dict[str, Any]) -> Iterable[tuple[str, dict[str, str], float]]:
    for name, labels, value in family.get("samples", []):
        yield str(name), {str(k): str(v) for k, v in dict(labels).items()}, float(value)


def fleet_registry(snapshots: dict[str, Snapshot]) -> CollectorRegistry:
    """A registry to render once: this process's metrics plus the workers' snapshots."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(snapshots))
    return registry
