"""Real ``gateway worker`` processes for the scenarios that need them (several, or killed).

They share the harness's Redis, database and clock offset file through the
same environment variables production uses, plus a one-second scheduler, so
they tick on their own; the harness only watches and injects faults.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import redis

from gateway.clock import OFFSET_FILE_ENV
from gateway.worker import HEARTBEAT_KEY_PREFIX
from scenarios.harness import WEBHOOK_SECRET, Harness

START_TIMEOUT_SECONDS = 30.0


def worker_environment(h: Harness) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(
        {
            "GATEWAY_DATA_DIR": str(h.folder / "data"),
            "GATEWAY_DATABASE_URL": h.database_url,
            "GATEWAY_REDIS_URL": h.redis_url,
            "GATEWAY_JIRA_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "GATEWAY_SCHEDULER_INTERVAL_SECONDS": "1",
            "GATEWAY_ORPHAN_GRACE_SECONDS": str(h.config.orphan_grace_seconds),
            "GATEWAY_LOG_FORMAT": "json",
            "GATEWAY_LOG_LEVEL": "INFO",
            OFFSET_FILE_ENV: str(h.offset_file),
        }
    )
    return env


class WorkerProcess:
    """One ``gateway worker`` subprocess; its log goes to the harness folder."""

    def __init__(self, h: Harness, name: str) -> None:
        self.harness = h
        self.name = name
        self.log_path: Path = h.folder / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> WorkerProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "worker"],
            cwd=self.harness.folder,
            env=worker_environment(self.harness),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Until the worker has written its heartbeat (its startup hook ran)."""
        key = f"{HEARTBEAT_KEY_PREFIX}{socket.gethostname()}:{self.pid}"
        client = redis.Redis.from_url(self.harness.redis_url)
        deadline = time.monotonic() + timeout
        try:
            while not client.exists(key):
                if not self.alive:
                    raise RuntimeError(f"{self.name} exited: {self.tail()}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name} not ready after {timeout:.0f} s")
                time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no lock released, no job finished."""
        if self.alive:
            os.kill(self.pid, signal.SIGKILL)
        self._reap(5)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, as an orchestrator stops a worker; SIGKILL if it does not exit."""
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._reap(5)

    def _reap(self, timeout: float) -> None:
        if self.process is not None:
            self.process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
