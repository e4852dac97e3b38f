"""Start and stop every process of the demo, leaving nothing behind.

The API and both fakes run on uvicorn threads of this process; the worker is a
real ``gateway worker`` subprocess in its own session (so a terminal Ctrl-C
reaches only the demo, which then stops it), and Redis is the embedded server
started in the demo's data folder. ``stop()`` is safe to call more than once.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from arq.connections import ArqRedis
from sqlalchemy import Engine

from fakes.clock import FakeClock
from fakes.faults import FaultPlane
from fakes.jira import create_jira_app
from fakes.jira_human import FakeJira
from fakes.jira_webhooks import DEFAULT_FILTER
from fakes.peopleforce import FakePeopleForce, create_peopleforce_app
from fakes.server import FakeServer
from gateway.db import make_engine
from gateway.redis import EmbeddedRedis
from gateway.settings import Settings, load_settings

PF_API_KEY = "demo-peopleforce-key"
JIRA_EMAIL = "gateway-bot@example.com"
JIRA_TOKEN = "demo-jira-api-token"
ADMIN_USERNAME = "admin"
WEBHOOK_NAME = "PF-Jira Sync: Task Completion Return Vector"
WORKER_PIDFILE = "worker.pid"
MARKER = ".gateway-demo"
WORKER_LOG = "worker.log"
WORKER_STOP_SECONDS = 10.0
PF_PAGE_SIZE = 25


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


@dataclass
class Stack:
    """Handles on every running part; ``stop()`` ends them all."""

    options: DemoOptions
    data_dir: Path
    settings: Settings
    engine: Engine
    redis: EmbeddedRedis
    pf_server: FakeServer
    jira_server: FakeServer
    api_server: FakeServer
    worker: subprocess.Popen[bytes]
    webhook_secret: str
    admin_password: str
    clock: FakeClock
    pool: ArqRedis | None = None
    stopped: bool = field(default=False)

    @property
    def pf(self) -> FakePeopleForce:
        return self.pf_server.app.state.pf  # ty: ignore[missing-attribute]

    @property
    def jira(self) -> FakeJira:
        return self.jira_server.app.state.jira  # ty: ignore[missing-attribute]

    @property
    def jira_faults(self) -> FaultPlane:
        return self.jira_server.app.state.faults  # ty: ignore[missing-attribute]

    @property
    def api_url(self) -> str:
        return self.api_server.url

    def stop(self) -> None:
        """Worker first (it holds Redis and the database), then servers, then Redis."""
        if self.stopped:
            return
        self.stopped = True
        stop_worker(self.worker)
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / WORKER_PIDFILE).unlink()
        for server in (self.api_server, self.jira_server, self.pf_server):
            with contextlib.suppress(Exception):
                server.stop()
        self.engine.dispose()
        self.redis.stop()


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM (ARQ finishes gracefully), then SIGKILL after a grace period."""
    if worker.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(WORKER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            worker.kill()
        worker.wait(WORKER_STOP_SECONDS)


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


def demo_environment(settings: Settings) -> dict[str, str]:
    """The worker's environment: the demo's settings as GATEWAY_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    secret = settings.jira_webhook_secret
    env.update(
        {
            "GATEWAY_DATA_DIR": str(settings.data_dir),
            "GATEWAY_DATABASE_URL": settings.database_url,
            "GATEWAY_REDIS_URL": settings.redis_url or "",
            "GATEWAY_JIRA_WEBHOOK_SECRET": secret.get_secret_value() if secret else "",
            "GATEWAY_ORPHAN_GRACE_SECONDS": str(settings.orphan_grace_seconds),
            "GATEWAY_SCHEDULER_INTERVAL_SECONDS": str(settings.scheduler_interval_seconds),
            "GATEWAY_HTTP_TIMEOUT_SECONDS": str(settings.http_timeout_seconds),
            "GATEWAY_LOG_FORMAT": "json",
            "GATEWAY_LOG_LEVEL": "INFO",
        }
    )
    # Keep the user's alert settings, so a demo can show a real notification.
    for name in (
        "NOTIFY_WEBHOOK_URL",
        "NOTIFY_WEBHOOK_URL_FALLBACK",
        "NOTIFY_MIN_INTERVAL_SECONDS",
    ):
        value = os.environ.get(f"GATEWAY_{name}")
        if value:
            env[f"GATEWAY_{name}"] = value
    return env


def start_worker(settings: Settings, data_dir: Path) -> subprocess.Popen[bytes]:
    """A real ``gateway worker`` process, logging JSON lines to ``worker.log``."""
    log = open(data_dir / WORKER_LOG, "ab")  # noqa: SIM115 - handed to the child
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "worker"],
            cwd=data_dir,
            env=demo_environment(settings),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    finally:
        log.close()
    (data_dir / WORKER_PIDFILE).write_text(str(process.pid))
    return process


def start_stack(options: DemoOptions) -> Stack:
    """Bring everything up in a wiped data folder; on any failure, stop what started."""
    from gateway.migrate import upgrade

    data_dir = options.data_dir.resolve()
    clean_leftovers(data_dir)
    webhook_secret = secrets.token_urlsafe(32)
    admin_password = secrets.token_urlsafe(12)
    redis = EmbeddedRedis(data_dir)
    started: list[FakeServer] = []
    engine: Engine | None = None
    try:
        redis_url = redis.ensure_running()
        database_url = f"sqlite:///{data_dir / 'demo.db'}"
        settings = load_settings(
            _env_file=None,
            data_dir=data_dir,
            database_url=database_url,
            redis_url=redis_url,
            jira_webhook_secret=webhook_secret,
            orphan_grace_seconds=2.0,
            scheduler_interval_seconds=1,
            http_timeout_seconds=5.0,
            log_format="json",
        )
        upgrade(database_url)
        engine = make_engine(database_url)
        clock = FakeClock()
        pf_app = create_peopleforce_app(
            api_key=PF_API_KEY, page_size=PF_PAGE_SIZE, seed=options.seed, clock=clock
        )
        pf_server = FakeServer(pf_app, host=options.host).start()
        started.append(pf_server)
        jira_app = create_jira_app(
            email=JIRA_EMAIL, api_token=JIRA_TOKEN, seed=options.seed, clock=clock
        )
        jira_server = FakeServer(jira_app, host=options.host).start()
        started.append(jira_server)
        jira_app.state.jira.set_base_url(jira_server.url)

        from gateway.api.app import create_app

        api_server = FakeServer(create_app(settings), host=options.host, port=options.port)
        api_server.start()
        started.append(api_server)
        jira_app.state.jira.webhooks.register(
            f"{api_server.url}/api/v1/webhooks/jira",
            name=WEBHOOK_NAME,
            events=["jira:issue_updated"],
            jql=DEFAULT_FILTER,
            secret=webhook_secret,
        )
        pf_app.state.pf.seed_tasks(options.tasks, rng=random.Random(options.seed))
        worker = start_worker(settings, data_dir)
    except BaseException:
        for server in reversed(started):
            with contextlib.suppress(Exception):
                server.stop()
        if engine is not None:
            engine.dispose()
        redis.stop()
        raise
    return Stack(
        options=options,
        data_dir=data_dir,
        settings=settings,
        engine=engine,
        redis=redis,
        pf_server=pf_server,
        jira_server=jira_server,
        api_server=api_server,
        worker=worker,
        webhook_secret=webhook_secret,
        admin_password=admin_password,
        clock=clock,
    )


def wait_for_worker(stack: Stack, timeout: float = 30.0) -> bool:
    """True once the worker wrote its first heartbeat; False if it died or took too long."""
    import redis as redis_lib

    from gateway.heartbeat import HEARTBEAT_KEY_PREFIX

    client = redis_lib.Redis.from_url(stack.redis.url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if stack.worker.poll() is not None:
                return False
            if client.keys(HEARTBEAT_KEY_PREFIX + "*"):
                return True
            time.sleep(0.1)
    finally:
        client.close()
    return False
