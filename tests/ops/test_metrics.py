"""/metrics, request ids, worker heartbeats in /readyz, and upstream call counters."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from io import StringIO
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.clients.instrument import endpoint_template, record_retry
from gateway.clients.retry import RetryPolicy
from gateway.clients.transport import Transport
from gateway.heartbeat import HEARTBEAT_KEY_PREFIX
from gateway.logs import configure_logging, log_context
from gateway.models import DomainConfig, SyncState, SyncStatus
from gateway.settings import Settings
from gateway.worker import start_metrics_server


@contextmanager
def json_logs() -> Generator[StringIO]:
    """Capture JSON log lines, then put the root logger back as it was."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = StringIO()
    configure_logging("INFO", "json", stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def add_domain(engine: Engine, name: str = "acme") -> int:
    from sqlmodel import Session

    with Session(engine) as session:
        domain = DomainConfig(
            name=name, pf_base_url="http://pf.test", jira_base_url="http://jira.test"
        )
        session.add(domain)
        session.commit()
        session.refresh(domain)
        assert domain.id is not None
        return domain.id


def test_metrics_are_public_by_default_and_include_database_gauges(
    client: TestClient, engine: Engine
) -> None:
    from sqlmodel import Session

    from gateway.clock import utcnow

    domain_id = add_domain(engine)
    with Session(engine) as session:
        session.add(
            SyncState(
                domain_id=domain_id,
                pf_task_id=1,
                status=SyncStatus.PENDING_CREATE,
                intent_at=utcnow() - timedelta(seconds=90),
            )
        )
        session.commit()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert "gateway_webhooks_accepted_total" in body
    assert 'gateway_dead_letters_open{domain="acme"} 0.0' in body
    assert sample("gateway_sync_lag_seconds", domain="acme") >= 89
    assert "gateway_jobs_queued 0.0" in body
    assert "gateway_workers_alive 0.0" in body


def test_metrics_token_and_switch(settings: Settings, engine: Engine) -> None:
    guarded = settings.model_copy(update={"metrics_token": SecretStr("scrape-token-0123456789")})
    with TestClient(create_app(guarded)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
        assert ok.status_code == 200
    off = settings.model_copy(update={"metrics_enabled": False})
    with TestClient(create_app(off)) as client:
        assert client.get("/metrics").status_code == 404


def test_request_id_is_echoed_or_made_and_lands_in_logs(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32

    with json_logs() as stream:
        client.post(
            "/api/v1/webhooks/jira",
            content=b"{}",
            headers={"X-Request-ID": "req-42", "X-Hub-Signature": "sha256=00"},
        )
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    rejected = [line for line in lines if "webhook rejected" in line["message"]]
    assert rejected and rejected[0]["request_id"] == "req-42"


def test_log_context_fields_and_no_unknown_fields() -> None:
    with json_logs() as stream, log_context(domain="acme", task_id=7, issue_key="HR-1"):
        logging.getLogger("t").info("hello")
    entry = json.loads(stream.getvalue())
    assert (entry["domain"], entry["task_id"], entry["issue_key"]) == ("acme", 7, "HR-1")
    with pytest.raises(ValueError), log_context(password="x"):
        pass


def test_readyz_reports_workers_and_can_require_one(
    settings: Settings, engine: Engine, redis_url: str
) -> None:
    with TestClient(create_app(settings)) as client:
        body = client.get("/readyz").json()
        assert body["status"] == "ready" and body["workers"] == {"alive": 0}
    strict = settings.model_copy(update={"ready_worker_max_age_seconds": 60})
    with TestClient(create_app(strict)) as client:
        down = client.get("/readyz")
        assert down.status_code == 503 and down.json()["failing"] == ["workers"]
        beat = redis.Redis.from_url(redis_url)
        beat.set(HEARTBEAT_KEY_PREFIX + "host:1", str(time.time() - 5), ex=120)
        up = client.get("/readyz")
        assert up.status_code == 200
        assert up.json()["workers"]["alive"] == 1
        beat.set(HEARTBEAT_KEY_PREFIX + "host:1", str(time.time() - 300), ex=120)
        assert client.get("/readyz").status_code == 503
        beat.close()


def test_endpoint_templates_bound_the_label() -> None:
    assert endpoint_template("/rest/api/3/issue/10042/transitions") == (
        "/rest/api/3/issue/{id}/transitions"
    )
    assert endpoint_template("/rest/api/3/issue/HR-12") == "/rest/api/3/issue/{id}"
    assert endpoint_template("/tasks/55/complete") == "/tasks/{id}/complete"


async def test_transport_counts_every_attempt_429s_and_backoff() -> None:
    answers = iter([429, 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        headers = {"Retry-After": "0"} if status == 429 else {}
        return httpx.Response(status, json={}, headers=headers)

    async def no_sleep(_: float) -> None:
        return None

    policy = RetryPolicy(max_attempts=3, base_delay=0.01, sleep=no_sleep, on_retry=record_retry)
    endpoint = "/rest/api/3/issue/{id}"
    before = {
        status: sample(
            "gateway_upstream_requests_total", service="jira", endpoint=endpoint, status=status
        )
        for status in ("429", "503", "200")
    }
    limited = sample("gateway_upstream_rate_limited_total", service="jira")
    retries = sample("gateway_upstream_retries_total", service="jira", status="429")
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        transport = Transport("jira", http, "http://jira.test", policy)
        response = await transport.request("GET", "/rest/api/3/issue/10001", idempotent=True)
    assert response.status_code == 200
    for status in ("429", "503", "200"):
        after = sample(
            "gateway_upstream_requests_total", service="jira", endpoint=endpoint, status=status
        )
        assert after == before[status] + 1
    assert sample("gateway_upstream_rate_limited_total", service="jira") == limited + 1
    assert sample("gateway_upstream_retries_total", service="jira", status="429") == retries + 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_worker_serves_its_own_metrics_port(settings: Settings) -> None:
    port = free_port()
    start_metrics_server(
        settings.model_copy(
            update={"worker_metrics_port": port, "worker_metrics_host": "127.0.0.1"}
        )
    )
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    assert "gateway_jobs_running" in response.text


async def test_jobs_are_counted_by_outcome() -> None:
    from arq import Retry

    from gateway.worker import observed

    async def fine(ctx: dict) -> str:
        return "ok"

    async def flaky(ctx: dict) -> None:
        raise Retry(defer=1)

    async def broken(ctx: dict) -> None:
        raise ValueError("boom")

    def count(name: str, outcome: str) -> float:
        return sample("gateway_jobs_total", function=name, outcome=outcome)

    before = (count("fine", "ok"), count("flaky", "retry"), count("broken", "failed"))
    assert await observed(fine)({}) == "ok"
    with pytest.raises(Retry):
        await observed(flaky)({})
    with pytest.raises(ValueError):
        await observed(broken)({})
    after = (count("fine", "ok"), count("flaky", "retry"), count("broken", "failed"))
    assert after == tuple(value + 1 for value in before)
    assert sample("gateway_jobs_running") == 0


def test_every_metric_the_readme_serves_from_workers_is_in_their_snapshot() -> None:
    """The README's metrics table says which metrics the API serves with the ``worker``
    label: those are the ones a worker publishes (``fleet_metrics.snapshot``)."""
    from gateway.monitoring.fleet_metrics import WORKER_GAUGES

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `gateway_")]
    from_workers = [
        name
        for row in rows
        if "label `worker`" in row.split("|")[4]
        for name in re.findall(r"`(gateway_[a-z_]+)`", row.split("|")[1])
    ]
    assert "gateway_ticks_total" in from_workers, "the README's metrics table was not found"
    types = {family.name: family.type for family in REGISTRY.collect()}
    for name in from_workers:
        family = name.removesuffix("_total")
        assert family in types, f"{name} is in the README but not registered"
        if types[family] == "gauge":
            assert family in WORKER_GAUGES, f"{name}: the README says so, workers never publish it"
