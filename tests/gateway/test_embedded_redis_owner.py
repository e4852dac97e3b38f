"""An owned embedded Redis dies with the process that started it, however that process dies.

A test session (or a temporary installation) starts its own redis-server; when that
process is SIGKILLed (a timeout, the mutation runner) nothing runs its clean-up, so
the server must end by itself. A shared server (``gateway serve`` and
``gateway worker`` on one data folder) must not: it outlives whoever started it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gateway.redis import EmbeddedRedis

GONE_BOUND_SECONDS = 30.0
# Starts the server, says so, then waits to be killed.
_STARTER = """
import sys, time
from pathlib import Path
from gateway.redis import EmbeddedRedis
EmbeddedRedis(Path(sys.argv[1]), owned=sys.argv[2] == "owned").ensure_running()
print("running", flush=True)
time.sleep(600)
"""


def is_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie nobody reaped yet has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def start_then_kill_the_starter(data_dir: Path, mode: str) -> int:
    """The redis-server's pid, once the process that started it was SIGKILLed."""
    starter = subprocess.Popen(
        [sys.executable, "-c", _STARTER, str(data_dir), mode],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert starter.stdout is not None and starter.stdout.readline() == "running\n"
        server_pid = EmbeddedRedis(data_dir).pid()
        assert server_pid is not None and is_alive(server_pid)
    finally:
        starter.send_signal(signal.SIGKILL)
        starter.wait(10)
    return server_pid


def wait_until_gone(pid: int) -> bool:
    deadline = time.monotonic() + GONE_BOUND_SECONDS
    while is_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not is_alive(pid)


def test_an_owned_server_dies_with_its_killed_owner(tmp_path: Path) -> None:
    server_pid = start_then_kill_the_starter(tmp_path / "redis", "owned")
    try:
        assert wait_until_gone(server_pid), "the owned redis-server outlived its owner"
    finally:
        if is_alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def test_a_shared_server_outlives_whoever_started_it(tmp_path: Path) -> None:
    """Negative: not owned, the server keeps running for the other processes."""
    server = EmbeddedRedis(tmp_path / "redis")
    server_pid = start_then_kill_the_starter(server.data_dir, "shared")
    try:
        assert server.is_running() and is_alive(server_pid)
    finally:
        server.stop()
