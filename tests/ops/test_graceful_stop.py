"""A graceful stop (SIGTERM) of a real ``gateway worker``: the worker count drops at once,
the running tick finishes or goes back to the queue, and the log stays JSON."""

from __future__ import annotations

import re
import signal
from collections.abc import Generator
from contextlib import contextmanager

import redis
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.demo.processes import ChildProcess
from gateway.runtime.presence import read_presence
from tests.ops.support import log_lines, messages, non_json_lines, start_worker, wait_for
from tests.world import World

STOP_WITHIN_SECONDS = 2.0
TASKS = 12
JIRA_LATENCY_SECONDS = 0.3


def workers_alive(client: TestClient) -> int:
    match = re.search(r"^gateway_workers_alive (\S+)$", client.get("/metrics").text, re.M)
    assert match is not None
    return int(float(match.group(1)))


@contextmanager
def two_workers(world: World, grace: int) -> Generator[list[ChildProcess]]:
    # Recovery of dead workers' jobs is off: what is handed back here, the stop handed back.
    env = {
        "GATEWAY_WORKER_STOP_GRACE_SECONDS": str(grace),
        "GATEWAY_WORKER_RECOVERY_INTERVAL_SECONDS": "0",
    }
    workers = [start_worker(world, f"worker-{n}", wait=False, **env) for n in (1, 2)]
    try:
        for worker in workers:
            worker.wait_heartbeat(world.redis_url)
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def tick_runner(world: World, workers: list[ChildProcess]) -> ChildProcess:
    """The worker that announces a running tick (waits for one)."""
    client = redis.Redis.from_url(world.redis_url)
    found: list[ChildProcess] = []

    def running_tick() -> bool:
        for owner, jobs in read_presence(client).items():
            if any(job.startswith("tick:") for job in jobs):
                found[:] = [w for w in workers if owner.endswith(f":{w.pid}")]
        return bool(found)

    try:
        wait_for(running_tick, 60, lambda: "no tick started")
    finally:
        client.close()
    return found[0]


def a_slow_first_tick(world: World) -> None:
    world.add_domain()
    for n in range(TASKS):
        world.pf.create_task(f"Prepare the desk for hire {n}")
    world.jira_faults.set_latency(JIRA_LATENCY_SECONDS)


def wait_exit(worker: ChildProcess, timeout: float) -> int:
    assert worker.process is not None
    return worker.process.wait(timeout)


async def test_sigterm_drops_the_worker_count_at_once_and_lets_the_tick_finish(
    world: World,
) -> None:
    a_slow_first_tick(world)
    with (
        two_workers(world, grace=60) as workers,
        TestClient(create_app(world.settings)) as api,
    ):
        wait_for(lambda: workers_alive(api) == 2, 30, lambda: "two workers never counted")
        victim = tick_runner(world, workers)
        assert victim.process is not None
        victim.process.send_signal(signal.SIGTERM)
        wait_for(
            lambda: workers_alive(api) == 1,
            STOP_WITHIN_SECONDS,
            lambda: f"still {workers_alive(api)} workers counted {STOP_WITHIN_SECONDS} s after",
        )
        assert api.get("/readyz").json()["workers"]["alive"] == 1
        assert wait_exit(victim, 60) == 0
    log = log_lines(victim)
    finished = [m for m in messages(log) if "tick:1:sync_pf_to_jira_task ●" in m]
    assert finished, log[-5:]
    assert not non_json_lines(log)
    assert not any("never awaited" in line for line in log)
    assert sum(1 for s in world.states().values() if s.jira_issue_id) == TASKS


async def test_a_tick_cut_short_by_the_grace_period_goes_back_to_the_queue(
    world: World,
) -> None:
    a_slow_first_tick(world)
    with two_workers(world, grace=0) as workers:
        victim = tick_runner(world, workers)
        other = next(w for w in workers if w is not victim)
        assert victim.process is not None
        victim.process.send_signal(signal.SIGTERM)
        assert wait_exit(victim, 30) == 0
        # ARQ hands the cancelled tick back at once: the other worker runs it again.
        wait_for(
            lambda: any(
                "tick:1:sync_pf_to_jira_task(1) try=2" in line for line in log_lines(other)
            ),
            30,
            lambda: f"the tick was not handed back: {log_lines(other)[-5:]}",
        )
        wait_for(
            lambda: sum(1 for s in world.states().values() if s.jira_issue_id) == TASKS,
            60,
            lambda: "the other worker did not finish the sync",
        )
    assert not non_json_lines(log_lines(victim))
