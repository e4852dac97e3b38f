"""redis-restart: Redis killed three times in a story; the gateway restarts it, workers ride it out.

Guarantee (operations cannot wedge it; nothing accepted is lost): Redis holds the
queue, the locks and the dedupe keys. When it dies, workers never exit: they log
the outage once, retry with a capped back-off and resume; any gateway process that
finds the embedded Redis dead starts it again on its own data (append-only file),
so every delivery the API answered 2xx is still queued and is processed.

Faults: two real ``gateway worker`` processes that find Redis through the data
folder (the embedded server, as a single-machine install runs it). Three times,
while HR creates tasks and people close issues whose webhooks are being
delivered, the Redis server is SIGKILLed at a random moment; nobody but the
gateway restarts it. While it is down the ingress answers 503 and Jira retries
(here within 1.55 s, so some deliveries are given up, for the sweep to repair).

Checks: the gateway restarted Redis after every kill, within the bound; no
worker exited; every delivery answered 2xx completed its task before any sweep;
every task synced; after one sweep every pair agrees; one issue per task; zero
writes at rest. With ``recovery`` off the workers run ARQ's own loop, which
exits at the first outage, and nothing restarts Redis: FAIL.
"""

from __future__ import annotations

import asyncio
import os
import signal

from gateway.redis import EmbeddedRedis
from gateway.security.crypto import KEYS_VARIABLE, key_file
from scenarios.checks import check_every_recovery
from scenarios.harness import Harness
from scenarios.operations import (
    GATEWAY_WORKER,
    RECOVERY_BOUND_SECONDS,
    check_accepted_deliveries,
    checked_synced_and_agreeing,
    compressed_environment,
    release_leftovers,
    seconds_until,
    start_ops_worker,
    sweep_and_wait,
    synced_open,
    wait_all_synced,
    wait_ready,
)
from scenarios.result import RunContext

NAME = "redis-restart"
DEFAULT_TASKS = 40
RESTARTS = 3
WORKERS = 2
KILL_DELAY_SECONDS = 0.4
ARQ_LOOP = ("scenarios.arq_loop_worker",)


async def run(h: Harness, ctx: RunContext) -> None:
    embedded = EmbeddedRedis(h.folder / "redis")
    if not ctx.check(
        "the harness runs the embedded Redis",
        embedded.url == h.redis_url,
        f"Redis is {h.redis_url}: not the gateway's to supervise",
    ):
        return
    # No Redis URL: the workers find the embedded server through their data folder. That
    # folder is not the harness's, so the harness's credentials key goes along explicitly.
    extra = compressed_environment() | {
        "GATEWAY_DATA_DIR": str(embedded.data_dir),
        "GATEWAY_REDIS_URL": "",
        KEYS_VARIABLE: key_file(h.settings).read_text().strip(),
    }
    command = GATEWAY_WORKER if ctx.knobs.recovery else ARQ_LOOP
    workers = [
        start_ops_worker(h, f"worker-{n}", extra, command=command) for n in range(1, WORKERS + 1)
    ]
    batch = max(1, ctx.tasks // (RESTARTS + 1))
    closed: dict[str, int] = {}
    restarts: list[float | None] = []
    h.fault(f"the embedded Redis SIGKILLed {RESTARTS} times; only the gateway restarts it")
    try:
        h.create_tasks(ctx.tasks - batch * RESTARTS)
        await wait_ready(h, workers)
        await wait_all_synced(h)
        for n in range(RESTARTS):
            h.phase(f"Redis killed ({n + 1} of {RESTARTS}) during the story")
            restarts.append(await _kill_during_story(h, embedded, batch, closed))
            if restarts[-1] is None or not all(w.alive for w in workers):
                h.note("the story stops: Redis stayed down or a worker exited")
                break
            await wait_all_synced(h)
        exited = [w.name for w in workers if not w.alive]
        ctx.check("no worker exited", not exited, f"exited: {exited}")
        if not exited:
            await check_accepted_deliveries(h, ctx, closed)
            h.phase("one sweep repairs what Jira gave up delivering")
            await sweep_and_wait(h)
    finally:
        embedded.ensure_running()
        await h.stop_workers()
        release_leftovers(h)
    check_every_recovery(
        h,
        ctx,
        restarts,
        expected=RESTARTS,
        check="the gateway restarted Redis after every kill",
        noted="the gateway restarted Redis (killed)",
    )
    checked_synced_and_agreeing(h, ctx, "every pair agrees after one sweep")


async def _kill_during_story(
    h: Harness, embedded: EmbeddedRedis, batch: int, closed: dict[str, int]
) -> float | None:
    """HR creates tasks, people close issues; Redis is killed meanwhile. Seconds until the
    gateway had it running again (None: not within the bound)."""
    h.create_tasks(batch)
    for task_id in synced_open(h)[:batch]:
        closed[h.close_issue(task_id)] = task_id
    delivering = asyncio.get_running_loop().create_task(h.deliver())
    await asyncio.sleep(h.rng.uniform(0.05, KILL_DELAY_SECONDS))
    pid = embedded.pid()
    assert pid is not None, "the embedded Redis has no pid file"
    os.kill(pid, signal.SIGKILL)
    restarted = await seconds_until(
        lambda: embedded.pid() != pid and embedded.is_running(), RECOVERY_BOUND_SECONDS
    )
    await delivering
    return restarted
