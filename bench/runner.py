"""Gateway work run in a child process, so its CPU time and peak RSS are its own.

``python -m bench.runner '<json spec>'`` opens the resources exactly as the ARQ
worker does (``gateway.worker.startup``), runs one operation and prints one JSON
line: wall and CPU seconds, peak RSS and what the operation reported.

Operations: ``tick`` (one forward tick), ``sweep`` (the zombie sweeper),
``naive_sweep`` (one GET per open task, the design the sweeper replaces),
``reconcile`` (one reconcile pass) and
``listing`` (the bare work of a tick at rest: page through the open tasks with the
same client, decode and hash, no bookkeeping; then decoding, the gateway's per-task
parse and hash timed separately).
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import resource
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from sqlmodel import Session, select

from gateway.clients.models import PFTask
from gateway.clients.peopleforce import API_KEY_HEADER, TASKS_PATH
from gateway.models import DomainConfig, SyncState, SyncStatus
from gateway.settings import load_settings
from gateway.sync.deps import JIRA_WINDOWS, SyncDeps
from gateway.sync.hashing import state_hash
from gateway.sync.inbound import Outcome, Source, process_issue_event
from gateway.sync.reconciler import run_reconcile
from gateway.sync.sweeper import run_sweep
from gateway.sync.tick import run_tick
from gateway.worker import shutdown, startup

SAMPLE_PAGES = 200
WARM_PAGES = 20
"""Pages kept to time decoding, parsing and hashing apart (per task, so a sample does)."""


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    """VmHWM: unlike ru_maxrss, it starts afresh at exec instead of inheriting the parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


async def _naive_sweep(deps: SyncDeps, domain_id: int) -> dict[str, Any]:
    """Ask Jira about every open synced task; repair the done ones through the same job."""
    with Session(deps.engine) as session:
        domain = session.get(DomainConfig, domain_id)
        assert domain is not None
        issue_ids = [
            row.jira_issue_id
            for row in session.exec(
                select(SyncState).where(
                    SyncState.domain_id == domain_id,
                    SyncState.status == SyncStatus.SYNCED,
                    SyncState.is_completed == False,  # noqa: E712 - SQL expression
                )
            )
            if row.jira_issue_id
        ]
    jira = deps.jira(domain)
    semaphore = asyncio.Semaphore(max(1, domain.max_concurrency))
    repaired = 0

    async def check(issue_id: str) -> None:
        nonlocal repaired
        async with semaphore:
            issue = await jira.get_issue(issue_id, fields=["status"])
        if issue.is_done:
            outcome = await process_issue_event(deps, domain_id, issue_id, source=Source.SWEEP)
            repaired += outcome == Outcome.COMPLETED

    await asyncio.gather(*(check(issue_id) for issue_id in issue_ids))
    return {"checked": len(issue_ids), "repaired": repaired}


