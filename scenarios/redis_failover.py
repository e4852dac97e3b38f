"""redis-failover: the Redis primary SIGKILLed mid-story; the gateway follows Sentinel's new master.

Guarantee (the loss of the Redis host stops nothing; nothing accepted is lost): with
``GATEWAY_REDIS_SENTINELS`` the API and the workers ask the sentinels for the
master and ask again when it stops answering, so once the replica is promoted they
carry on against it. A delivery is answered 202 only after the replica holds it
(``WAIT 1``): one the dying primary had not replicated was answered 503, not 202.
Deliveries during the failover window get 503 and Jira retries them.

Faults: a real Sentinel deployment on loopback (a primary, a replica and three
sentinels, the ``redis-server`` the gateway ships, failover within about two
seconds), a ``gateway serve`` process as the only webhook target and two
``gateway worker`` processes, all pointed at the sentinels. While HR creates tasks
and people close issues whose webhooks are being delivered, the primary is
SIGKILLed; more issues are closed while the sentinels have not yet promoted the
replica, and more after. Jira retries a failed delivery for about 16 s here.

Checks: the sentinels promoted the replica; no worker or API process exited;
deliveries in the window were answered 503 and retried until accepted, none given
up; every delivery answered 2xx completed its task, without a sweep; every task
synced; one issue per task; zero writes at rest. With ``sentinel`` off the gateway
is given the first primary's plain URL: after the kill nothing reaches Redis, Jira
gives up deliveries and tasks stay unsynced: FAIL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager

from fakes.jira.webhooks import Webhook
from gateway.api.webhooks import WEBHOOK_PATH
from gateway.demo.processes import ChildProcess, gateway_command
from gateway.demo.stack import LOOPBACK
from gateway.models import SyncState, SyncStatus
from scenarios.harness import Harness
from scenarios.operations import (
    GATEWAY_WORKER,
    compressed_environment,
    seconds_until,
    start_ops_worker,
    synced_open,
)
from scenarios.result import RunContext
from scenarios.sentinel_cluster import SentinelCluster, free_port
from scenarios.steps import lost_issue_ids

NAME = "redis-failover"
DEFAULT_TASKS = 24
WORKERS = 2
KILL_DELAY_SECONDS = 0.3
FAILOVER_BOUND_SECONDS = 20.0
STORY_BOUND_SECONDS = 25.0
"""How long the story may take to settle after the failover (a loaded machine included)."""
JIRA_RETRY_DELAYS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Jira retries for days; here for about 16 s, which outlasts the failover."""


async def run(h: Harness, ctx: RunContext) -> None:
    cluster = SentinelCluster(h.folder / "sentinel")
    h.phase("starting a Redis primary, a replica and three sentinels")
    h.webhooks.retry_delays = JIRA_RETRY_DELAYS
    h.fault("the Redis primary SIGKILLed mid-story; the sentinels promote the replica")
    processes: list[ChildProcess] = []
    try:
        cluster.launch()
        extra = compressed_environment() | _redis_environment(cluster, sentinel=ctx.knobs.sentinel)
        with _webhooks_only_to(h, LOOPBACK, free_port()) as api_url:
            api = h.start_process("gateway-serve", _serve(api_url), extra_env=extra)
            processes.append(api)
            workers = [
                start_ops_worker(h, f"worker-{n}", extra, command=GATEWAY_WORKER)
                for n in range(1, WORKERS + 1)
            ]
            processes += workers
            await asyncio.to_thread(cluster.wait_ready)
            await asyncio.to_thread(api.wait_http, f"{api_url}/healthz")
            await asyncio.gather(
                *(asyncio.to_thread(w.wait_heartbeat, cluster.primary.url) for w in workers)
            )
            await _story(h, ctx, cluster, workers, api)
    finally:
        for process in processes:
            await asyncio.to_thread(process.stop)
        cluster.stop()


