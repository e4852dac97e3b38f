"""Which worker processes are alive and which jobs they run, announced in Redis.

A worker killed at any instant leaves behind ARQ's ``arq:in-progress:<job id>``
marker (610 s) and the Redis locks it held. Presence is how the surviving workers
tell such leftovers from work that is merely slow (``gateway.runtime.recovery`` acts
on it):

- Each worker process writes ``gateway:worker:presence:<host>:<pid>`` with a short
  TTL (``GATEWAY_WORKER_PRESENCE_TTL_SECONDS``), holding the ids of the jobs it runs,
  refreshed three times per TTL and at once whenever a job starts.
- It is written from a thread, not from the event loop: the loop may stall for
  seconds (SQLite's busy timeout, a CPU-heavy page) and a stalled worker is slow,
  not dead. Only the process dying stops the thread.
- It is per process, not per ARQ ``Worker``: locks carry their owner process in
  their token (``lock_token``), so a lock is orphaned exactly when no presence key
  of its process is left. Several in-process workers (tests) share one presence.

The same thread supervises the embedded Redis (restarting it when it is dead) and
logs Redis outages once per state change.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import redis

from gateway.redis import RedisTarget, redis_client, resolve_redis
from gateway.runtime.link import heal_embedded, redis_link
from gateway.settings import Settings

log = logging.getLogger("gateway.presence")

PRESENCE_KEY_PREFIX = "gateway:worker:presence:"
LOCK_OWNER_MARK = "w|"
"""Lock tokens of a worker process start with this mark, its process id and a ``|``."""
BEATS_PER_TTL = 3
RELEASE_IF_OWNED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def process_id() -> str:
    """This process as presence and lock tokens name it: ``<host>:<pid>``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def presence_key(owner: str) -> str:
    return PRESENCE_KEY_PREFIX + owner


def lock_owner(token: str) -> str | None:
    """The worker process a lock token names, or None for a lock taken outside a worker."""
    if not token.startswith(LOCK_OWNER_MARK):
        return None
    owner, separator, _ = token.removeprefix(LOCK_OWNER_MARK).rpartition("|")
    return owner if separator else None


def lock_token() -> str:
    """A fresh lock token; inside a worker process it names the process, so a lock of a
    dead worker can be told from a held one. Elsewhere (CLI ``gateway tick``) it is
    anonymous and only its TTL frees it."""
    nonce = uuid.uuid4().hex
    if not _presences:
        return nonce
    return f"{LOCK_OWNER_MARK}{process_id()}|{nonce}"


@dataclass(frozen=True)
class PresenceConfig:
    """What the presence thread needs; built from Settings by the worker's start-up hook."""

    redis_url: RedisTarget
    """A URL, or the sentinels that name the master."""
    ttl_seconds: float
    recovery_interval_seconds: float
    queue_name: str
    in_progress_ttl_ms: int
    embedded_data_dir: Path | None = None
    """The embedded Redis's folder when GATEWAY_REDIS_URL is unset: restarted when dead."""


def config_for(settings: Settings, queue_name: str, marker_seconds: float) -> PresenceConfig:
    """How this process announces itself, from the settings and the worker's job timeout."""
    return PresenceConfig(
        redis_url=resolve_redis(settings),
        ttl_seconds=settings.worker_presence_ttl_seconds,
        recovery_interval_seconds=settings.worker_recovery_interval_seconds,
        queue_name=queue_name,
        # ARQ marks every job for its longest function timeout + 10 s (the worker's
        # ``in_progress_timeout_s``); recovery tells a fresh marker by that TTL.
        in_progress_ttl_ms=int(marker_seconds * 1000),
        embedded_data_dir=settings.data_dir if settings.uses_embedded_redis else None,
    )


