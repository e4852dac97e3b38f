"""The run loop of ``gateway worker`` around ARQ's Worker: outages and stops it survives.

ARQ's loop ends the process on the first Redis error, and each error met while it
starts a job leaks one of its ``max_jobs`` slots. ``GatewayWorker`` keeps the loop
alive instead: a poll that meets a connection error is logged once (``redis_link``),
waits with a capped exponential back-off, and polls again; jobs already running
carry on (or fail and are retried), the scheduler cron resumes with Redis. With
Redis Sentinel the same loop rides out a failover: each reconnection asks the
sentinels for the master, so once a replica is promoted the polls reach it. The
embedded Redis is restarted by whichever gateway process finds it dead first
(``gateway.runtime.presence``'s thread, nudged here).

SIGTERM and SIGINT start a graceful stop: the heartbeat is withdrawn at once (the
worker count drops now, not a TTL later), no new job is picked, running jobs get
``GATEWAY_WORKER_STOP_GRACE_SECONDS`` to finish and are then cancelled, which ARQ
answers by handing them back to the queue for another worker. Python warnings go
to the log, so the JSON log stays JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from signal import Signals
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.worker import Worker, get_kwargs
from redis.exceptions import WatchError

from gateway.heartbeat import withdraw_heartbeat
from gateway.jobs import QUEUE_NAME
from gateway.redis import RedisTarget, create_arq_pool, resolve_redis
from gateway.runtime import presence
from gateway.runtime.link import heal_embedded_redis, redis_link
from gateway.runtime.unavailable import REDIS_UNAVAILABLE
from gateway.settings import Settings
from gateway.worker import IN_PROGRESS_SECONDS_KEY, WorkerSettings, cron_jobs, worker_id

log = logging.getLogger("gateway.worker")

REDIS_ERRORS = (*REDIS_UNAVAILABLE, WatchError, OSError)
"""What a lost connection raises inside ARQ's loop: redis-py turns a connection lost
while a key is watched (ARQ's enqueue) into a WatchError."""
FIRST_RETRY_SECONDS = 0.5


class Backoff:
    """Doubling waits from half a second up to ``cap`` seconds; reset on success."""

    def __init__(self, cap: float) -> None:
        self.cap = cap
        self._next = FIRST_RETRY_SECONDS

    def reset(self) -> None:
        self._next = FIRST_RETRY_SECONDS

    def next(self) -> float:
        delay = min(self._next, self.cap)
        self._next = min(self._next * 2, self.cap)
        return delay


class GatewayWorker(Worker):
    """ARQ's Worker that rides out Redis outages and withdraws its heartbeat on a stop."""

    def __init__(self, *args: Any, reconnect_cap: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.backoff = Backoff(reconnect_cap)

    async def _poll_iteration(self) -> None:
        self._hand_back_broken_jobs()
        try:
            await super()._poll_iteration()
        except REDIS_ERRORS as error:
            redis_link.down(error)
            presence.nudge()
            await asyncio.sleep(self.backoff.next())
            return
        if redis_link.is_down:
            redis_link.up()
        self.backoff.reset()

    def _hand_back_broken_jobs(self) -> None:
        """Jobs that ended on a Redis error could not tell ARQ so: their in-progress marker
        would hide them for 610 s. This worker knows they no longer run: it deletes the
        markers once Redis answers, and ARQ runs the jobs again."""
        for job_id, task in list(self.tasks.items()):
            if task.done() and not task.cancelled() and isinstance(task.exception(), REDIS_ERRORS):
                del self.tasks[job_id]
                presence.release_later(in_progress_key_prefix + job_id)

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """ARQ's start_jobs, one job at a time, giving the slot back when Redis fails."""
        for job_id in job_ids:
            if self.job_counter >= self.max_jobs:
                return
            counted = self.job_counter
            try:
                await super().start_jobs([job_id])
            except REDIS_ERRORS:
                if self.job_counter > counted:
                    # ARQ took a slot for this job and met the error before starting it.
                    self.job_counter -= 1
                    self.sem.release()
                raise

    def handle_sig_wait_for_completion(self, signum: Signals) -> None:
        self._withdraw()
        super().handle_sig_wait_for_completion(signum)

    def handle_sig(self, signum: Signals) -> None:
        self._withdraw()
        super().handle_sig(signum)

    async def close(self) -> None:
        """ARQ's close, without its one failure: a job cancelled by the stop before it began
        ends cancelled, ARQ's gather re-raises that and a clean stop ends in a traceback
        with the job's in-progress marker left for 610 s. Such jobs are handed back here."""
        if self._pool is not None and self.tasks:
            ended = await asyncio.gather(*self.tasks.values(), return_exceptions=True)
            cut = [
                job_id
                for job_id, outcome in zip(self.tasks, ended, strict=True)
                if isinstance(outcome, asyncio.CancelledError)
            ]
            self.tasks.clear()
            if cut:
                with contextlib.suppress(*REDIS_ERRORS):
                    await self.pool.delete(*(in_progress_key_prefix + job_id for job_id in cut))
        await super().close()

    def _withdraw(self) -> None:
        if self._pool is None:
            return
        task = self.loop.create_task(withdraw_heartbeat(self.pool, self.ctx.get("worker_id", "")))
        task.add_done_callback(_log_withdraw_failure)


def _log_withdraw_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("heartbeat not withdrawn: %s (it expires on its own)", task.exception())


async def connect(settings: Settings, url: RedisTarget) -> ArqRedis:
    """The worker's Redis pool, waiting out an outage that began after the start-up check
    (with Sentinel also a failover: each attempt asks the sentinels for the master)."""
    backoff = Backoff(settings.redis_reconnect_max_delay_seconds)
    while True:
        try:
            pool = await create_arq_pool(url, QUEUE_NAME, retries=0)
        except REDIS_ERRORS as error:
            redis_link.down(error)
            await asyncio.to_thread(heal_embedded_redis, settings)
            await asyncio.sleep(backoff.next())
            continue
        redis_link.up()
        return pool


def build_worker(settings: Settings, *, burst: bool, pool: ArqRedis) -> GatewayWorker:
    """The worker ``gateway worker`` runs, configured from WorkerSettings and the settings."""
    options: dict[str, Any] = dict(get_kwargs(WorkerSettings))  # ty: ignore[invalid-argument-type]
    options.update(
        redis_pool=pool,
        burst=burst,
        cron_jobs=[] if burst else cron_jobs(settings),
        ctx={"settings": settings, "worker_id": worker_id()},
        handle_signals=True,
        job_completion_wait=settings.worker_stop_grace_seconds,
    )
    worker = GatewayWorker(reconnect_cap=settings.redis_reconnect_max_delay_seconds, **options)
    # Recovery must know how long ARQ's in-progress markers live (the longest timeout of
    # any function + 10 s); a marker younger than that minus the presence TTL is fresh.
    worker.ctx[IN_PROGRESS_SECONDS_KEY] = worker.in_progress_timeout_s
    return worker


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    """Run until stopped (or, with ``burst``, until the queue is empty)."""
    logging.captureWarnings(True)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pool = loop.run_until_complete(connect(settings, resolve_redis(settings)))
    build_worker(settings, burst=burst, pool=pool).run()
