"""Embedded Redis, the ARQ round trip with a real worker, and the readiness probe."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import redis
from arq.connections import ArqRedis
from arq.jobs import JobStatus
from arq.worker import Worker
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.jobs import QUEUE_NAME, open_pool
from gateway.redis import EmbeddedRedis
from gateway.settings import Settings, load_settings
from gateway.worker import HEARTBEAT_KEY_PREFIX, WorkerSettings, record_heartbeat


def burst_worker(pool: ArqRedis, settings: Settings) -> Worker:
    return Worker(
        functions=WorkerSettings.functions,
        redis_pool=pool,
        queue_name=QUEUE_NAME,
        on_startup=WorkerSettings.on_startup,
        on_shutdown=WorkerSettings.on_shutdown,
        burst=True,
        poll_delay=0.05,
        ctx={"settings": settings},
    )


async def test_job_round_trip_through_real_worker(
    arq_pool: ArqRedis, settings: Settings, engine: object
) -> None:
    job = await arq_pool.enqueue_job(record_heartbeat.__name__)
    assert job is not None
    assert await job.status() == JobStatus.queued

    worker = burst_worker(arq_pool, settings)
    await worker.main()
    await worker.close()

    assert worker.jobs_complete == 1 and worker.jobs_failed == 0
    result = await job.result(timeout=5)
    assert abs(result - time.time()) < 60
    keys = await arq_pool.keys(HEARTBEAT_KEY_PREFIX + "*")
    assert len(keys) == 1


def test_embedded_redis_persists_to_data_dir(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "data")
    url = server.ensure_running()
    try:
        client = redis.Redis.from_url(url)
        client.set("survives", "restart")
        client.close()
        server.stop()
        assert not server.is_running()
        server.ensure_running()
        client = redis.Redis.from_url(url)
        assert client.get("survives") == b"restart"
        client.close()
    finally:
        server.stop()
    assert (tmp_path / "data" / "redis.log").exists()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError as error:
            last = error
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready: {last}")


async def test_serve_and_worker_processes_share_one_embedded_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update({"GATEWAY_DATA_DIR": str(tmp_path / "data"), "GATEWAY_LOG_FORMAT": "text"})
    port = free_port()
    api = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = EmbeddedRedis(tmp_path / "data")
    try:
        ready = wait_ready(f"http://127.0.0.1:{port}/readyz")
        assert ready.json()["checks"]["redis"] == "ok"
        assert server.is_running()
        redis_pid = server.pid()

        pool = await open_pool(server.url)
        job = await pool.enqueue_job(record_heartbeat.__name__)
        assert job is not None
        worker = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "worker", "--burst"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert worker.returncode == 0, worker.stderr
        assert await job.status() == JobStatus.complete
        await pool.aclose()
        # The worker reused the server the API started: still one, same pid.
        assert server.pid() == redis_pid
    finally:
        api.send_signal(signal.SIGINT)
        api.wait(timeout=20)
        server.stop()


def test_readyz_follows_redis_availability(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "data")
    settings = load_settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path}/r.db")
    from gateway.migrate import upgrade

    upgrade(settings.effective_database_url)
    try:
        with TestClient(create_app(settings)) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            assert client.get("/readyz").status_code == 200

            server.stop()
            down = client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["failing"] == ["redis"]

            server.ensure_running()
            assert client.get("/readyz").status_code == 200
    finally:
        server.stop()


def test_readyz_names_an_outdated_schema(tmp_path: Path, redis_url: str) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path}/empty.db",
        redis_url=redis_url,
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["schema"]
    assert "gateway db upgrade" in response.json()["checks"]["schema"]


def gateway_check(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``gateway check`` in a fresh process, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "check"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["COLUMNS"] = "200"
    env["GATEWAY_JIRA_WEBHOOK_SECRET"] = "a-very-secret-webhook-value"
    fresh = gateway_check(tmp_path, env)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "a-very-secret-webhook-value" not in fresh.stdout + fresh.stderr
    assert "GATEWAY_JIRA_WEBHOOK_SECRET" in fresh.stdout
    assert "ok redis" in fresh.stdout
    # check leaves no embedded Redis running behind it
    assert not EmbeddedRedis(tmp_path / "data").is_running()

    env["GATEWAY_REDIS_URL"] = f"redis://127.0.0.1:{free_port()}"
    closed = gateway_check(tmp_path, env)
    assert closed.returncode == 1
    assert "FAIL redis" in closed.stdout
    assert "unreachable" in closed.stdout