class Presence:
    """This process's announcement, its running jobs, and the housekeeping thread."""

    def __init__(self, config: PresenceConfig, recover: Callable[..., Any] | None = None) -> None:
        self.config = config
        self.owner = process_id()
        self._running: set[str] = set()
        self._unreleased: list[tuple[str, str | None]] = []
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._client = redis_client(config.redis_url, timeout=2)
        self._recover = recover
        self._healthy_since: float | None = None
        self._next_recovery = 0.0
        self._thread: threading.Thread | None = None
        self.users = 0

    @property
    def beat_seconds(self) -> float:
        return max(0.1, self.config.ttl_seconds / BEATS_PER_TTL)

    def running(self) -> list[str]:
        with self._guard:
            return sorted(self._running)

    def add(self, job_id: str) -> None:
        with self._guard:
            self._running.add(job_id)
        self._wake.set()  # announce it now: recovery must never see it unclaimed for long

    def discard(self, job_id: str) -> None:
        with self._guard:
            self._running.discard(job_id)
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def release_later(self, key: str, token: str | None) -> None:
        with self._guard:
            self._unreleased.append((key, token))
        self._wake.set()

    def _release_pending(self) -> None:
        """Delete what this process could not while Redis was down (its own keys only)."""
        with self._guard:
            pending, self._unreleased = self._unreleased, []
        for index, (key, token) in enumerate(pending):
            try:
                if token is None:
                    self._client.delete(key)
                else:
                    self._client.eval(RELEASE_IF_OWNED, 1, key, token)
            except redis.RedisError:
                with self._guard:
                    self._unreleased[:0] = pending[index:]
                return

    def start(self) -> None:
        """Announce synchronously (before any job can start), then keep announcing."""
        self.beat()
        self._thread = threading.Thread(target=self._run, name="gateway-presence", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop announcing and withdraw: the process's jobs have finished or been released."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._release_pending()
        with contextlib.suppress(redis.RedisError):  # else it expires within its TTL
            self._client.delete(presence_key(self.owner))
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.beat_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            self.beat()

    def beat(self) -> None:
        """Announce this process and its jobs; on success maybe recover others' leftovers."""
        value = json.dumps({"jobs": self.running(), "at": time.time()})
        try:
            self._client.set(
                presence_key(self.owner), value, px=int(self.config.ttl_seconds * 1000)
            )
        except redis.RedisError as error:
            self._healthy_since = None
            redis_link.down(error)
            self._heal_embedded()
            return
        redis_link.up()
        self._release_pending()
        now = time.monotonic()
        if self._healthy_since is None:
            self._healthy_since = now
        self._maybe_recover(now)

    def _maybe_recover(self, now: float) -> None:
        """Release dead workers' leftovers, once this process has been announced for a full
        TTL without a gap: after an outage every live worker re-announces first."""
        interval = self.config.recovery_interval_seconds
        if not interval or self._recover is None or self._healthy_since is None:
            return
        if now - self._healthy_since < self.config.ttl_seconds or now < self._next_recovery:
            return
        self._next_recovery = now + interval
        try:
            self._recover(self._client, self.config)
        except redis.RedisError as error:
            redis_link.down(error)
        except Exception:
            log.exception("recovery of dead workers' jobs failed")

    def _heal_embedded(self) -> None:
        if self.config.embedded_data_dir is not None:
            heal_embedded(self.config.embedded_data_dir)


_presences: dict[RedisTarget, Presence] = {}
"""Per Redis URL (tests run several Redis servers in one process over time)."""
_registry_guard = threading.Lock()


def current() -> list[Presence]:
    """This process's presences while at least one worker runs in it."""
    return list(_presences.values())


def join(config: PresenceConfig, recover: Callable[..., Any] | None = None) -> Presence:
    """A worker starts: announce the process (the first one starts the thread)."""
    with _registry_guard:
        presence = _presences.get(config.redis_url)
        if presence is None:
            presence = Presence(config, recover)
            presence.start()
            _presences[config.redis_url] = presence
        presence.users += 1
        return presence


def leave(config: PresenceConfig) -> None:
    """A worker stopped: the last one on this Redis withdraws the process's presence."""
    with _registry_guard:
        presence = _presences.get(config.redis_url)
        if presence is None:
            return
        presence.users -= 1
        if presence.users > 0:
            return
        del _presences[config.redis_url]
    presence.stop()


def nudge() -> None:
    """Announce (and heal the embedded Redis) now rather than at the next beat."""
    for presence in current():
        presence.wake()


def release_later(key: str, token: str | None = None) -> None:
    """A lock (``token``: only if still ours) or an ARQ marker this process could not
    delete because Redis was unreachable: deleted as soon as Redis answers again, rather
    than blocking the work for the key's TTL. Outside a worker the TTL frees it."""
    for presence in current():
        presence.release_later(key, token)


def claim_job(ctx: dict[str, Any]) -> Callable[[], None]:
    """Announce the job of ``ctx`` as running here; call the result when it ends."""
    job_id = ctx.get("job_id")
    presences = current()
    if not presences or not isinstance(job_id, str):
        return _nothing
    for presence in presences:
        presence.add(job_id)

    def release() -> None:
        for presence in presences:
            presence.discard(job_id)

    return release


JobCoroutine = Callable[..., Awaitable[Any]]


def claimed(function: JobCoroutine) -> Any:
    """``function`` (a cron job) announced as running here while it runs."""

    @functools.wraps(function)
    async def wrapper(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        release_claim = claim_job(ctx)
        try:
            return await function(ctx, *args, **kwargs)
        finally:
            release_claim()

    return wrapper


def _nothing() -> None:
    return None


def read_presence(client: redis.Redis) -> dict[str, set[str]]:
    """Every announced worker process and the job ids it runs."""
    alive: dict[str, set[str]] = {}
    for key in client.scan_iter(match=PRESENCE_KEY_PREFIX + "*", count=500):
        raw = cast("bytes | None", client.get(key))
        if raw is None:
            continue
        name = key.decode() if isinstance(key, bytes) else str(key)
        try:
            jobs = json.loads(raw)["jobs"]
        except (ValueError, KeyError, TypeError):
            jobs = []
        alive[name.removeprefix(PRESENCE_KEY_PREFIX)] = {str(job) for job in jobs}
    return alive
