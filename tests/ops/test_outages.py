"""Redis and the database going away under a running gateway: 503s with a clear body,
workers that wait and resume, and an embedded Redis that the gateway restarts itself."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from gateway.admin.accounts import TOKEN_PREFIX, create_api_token, create_user
from gateway.api.app import create_app
from gateway.api.outages import WATCH_INTERVAL_SECONDS
from gateway.db import make_engine, session_scope
from gateway.demo.records import domain_values, insert_domain
from gateway.migrate import upgrade
from gateway.redis import EmbeddedRedis
from gateway.security.crypto import load_cipher, set_default_cipher
from gateway.settings import Settings, load_settings
from tests.gateway.admin.conftest import ADMIN_PASSWORD, ADMIN_USER, sign_in
from tests.ops.support import (
    log_lines,
    messages,
    non_json_lines,
    start_worker,
    wait_for,
    worker_process,
)
from tests.world import World

OUTAGE_SECONDS = 3.0


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis server of this test's own, to stop and kill."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.ensure_running()
    yield server
    server.stop()


def gateway_settings(tmp_path: Path, **values: object) -> Settings:
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'gateway.db'}",
        **values,
    )
    set_default_cipher(load_cipher(settings))  # engines made here encrypt with its key
    upgrade(settings.effective_database_url)
    return settings


def seed_admin(engine: Engine) -> str:
    """An admin account for the UI and an API token; returns the token."""
    with session_scope(engine) as session:
        create_user(session, ADMIN_USER, ADMIN_PASSWORD)
        _, token = create_api_token(session, "ops")
    return token


def test_admin_answers_503_while_redis_is_down_and_recovers(
    tmp_path: Path, private_redis: EmbeddedRedis
) -> None:
    settings = gateway_settings(tmp_path, redis_url=private_redis.url)
    engine = make_engine(settings.effective_database_url)
    token = seed_admin(engine)
    domain_id = insert_domain(engine, domain_values("http://pf.invalid", "http://jira.invalid"))
    bearer = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        assert sign_in(client).status_code == 303
        assert client.get("/admin").status_code == 200

        private_redis.stop()
        page = client.get("/admin", headers={"Accept": "text/html"})
        assert page.status_code == 503
        assert "Redis is unreachable" in page.text
        assert page.headers["Retry-After"]
        api = client.post(f"/api/v1/admin/domains/{domain_id}/tick", headers=bearer)
        assert api.status_code == 503
        assert api.json()["unavailable"] == "Redis"
        assert "Redis is unreachable" in api.json()["detail"]

        private_redis.ensure_running()
        assert client.get("/admin").status_code == 200
        assert (
            client.post(f"/api/v1/admin/domains/{domain_id}/tick", headers=bearer).status_code
            == 202
        )
    engine.dispose()


def test_admin_api_answers_503_while_the_database_is_unreachable(
    tmp_path: Path, redis_url: str
) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url="postgresql+psycopg://gateway:secret@127.0.0.1:1/gateway",
        redis_url=redis_url,
    )
    with TestClient(create_app(settings)) as client:
        token = f"{TOKEN_PREFIX}anything"
        response = client.get("/api/v1/admin/domains", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.json()["unavailable"] == "the database"
    assert "secret" not in response.text


async def test_a_worker_rides_out_a_redis_outage_and_resumes_ticking(
    world: World, private_redis: EmbeddedRedis
) -> None:
    world.add_domain()
    world.pf.create_task("Prepare the desk for Ada")
    worker = start_worker(
        world,
        "worker",
        wait=False,
        GATEWAY_REDIS_URL=private_redis.url,
        GATEWAY_REDIS_RECONNECT_MAX_DELAY_SECONDS="1",
    )
    try:
        worker.wait_heartbeat(private_redis.url)
        wait_for(lambda: world.domain().last_poll_at is not None, 60, lambda: "no first tick")
        private_redis.stop()
        time.sleep(OUTAGE_SECONDS)
        assert worker.alive, log_lines(worker)[-5:]
        back = world.domain().last_poll_at
        private_redis.ensure_running()
        wait_for(
            lambda: world.domain().last_poll_at != back,
            60,
            lambda: f"no tick after Redis came back: {log_lines(worker)[-5:]}",
        )
    finally:
        worker.stop()
    logged = messages(log_lines(worker))
    assert sum(m.startswith("Redis unreachable") for m in logged) == 1
    assert sum(m.startswith("Redis reachable again") for m in logged) == 1
    assert not non_json_lines(log_lines(worker))


def test_a_worker_restarts_a_dead_embedded_redis_on_its_data(
    tmp_path: Path, settings: Settings, engine: Engine
) -> None:
    embedded = settings.model_copy(update={"redis_url": None, "data_dir": tmp_path / "data"})
    worker = worker_process(embedded, tmp_path, "worker")
    server = EmbeddedRedis(tmp_path / "data")
    try:
        wait_for(server.is_running, 60, lambda: f"no embedded Redis: {log_lines(worker)[-5:]}")
        worker.wait_heartbeat(server.url)
        client = redis.Redis.from_url(server.url)
        client.set("survives", "the crash")
        client.close()
        time.sleep(1.5)  # the append-only file is written every second
        first = server.pid()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_for(
            lambda: server.is_running() and server.pid() != first,
            60,
            lambda: f"embedded Redis not restarted: {log_lines(worker)[-5:]}",
        )
        client = redis.Redis.from_url(server.url)
        assert client.get("survives") == b"the crash"
        client.close()
        assert worker.alive
    finally:
        worker.stop()
        server.stop()
    assert any("starting it again" in m for m in messages(log_lines(worker)))


def test_the_api_restarts_a_dead_embedded_redis(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path)
    server = EmbeddedRedis(settings.data_dir)
    try:
        with TestClient(create_app(settings)) as client:
            first = server.pid()
            assert first is not None
            os.kill(first, signal.SIGKILL)
            wait_for(
                lambda: server.is_running() and server.pid() != first,
                60,
                lambda: "the API did not restart the embedded Redis",
            )
            assert client.get("/readyz").status_code == 200
    finally:
        server.stop()


def test_an_embedded_redis_stopped_on_purpose_stays_stopped(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path)
    server = EmbeddedRedis(settings.data_dir)
    try:
        with TestClient(create_app(settings)) as client:
            server.stop()  # `gateway redis stop`
            time.sleep(3 * WATCH_INTERVAL_SECONDS)
            assert not server.is_running()
            assert client.get("/readyz").status_code == 503
    finally:
        server.stop()


def test_redis_stopped_on_purpose_is_reported_and_started_again_from_the_cli(
    tmp_path: Path,
) -> None:
    """`gateway redis stop` has its `start`; `check` does not call a stopped server ok."""
    from tests.gateway.test_settings import run_cli

    env = {"GATEWAY_DATA_DIR": str(tmp_path / "data")}
    server = EmbeddedRedis(tmp_path / "data")
    try:
        assert run_cli("redis", "start", cwd=tmp_path, env=env).stdout.startswith("started")
        assert run_cli("redis", "stop", cwd=tmp_path, env=env).stdout.strip() == "stopped"
        status = run_cli("redis", "status", cwd=tmp_path, env=env).stdout
        assert "gateway redis start" in status
        check = run_cli("check", cwd=tmp_path, env=env)
        assert check.returncode != 0 and "`gateway redis start`" in check.stdout + check.stderr
        assert not server.is_running(), "check must not start a server stopped on purpose"

        started = run_cli("redis", "start", cwd=tmp_path, env=env)
        assert started.returncode == 0 and started.stdout.startswith("started (pid ")
        assert server.is_running() and not server.stopped_on_purpose
        assert run_cli("redis", "start", cwd=tmp_path, env=env).stdout.startswith("already")
    finally:
        server.stop()


def test_a_token_read_answers_while_sqlite_is_locked_and_its_use_is_recorded_after(
    tmp_path: Path, redis_url: str
) -> None:
    """Recording a token's last use is a write; it happens beside the request, so a read
    with a token answers while another process holds SQLite's write lock (before, the
    request waited out the busy timeout and answered 503)."""
    settings = gateway_settings(tmp_path, redis_url=redis_url)
    engine = make_engine(settings.effective_database_url)
    token = seed_admin(engine)
    bearer = {"Authorization": f"Bearer {token}"}
    stale = "UPDATE api_token SET last_used_at = '2020-01-01 00:00:00.000000'"
    with engine.begin() as connection:
        connection.execute(text(stale))
    holder = sqlite3.connect(tmp_path / "gateway.db", isolation_level=None)
    try:
        with TestClient(create_app(settings)) as client:
            holder.execute("BEGIN EXCLUSIVE")
            answer = client.get("/api/v1/admin/me", headers=bearer)
            assert answer.status_code == 200, answer.text
            holder.execute("ROLLBACK")
            wait_for(
                lambda: last_used_year(engine) > 2020, 30, lambda: "the token's use not recorded"
            )
    finally:
        holder.close()
        engine.dispose()


def last_used_year(engine: Engine) -> int:
    with engine.connect() as connection:
        used = connection.execute(text("SELECT last_used_at FROM api_token")).scalar_one()
    return int(str(used)[:4])
