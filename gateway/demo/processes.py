"""Child processes of a stack: ``gateway worker``, ``gateway serve`` or any other command.

A stack that needs what only real processes show (several workers at once, a
worker killed mid-create, the API's own CPU time) runs them as deployed. Each
child logs to a file; ``stop()`` asks it to finish (SIGTERM, as an orchestrator
does) and kills it after a grace period, so nothing a stack started outlives it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gateway.heartbeat import HEARTBEAT_KEY_PREFIX
from gateway.redis import redis_client

START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
REAP_TIMEOUT_SECONDS = 5.0
POLL_SECONDS = 0.05


def gateway_command(*args: str) -> list[str]:
    """``gateway ARGS...`` run by this interpreter (so it imports this installation)."""
    return [sys.executable, "-m", "gateway.cli", *args]


@dataclass(eq=False)
class ChildProcess:
    """One subprocess with its output in ``log_path``; started by ``start()``."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    cwd: Path
    new_session: bool = False
    """In its own session, a terminal's Ctrl-C reaches only the parent, which stops it."""
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> ChildProcess:
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the handle
            self.process = subprocess.Popen(
                self.args,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=self.new_session,
            )
        return self

    def wait_heartbeat(self, redis_url: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Until this ``gateway worker`` has written its heartbeat (its startup hook ran)."""
        key = f"{HEARTBEAT_KEY_PREFIX}{socket.gethostname()}:{self.pid}"
        client = redis_client(redis_url)
        try:
            self._wait(lambda: bool(client.exists(key)), timeout, "ready")
        finally:
            client.close()

    def wait_http(self, url: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Until ``url`` answers (any status): the server is listening."""

        def answers() -> bool:
            try:
                httpx.get(url, timeout=1.0)
            except httpx.TransportError:
                return False
            return True

        self._wait(answers, timeout, f"answering at {url}")

    def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.alive:
                raise RuntimeError(f"{self.name} exited before it was {what}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not {what} after {timeout:.0f} s:\n{self.tail()}")
            time.sleep(POLL_SECONDS)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no lock released, no job finished."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        self._reap()

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        """SIGTERM, as an orchestrator stops a process; SIGKILL if it does not exit."""
        if self.alive:
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reap()

    def _reap(self) -> None:
        if self.process is not None:
            self.process.wait(REAP_TIMEOUT_SECONDS)

    def tail(self, lines: int = 20) -> str:
        """The last lines of the child's log (for error messages)."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