async def _listing(deps: SyncDeps, domain_id: int) -> dict[str, Any]:
    """The bare work of a tick at rest, side by side with it: page the open list with the
    shared client, decode each page and hash each task, with no gateway bookkeeping
    (``bare_*``). Then decoding, parsing and hashing of the first pages, timed apart."""
    with Session(deps.engine) as session:
        domain = session.get(DomainConfig, domain_id)
        assert domain is not None
    url = domain.pf_base_url.rstrip("/") + TASKS_PATH
    headers = {API_KEY_HEADER: domain.pf_api_key, "Accept": "application/json"}
    bodies: list[bytes] = []
    # Warm, as the tick is (a warm-up tick runs first): the first pages pay for the
    # connection, lazy imports and cold caches.
    for warm_page in range(1, WARM_PAGES + 1):
        warm = await deps.http.get(
            url, params={"completed": "false", "page": warm_page}, headers=headers
        )
        warm.raise_for_status()
        state_hash({"warm": [item for item in json.loads(warm.content)["data"]]})
    started, cpu = time.perf_counter(), _cpu()
    page = tasks = served = 0
    while True:
        page += 1
        response = await deps.http.get(
            url, params={"completed": "false", "page": page}, headers=headers
        )
        response.raise_for_status()
        if len(bodies) < SAMPLE_PAGES:
            bodies.append(response.content)
        body = json.loads(response.content)
        tasks += len(body["data"])
        for raw in body["data"]:
            state_hash(raw)
        served += len(response.content)
        if page >= body["metadata"]["pagination"]["pages"]:
            break
    bare_wall, bare_cpu = time.perf_counter() - started, _cpu() - cpu
    cpu = _cpu()
    decoded = [json.loads(body) for body in bodies]
    decode_cpu = _cpu() - cpu
    raws = [item for body in decoded for item in body["data"]]
    cpu = _cpu()
    for raw in raws:
        PFTask.from_raw(raw)
    parse_cpu = _cpu() - cpu
    cpu = _cpu()
    for raw in raws:
        state_hash(raw)
    hash_cpu = _cpu() - cpu
    return {
        "pages": page,
        "tasks": tasks,
        "bytes": served,
        "bare_wall": bare_wall,
        "bare_cpu": bare_cpu,
        "sampled_tasks": len(raws),
        "decode_cpu": decode_cpu,
        "parse_cpu": parse_cpu,
        "hash_cpu": hash_cpu,
    }


async def _run(spec: dict[str, Any]) -> dict[str, Any]:
    settings = load_settings(**spec["settings"])
    redis = Redis.from_url(settings.redis_url or "")
    ctx: dict[str, Any] = {"settings": settings, "redis": redis}
    if not spec.get("adaptive", True):
        ctx[JIRA_WINDOWS] = None  # fixed max_concurrency, as before the rate windows
    await startup(ctx)
    deps = SyncDeps.from_ctx(ctx)
    op, domain_id = spec["op"], int(spec["domain_id"])
    cold: dict[str, float] = {}
    if spec.get("warmup") and op == "tick":
        # The first tick of a process also pays for lazy imports and cold caches.
        started, cpu = time.perf_counter(), _cpu()
        await run_tick(deps, domain_id, force=True)
        cold = {"wall": time.perf_counter() - started, "cpu": _cpu() - cpu}
        for base_url in spec.get("reset_logs", []):
            # Count only the measured tick's requests in the fakes' logs.
            (await deps.http.delete(base_url.rstrip("/") + "/_fake/requests")).raise_for_status()
    rss_before = _peak_rss_mb()
    profiler = cProfile.Profile() if spec.get("profile") else None
    started, cpu = time.perf_counter(), _cpu()
    try:
        if profiler is not None:
            profiler.enable()
        if op == "tick":
            report = await run_tick(deps, domain_id, force=True)
            outcome: dict[str, Any] = asdict(report) if report else {}
        elif op == "sweep":
            sweep = await run_sweep(deps, domain_id)
            outcome = {
                "scanned": sweep.scanned if sweep else 0,
                "repaired": sweep.repaired if sweep else 0,
                "errors": sweep.errors if sweep else [],
            }
        elif op == "reconcile":
            reconciled = await run_reconcile(deps, domain_id)
            outcome = asdict(reconciled) if reconciled else {}
        elif op == "naive_sweep":
            outcome = await _naive_sweep(deps, domain_id)
        elif op == "listing":
            outcome = await _listing(deps, domain_id)
        else:
            raise SystemExit(f"unknown operation {op!r}")
        if profiler is not None:
            profiler.disable()
    finally:
        wall, cpu = time.perf_counter() - started, _cpu() - cpu
        await shutdown(ctx)
        await redis.aclose()
    if profiler is not None:
        profiler.dump_stats(spec["profile"])
    errors = outcome.get("errors")
    if isinstance(errors, list):
        outcome["errors"] = errors[:5]
    return {
        "op": op,
        "wall": wall,
        "cpu": cpu,
        "cold": cold,
        "rss_before_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
        "outcome": outcome,
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = asyncio.run(_run(spec))
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
