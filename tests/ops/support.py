"""Real ``gateway worker`` processes for the operations tests, started as an operator would,
and what their JSON logs say."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from gateway.demo.processes import ChildProcess, gateway_command
from gateway.demo.stack import GatewayStack
from gateway.demo.storage import gateway_environment
from gateway.settings import Settings

READY_TIMEOUT_SECONDS = 60.0
WORKER_SETTINGS = {"GATEWAY_LOG_FORMAT": "json", "GATEWAY_SCHEDULER_INTERVAL_SECONDS": "1"}


def start_worker(stack: GatewayStack, name: str, *, wait: bool = True, **env: str) -> ChildProcess:
    """``gateway worker`` on the stack's installation with a JSON log and a 1 s scheduler;
    ``env`` overrides further settings. With ``wait``, returns once its heartbeat is in."""
    worker = stack.start_worker_process(name, extra_env=WORKER_SETTINGS | env)
    if wait:
        worker.wait_heartbeat(stack.redis_url, READY_TIMEOUT_SECONDS)
    return worker


def log_lines(worker: ChildProcess) -> list[str]:
    return worker.log_path.read_text(errors="replace").splitlines()


def wait_for(
    predicate: Callable[[], bool],
    timeout: float,
    describe: Callable[[], str] = lambda: "condition",
    interval: float = 0.05,
) -> None:
    """Poll ``predicate`` until it holds; fail with ``describe()`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(describe())
        time.sleep(interval)


def non_json_lines(lines: list[str]) -> list[str]:
    """Lines of a JSON log that are not JSON objects."""
    bad = []
    for line in lines:
        try:
            if not isinstance(json.loads(line), dict):
                bad.append(line)
        except ValueError:
            bad.append(line)
    return bad


def messages(lines: list[str]) -> list[str]:
    """The messages of a JSON log's lines (other lines are left out)."""
    found = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            found.append(str(entry.get("message", "")))
    return found


def worker_process(settings: Settings, folder: Path, name: str, **env: str) -> ChildProcess:
    """``gateway worker`` on the installation of ``settings`` (no stack around it), started."""
    return ChildProcess(
        name,
        gateway_command("worker"),
        env=gateway_environment(settings) | WORKER_SETTINGS | env,
        log_path=folder / f"{name}.log",
        cwd=folder,
    ).start()