async def _story(
    h: Harness,
    ctx: RunContext,
    cluster: SentinelCluster,
    workers: list[ChildProcess],
    api: ChildProcess,
) -> None:
    batch = max(2, ctx.tasks // 4)
    closed: dict[str, int] = {}
    h.phase("HR creates tasks; the workers sync them through the primary")
    h.create_tasks(ctx.tasks - 2 * batch)
    await _until(h, lambda: _all_synced(h), "tasks synced before the failover")
    h.phase("the primary is SIGKILLed while webhooks are delivered")
    h.create_tasks(batch)
    _close(h, closed, batch)
    delivering = [asyncio.get_running_loop().create_task(h.deliver())]
    await asyncio.sleep(h.rng.uniform(0.05, KILL_DELAY_SECONDS))
    cluster.primary.kill()
    killed = time.monotonic()
    h.phase("issues closed while the sentinels elect a new master")
    _close(h, closed, batch)
    delivering.append(asyncio.get_running_loop().create_task(h.deliver()))
    promoted = await seconds_until(cluster.promoted, FAILOVER_BOUND_SECONDS)
    ctx.check(
        "the sentinels promoted the replica",
        promoted is not None,
        f"not within {FAILOVER_BOUND_SECONDS:g} s",
    )
    if promoted is not None:
        h.note(f"the replica was promoted {time.monotonic() - killed:.1f} s after the kill")
    await asyncio.gather(*delivering)
    h.phase("after the failover: HR creates tasks, people close issues")
    h.create_tasks(batch)
    await _until(h, lambda: _all_synced(h), "tasks synced after the failover")
    _close(h, closed, len(synced_open(h)))
    await h.deliver()
    await _check_deliveries(h, ctx, closed)
    exited = [w.name for w in workers if not w.alive] + ([api.name] if not api.alive else [])
    ctx.check("no worker or API process exited", not exited, f"exited: {exited}")
    states = h.states()
    synced = sum(1 for task in h.pf.tasks if _synced(states, task))
    ctx.check("every task synced", synced == len(h.pf.tasks), f"{synced} of {len(h.pf.tasks)}")


async def _check_deliveries(h: Harness, ctx: RunContext, closed: dict[str, int]) -> None:
    """503 in the window and retried to acceptance; every accepted one completed its task."""
    refused = sum(1 for r in h.webhooks.log if r.status == 503)
    lost = lost_issue_ids(h, closed)
    h.note(f"{refused} delivery attempts answered 503; {len(lost)} deliveries given up by Jira")
    ctx.check(
        "deliveries in the failover window were answered 503 and retried until accepted",
        refused > 0 and not lost,
        f"{refused} answered 503, {len(lost)} given up: {sorted(lost)[:10]}",
    )
    accepted = [task for issue, task in closed.items() if issue not in lost]
    await _until(
        h, lambda: all(h.pf.tasks[t]["completed"] for t in accepted), "accepted tasks completed"
    )
    still_open = [task for task in accepted if not h.pf.tasks[task]["completed"]]
    ctx.check(
        "every accepted delivery completed its task",
        not still_open,
        f"accepted but still open: {still_open[:10]}",
    )


def _redis_environment(cluster: SentinelCluster, *, sentinel: bool) -> dict[str, str]:
    """The sentinels (or, with Sentinel support off, the first primary's plain URL)."""
    if not sentinel:
        return {"GATEWAY_REDIS_URL": cluster.primary.url, "GATEWAY_REDIS_SENTINELS": ""}
    return {
        "GATEWAY_REDIS_URL": "",
        "GATEWAY_REDIS_SENTINELS": cluster.sentinels_setting,
        "GATEWAY_REDIS_SENTINEL_MASTER": cluster.master_name,
    }


def _serve(api_url: str) -> list[str]:
    """``gateway serve`` on the loopback port of ``api_url``."""
    return gateway_command("serve", "--host", LOOPBACK, "--port", api_url.rsplit(":", 1)[1])


@contextmanager
def _webhooks_only_to(h: Harness, host: str, port: int) -> Generator[str]:
    """Jira delivers to the ``gateway serve`` process alone while the scenario runs (the
    harness's in-process API is on another Redis); its webhooks come back afterwards."""
    api_url = f"http://{host}:{port}"
    saved: list[Webhook] = h.webhooks.all()
    for hook in saved:
        h.webhooks.unregister(hook.id)
    ours = h.webhooks.register(
        f"{api_url}{WEBHOOK_PATH}",
        name=saved[0].name,
        events=saved[0].events,
        jql=saved[0].jql,
        secret=h.webhook_secret(),
    )
    try:
        yield api_url
    finally:
        h.webhooks.unregister(ours.id)
        for hook in saved:
            h.webhooks.register(
                hook.url,
                name=hook.name,
                events=hook.events,
                jql=hook.jql,
                secret=hook.secret,
                exclude_body=hook.exclude_body,
            )


def _close(h: Harness, closed: dict[str, int], count: int) -> None:
    already = set(closed.values())
    for task_id in [task for task in synced_open(h) if task not in already][:count]:
        closed[h.close_issue(task_id)] = task_id


def _synced(states: dict[int, SyncState], task_id: int) -> bool:
    return task_id in states and states[task_id].status == SyncStatus.SYNCED


def _all_synced(h: Harness) -> bool:
    states = h.states()
    return all(_synced(states, task) for task in h.pf.tasks)


async def _until(h: Harness, predicate: Callable[[], bool], what: str) -> None:
    if await seconds_until(predicate, STORY_BOUND_SECONDS) is None:
        h.note(f"{what}: not within {STORY_BOUND_SECONDS:g} s")
