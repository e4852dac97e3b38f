"""Bring the demo's stack up in its own data folder, and leave nothing behind.

The API and both fakes run on uvicorn threads of this process; the worker is a
real ``gateway worker`` subprocess in its own session (so a terminal Ctrl-C
reaches only the demo, which then stops it), and Redis is the embedded server
started in the demo's data folder. The folder is wiped at the next start, after
stopping whatever a killed earlier demo left running in it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import secrets
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from gateway.demo.processes import ChildProcess
from gateway.demo.sso import DemoSso
from gateway.demo.stack import GatewayStack
from gateway.demo.storage import gateway_environment, open_storage
from gateway.demo.upstreams import start_upstreams
from gateway.redis import EmbeddedRedis

WORKER_NAME = "worker"
WORKER_LOG = f"{WORKER_NAME}.log"
WORKER_PIDFILE = "worker.pid"
MARKER = ".gateway-demo"
DATABASE_FILE = "demo.db"
NOTIFY_SETTINGS = (
    "NOTIFY_WEBHOOK_URL",
    "NOTIFY_WEBHOOK_URL_FALLBACK",
    "NOTIFY_MIN_INTERVAL_SECONDS",
)
"""The user's alert settings reach the worker, so a demo can show a real notification."""


@dataclass
class DemoOptions:
    """What the ``gateway demo`` command line chose."""

    tasks: int = 50
    seed: int = 7
    duration: float | None = None
    speed: float = 1.0
    port: int = 8000
    host: str = "127.0.0.1"
    data_dir: Path = Path("data/demo")


class DemoStack(GatewayStack):
    """The whole demo: a gateway stack with one worker process and a generated admin password."""

    def __init__(self, options: DemoOptions, data_dir: Path) -> None:
        super().__init__()
        self.options = options
        self.data_dir = data_dir
        self.admin_password = secrets.token_urlsafe(12)
        self._worker: ChildProcess | None = None
        self.redis_pid: int | None = None
        self.sso: DemoSso | None = None

    @property
    def worker(self) -> ChildProcess:
        assert self._worker is not None, "the demo's worker was not started"
        return self._worker

    @property
    def api_url(self) -> str:
        assert self.api is not None, "the demo's API was not started"
        return self.api.url

    def environment(self) -> dict[str, str]:
        return gateway_environment(self.settings, inherit=NOTIFY_SETTINGS)

    def start_worker(self) -> ChildProcess:
        """The real ``gateway worker``; its pid is kept for a demo that gets killed."""
        self._worker = self.start_worker_process(WORKER_NAME, new_session=True)
        (self.data_dir / WORKER_PIDFILE).write_text(str(self._worker.pid))
        return self._worker

    def wait_for_worker(self, timeout: float = 30.0) -> bool:
        """True once the worker wrote its first heartbeat; False if it died or took too long."""
        try:
            self.worker.wait_heartbeat(self.redis_url, timeout)
        except (RuntimeError, TimeoutError):
            return False
        return True

    def close(self) -> None:
        """Worker first (it holds Redis and the database), then servers, then Redis."""
        super().close()
        if self.sso is not None:
            self.sso.stop()
            self.sso = None
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / WORKER_PIDFILE).unlink()


def _is_gateway_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"gateway.cli" in cmdline and b"worker" in cmdline


class NotADemoFolder(Exception):
    """The data folder holds something else; the demo will not wipe it."""


def clean_leftovers(data_dir: Path) -> None:
    """Stop what a killed earlier demo left in ``data_dir``, then wipe the folder.

    Only a folder the demo made (it carries a marker file) or an empty one is wiped.
    """
    if data_dir.exists() and any(data_dir.iterdir()) and not (data_dir / MARKER).exists():
        raise NotADemoFolder(
            f"{data_dir} is not empty and was not made by `gateway demo`; choose another "
            "--data-dir (the demo wipes its folder at start)"
        )
    pidfile = data_dir / WORKER_PIDFILE
    with contextlib.suppress(OSError, ValueError):
        pid = int(pidfile.read_text().strip())
        if _is_gateway_worker(pid):
            os.kill(pid, signal.SIGKILL)
    if data_dir.exists():
        EmbeddedRedis(data_dir).stop()
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    (data_dir / MARKER).write_text("made by `gateway demo`; wiped at its next start\n")


def start_demo(options: DemoOptions) -> DemoStack:
    """Bring everything up in a wiped data folder; on any failure, stop what started."""
    data_dir = options.data_dir.resolve()
    clean_leftovers(data_dir)
    storage = open_storage(
        data_dir,
        redis_dir=data_dir,
        data_dir=data_dir,
        database_file=DATABASE_FILE,
        jira_webhook_secret=secrets.token_urlsafe(32),
        orphan_grace_seconds=2.0,
        scheduler_interval_seconds=1,
        http_timeout_seconds=5.0,
        log_format="json",
    )
    stack = DemoStack(options, data_dir)
    stack.attach(storage, functools.partial(start_upstreams, seed=options.seed, host=options.host))
    try:
        stack.redis_pid = storage.redis_server.pid() if storage.redis_server else None
        stack.sso = DemoSso(options.host)
        stack.settings = stack.sso.configure(stack.settings)
        stack.start_api(host=options.host, port=options.port)
        stack.sso.register(stack.api_url)
        stack.pf.seed_tasks(options.tasks, rng=random.Random(options.seed))
        stack.start_worker()
    except BaseException:
        stack.close()
        raise
    return stack
