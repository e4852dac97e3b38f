"""POST /api/v1/webhooks/jira against the real app, a real Redis and a migrated SQLite file."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from gateway.api import webhooks
from gateway.api.app import create_app
from gateway.api.signature import sign
from gateway.api.sites import SiteDirectory
from gateway.api.webhooks import (
    WEBHOOK_PATH,
    ingress_state,
)
from gateway.db import make_engine
from gateway.jobs import ISSUE_EVENT_JOB
from gateway.migrate import upgrade
from gateway.models import EventType, SyncEvent
from gateway.redis import EmbeddedRedis
from gateway.settings import Settings, load_settings
from tests.conftest import WEBHOOK_SECRET
from tests.gateway.api.webhook_helpers import (
    SITE,
    QueuedJob,
    add_domain,
    count_queries,
    dedupe_keys,
    encode,
    issue_event,
    post,
    queued_jobs,
    redis_commands,
    sample,
)

VECTOR_SECRET = "It's a Secret to Everybody"
VECTOR_HEADER = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9"
GENERIC_401 = {"detail": "invalid signature"}
REJECTED = "gateway_webhooks_rejected_total"
IGNORED = "gateway_webhooks_ignored_total"
SMALL_LIMIT = 4096


@pytest.fixture
def domain_id(engine: Engine) -> int:
    return add_domain(engine)


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@contextmanager
def untouched(app: FastAPI, redis_url: str) -> Generator[None]:
    """Assert the block sends no command to Redis and no statement to the database."""
    before = redis_commands(redis_url)
    with count_queries(app.state.engine) as queries:
        yield
    assert queries.statements == []
    assert redis_commands(redis_url) == before


def assert_rejected(
    app: FastAPI,
    client: TestClient,
    redis_url: str,
    reason: str,
    *,
    secret: str | None = WEBHOOK_SECRET,
    headers: dict[str, str] | None = None,
) -> None:
    """Post an event that must be answered 401 for ``reason`` without side effects."""
    before = sample(REJECTED, reason=reason)
    with untouched(app, redis_url):
        response = post(client, encode(issue_event()), secret=secret, headers=headers)
    assert response.status_code == 401
    assert response.json() == GENERIC_401
    assert sample(REJECTED, reason=reason) == before + 1


# -- rejections: nothing touches Redis or the database -------------------------------------


def test_no_signature_header(app: FastAPI, client: TestClient, redis_url: str) -> None:
    assert_rejected(app, client, redis_url, "missing", secret=None)


def test_empty_signature_header(app: FastAPI, client: TestClient, redis_url: str) -> None:
    assert_rejected(app, client, redis_url, "missing", secret=None, headers={"X-Hub-Signature": ""})


def test_sha1_signature_is_unsupported(app: FastAPI, client: TestClient, redis_url: str) -> None:
    header = "sha1=0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33"
    assert_rejected(
        app,
        client,
        redis_url,
        "unsupported_method",
        secret=None,
        headers={"X-Hub-Signature": header},
    )


def test_signature_without_method_is_malformed(
    app: FastAPI, client: TestClient, redis_url: str
) -> None:
    digest = sign(body=encode(issue_event()), secret=WEBHOOK_SECRET).removeprefix("sha256=")
    assert_rejected(
        app, client, redis_url, "malformed", secret=None, headers={"X-Hub-Signature": digest}
    )


def test_non_hex_signature_is_malformed(app: FastAPI, client: TestClient, redis_url: str) -> None:
    assert_rejected(
        app,
        client,
        redis_url,
        "malformed",
        secret=None,
        headers={"X-Hub-Signature": "sha256=" + "xyz" * 21 + "0"},
    )


def test_wrongSecretStr(app: FastAPI, client: TestClient, redis_url: str) -> None:
    assert_rejected(app, client, redis_url, "mismatch", secret="not-the-gateway-secret-0000")


def test_signature_of_another_body(app: FastAPI, client: TestClient, redis_url: str) -> None:
    other = sign(body=encode(issue_event("10002")), secret=WEBHOOK_SECRET)
    assert_rejected(
        app, client, redis_url, "mismatch", secret=None, headers={"X-Hub-Signature": other}
    )


def test_no_secret_configured_rejects_every_delivery(
    settings: Settings, engine: Engine, redis_url: str
) -> None:
    unconfigured = settings.model_copy(update={"jira_webhook_secret": None})
    app = create_app(unconfigured)
    with TestClient(app) as client:
        assert_rejected(app, client, redis_url, "no_secret_configured")


def test_body_over_limit_with_content_length(
    settings: Settings, engine: Engine, redis_url: str
) -> None:
    app = create_app(settings.model_copy(update={"webhook_max_body_bytes": SMALL_LIMIT}))
    body = b"x" * (SMALL_LIMIT + 1)
    before = sample(REJECTED, reason="too_large")
    with TestClient(app) as client, untouched(app, redis_url):
        response = post(client, body)
    assert response.status_code == 413
    assert sample(REJECTED, reason="too_large") == before + 1


def test_body_at_limit_is_read(settings: Settings, engine: Engine, redis_url: str) -> None:
    app = create_app(settings.model_copy(update={"webhook_max_body_bytes": SMALL_LIMIT}))
    body = b"x" * SMALL_LIMIT
    with TestClient(app) as client:
        response = post(client, body)
    assert response.status_code == 400  # signed, read in full, not JSON


async def test_chunked_body_over_limit_stops_reading(
    settings: Settings, engine: Engine, redis_url: str
) -> None:
    app = create_app(settings.model_copy(update={"webhook_max_body_bytes": SMALL_LIMIT}))
    chunk_size, pulled = 1024, 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(1000):
            pulled += 1
            yield b"x" * chunk_size

    before = sample(REJECTED, reason="too_large")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            commands = redis_commands(redis_url)
            with count_queries(app.state.engine) as queries:
                response = await client.post(
                    WEBHOOK_PATH, content=chunks(), headers={"X-Hub-Signature": "sha256=00"}
                )
            assert redis_commands(redis_url) == commands
            assert queries.statements == []
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    # Stopped at the first chunk past the limit: never buffered more than limit + chunk.
    assert pulled == SMALL_LIMIT // chunk_size + 1
    assert sample(REJECTED, reason="too_large") == before + 1


def test_rejection_log_names_reason_and_delivery_only(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    body = encode(issue_event())
    forged = sign(body=body, secret="attacker-secret-0123456789")
    with caplog.at_level(logging.INFO, logger="gateway.webhooks"):
        post(client, body, secret=None, identifier="abc-123", headers={"X-Hub-Signature": forged})
    records = [r for r in caplog.records if r.name == "gateway.webhooks"]
    assert [r.levelno for r in records] == [logging.WARNING]
    message = records[0].getMessage()
    assert "reason=mismatch" in message and "delivery=abc-123" in message
    for leaked in (WEBHOOK_SECRET, forged, forged.removeprefix("sha256="), body.decode()):
        assert leaked not in caplog.text


# -- signed but unusable: 400, still without Redis or the database ------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[" * 100_000,
        b'["an", "array"]',
        b'"text"',
        encode({"issue": {"id": "10001"}}),
        encode({"webhookEvent": "jira:issue_updated"}),
        encode({"webhookEvent": "jira:issue_updated", "issue": {"key": "HR-1"}}),
        encode({"webhookEvent": "jira:issue_updated", "issue": {"id": "10001", "self": "x"}}),
        encode({"webhookEvent": "jira:issue_updated", "issue": {"id": ["1"], "self": SITE}}),
    ],
    ids=[
        "invalid-json",
        "not-utf8",
        "deeply-nested",
        "array",
        "string",
        "no-event",
        "no-issue",
        "no-issue-id",
        "bad-issue-self",
        "issue-id-not-scalar",
    ],
)
def test_signed_bad_payload_is_400(
    settings: Settings, engine: Engine, redis_url: str, body: bytes
) -> None:
    big = settings.model_copy(update={"webhook_max_body_bytes": 200_000})
    app = create_app(big)
    before = sample(REJECTED, reason="bad_payload")
    with TestClient(app) as client, untouched(app, redis_url):
        response = post(client, body)
    assert response.status_code == 400
    assert sample(REJECTED, reason="bad_payload") == before + 1


def test_atlassian_vector_passes_the_signature_check(
    settings: Settings, engine: Engine, redis_url: str
) -> None:
    app = create_app(settings.model_copy(update={"jira_webhook_secret": SecretStr(VECTOR_SECRET)}))
    with TestClient(app) as client, untouched(app, redis_url):
        response = post(
            client, b"Hello World!", secret=None, headers={"X-Hub-Signature": VECTOR_HEADER}
        )
    # "Hello World!" is not JSON: 400 proves it got past the signature (401 would not).
    assert response.status_code == 400


# -- accepted and queued ------------------------------------------------------------------


def test_verified_event_is_queued(client: TestClient, redis_url: str, domain_id: int) -> None:
    before = sample("gateway_webhooks_accepted_total")
    response = post(client, encode(issue_event("10001")), identifier="d-1")
    assert response.status_code == 202
    assert response.json() == {"status": "queued"}
    assert queued_jobs(redis_url) == [
        QueuedJob(f"jira-event:{domain_id}:10001:d-1", ISSUE_EVENT_JOB, (domain_id, "10001"))
    ]
    assert sample("gateway_webhooks_accepted_total") == before + 1


def test_previous_secret_accepted_during_rotation(
    settings: Settings, engine: Engine, redis_url: str, domain_id: int
) -> None:
    rotating = settings.model_copy(
        update={
            "jira_webhook_secret": SecretStr("the-new-webhook-secret-0001"),
            "jira_webhook_secret_previous": SecretStr(WEBHOOK_SECRET),
        }
    )
    with TestClient(create_app(rotating)) as client:
        old = post(client, encode(issue_event("1")), secret=WEBHOOK_SECRET, identifier="a")
        new = post(client, encode(issue_event("2")), secret="the-new-webhook-secret-0001")
    assert (old.status_code, new.status_code) == (202, 202)
    assert [job.args for job in queued_jobs(redis_url)] == [(domain_id, "1"), (domain_id, "2")]


def test_duplicate_identifier_is_answered_without_queuing(
    client: TestClient, redis_url: str, domain_id: int
) -> None:
    body = encode(issue_event())
    assert post(client, body, identifier="same").status_code == 202
    before = sample("gateway_webhook_duplicates_total")
    retry = post(client, body, identifier="same", headers={"X-Atlassian-Webhook-Retry": "1"})
    assert retry.status_code == 200
    assert retry.json() == {"status": "duplicate"}
    assert len(queued_jobs(redis_url)) == 1
    assert sample("gateway_webhook_duplicates_total") == before + 1


def test_dedupe_key_lives_for_the_configured_ttl(
    client: TestClient, settings: Settings, redis_url: str, domain_id: int
) -> None:
    assert post(client, encode(issue_event()), identifier="ttl").status_code == 202
    keys = dedupe_keys(redis_url)
    assert len(keys) == 1 and keys[0].endswith(b":ttl")
    probe = redis.Redis.from_url(redis_url)
    try:
        ttl = probe.ttl(keys[0])
    finally:
        probe.close()
    assert isinstance(ttl, int)
    assert settings.webhook_dedupe_ttl_seconds - 60 < ttl <= settings.webhook_dedupe_ttl_seconds


def test_different_deliveries_for_one_issue_are_two_jobs(
    client: TestClient, redis_url: str, domain_id: int
) -> None:
    assert post(client, encode(issue_event()), identifier="first").status_code == 202
    assert post(client, encode(issue_event()), identifier="second").status_code == 202
    jobs = queued_jobs(redis_url)
    assert sorted(job.job_id for job in jobs) == [
        f"jira-event:{domain_id}:10001:first",
        f"jira-event:{domain_id}:10001:second",
    ]
    assert {job.args for job in jobs} == {(domain_id, "10001")}


def test_without_identifier_the_body_digest_dedupes(
    client: TestClient, redis_url: str, domain_id: int
) -> None:
    body = encode(issue_event())
    assert post(client, body, identifier=None).status_code == 202
    assert post(client, body, identifier=None).json() == {"status": "duplicate"}
    changed = encode({**issue_event(), "timestamp": 1_700_000_000_001})
    assert post(client, changed, identifier=None).status_code == 202
    jobs = queued_jobs(redis_url)
    assert len(jobs) == 2
    assert all(job.job_id.startswith(f"jira-event:{domain_id}:10001:body-") for job in jobs)


def test_retry_header_zero_is_tolerated(client: TestClient, redis_url: str, domain_id: int) -> None:
    response = post(client, encode(issue_event()), headers={"X-Atlassian-Webhook-Retry": "0"})
    assert response.status_code == 202
    assert len(queued_jobs(redis_url)) == 1


def test_paused_domain_with_prefixed_site_url_is_matched(
    client: TestClient, engine: Engine, redis_url: str
) -> None:
    domain = add_domain(
        engine, name="onprem", jira_base_url="HTTPS://Jira.Example.com:443/jira/", is_active=False
    )
    payload = issue_event("77", site="https://jira.example.com/jira")
    assert post(client, encode(payload)).status_code == 202
    assert [job.args for job in queued_jobs(redis_url)] == [(domain, "77")]


def test_domains_sharing_a_site_are_told_apart_by_label(
    client: TestClient, engine: Engine, redis_url: str, domain_id: int
) -> None:
    it_domain = add_domain(engine, name="it", tracking_label="IT-Sync")
    assert post(client, encode(issue_event("1", labels=("IT-Sync",))), identifier="a").status_code
    both = issue_event("2", labels=("PeopleForce", "IT-Sync"))
    assert post(client, encode(both), identifier="b").status_code == 202
    assert sorted(job.args for job in queued_jobs(redis_url)) == [
        (domain_id, "2"),
        (it_domain, "1"),
        (it_domain, "2"),
    ]


# -- verified but ignored -----------------------------------------------------------------


def test_untracked_label_is_ignored(client: TestClient, redis_url: str, domain_id: int) -> None:
    before = sample(IGNORED, reason="untracked_label")
    response = post(client, encode(issue_event(labels=("Other",))))
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "reason": "untracked_label"}
    assert queued_jobs(redis_url) == []
    assert sample(IGNORED, reason="untracked_label") == before + 1


def test_other_event_type_is_ignored_at_once(
    app: FastAPI, client: TestClient, redis_url: str, domain_id: int
) -> None:
    before = sample(IGNORED, reason="event_type")
    with untouched(app, redis_url):
        response = post(client, encode(issue_event(event="jira:issue_created")))
    assert response.json() == {"status": "ignored", "reason": "event_type"}
    assert response.status_code == 200
    assert sample(IGNORED, reason="event_type") == before + 1


def _unknown_site_events(engine: Engine) -> list[SyncEvent]:
    with Session(engine) as session:
        query = select(SyncEvent).where(
            SyncEvent.event_type == EventType.WEBHOOK_UNKNOWN_SITE.value
        )
        return list(session.exec(query).all())


def test_unknown_site_is_ignored_and_recorded_once_a_minute(
    client: TestClient, engine: Engine, redis_url: str, domain_id: int
) -> None:
    before = sample(IGNORED, reason="unknown_site")
    stranger = "https://stranger.atlassian.net"
    for n in range(3):
        response = post(client, encode(issue_event("555", site=stranger)), identifier=f"u{n}")
        assert response.status_code == 200
        assert response.json() == {"status": "ignored", "reason": "unknown_site"}
    assert post(client, encode(issue_event("9", site="https://other.atlassian.net"))).is_success
    assert queued_jobs(redis_url) == []
    assert sample(IGNORED, reason="unknown_site") == before + 4
    events = _unknown_site_events(engine)
    assert [(e.domain_id, e.details) for e in events] == [
        (None, {"site": stranger, "issue_id": "555"}),
        (None, {"site": "https://other.atlassian.net", "issue_id": "9"}),
    ]
    assert events[0].jira_issue_key == "HR-555"


def test_burst_reads_domains_once(
    app: FastAPI, client: TestClient, redis_url: str, domain_id: int
) -> None:
    with count_queries(app.state.engine) as queries:
        for n in range(10):
            assert post(client, encode(issue_event(str(n))), identifier=f"b{n}").status_code == 202
    assert len(queries.statements) == 1
    assert len(queued_jobs(redis_url)) == 10


def test_new_domain_is_found_once_the_cache_expires(
    app: FastAPI, client: TestClient, engine: Engine, redis_url: str
) -> None:
    now = [0.0]
    ingress_state(app).sites = SiteDirectory(ttl_seconds=5, clock=lambda: now[0])
    assert post(client, encode(issue_event()), identifier="x").json()["reason"] == "unknown_site"
    domain = add_domain(engine)
    now[0] = 4.0
    assert post(client, encode(issue_event()), identifier="y").json()["reason"] == "unknown_site"
    now[0] = 5.5
    assert post(client, encode(issue_event()), identifier="z").status_code == 202
    assert [job.args for job in queued_jobs(redis_url)] == [(domain, "10001")]


# -- failures: never a 2xx unless the job is queued ----------------------------------------


def test_a_failed_enqueue_leaves_nothing_behind(
    app: FastAPI,
    client: TestClient,
    redis_url: str,
    domain_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken_queue(*_args: object, **_kwargs: object) -> bool:
        raise RedisConnectionError("connection lost")

    before = sample("gateway_webhooks_enqueue_failures_total")
    with monkeypatch.context() as patch:
        patch.setattr(webhooks, "queue_delivery", broken_queue)
        failed = post(client, encode(issue_event()), identifier="lost")
    assert failed.status_code == 503
    assert sample("gateway_webhooks_enqueue_failures_total") == before + 1
    assert queued_jobs(redis_url) == []
    # Jira's retry of the same delivery is queued, not swallowed as a duplicate.
    retry = post(client, encode(issue_event()), identifier="lost")
    assert retry.status_code == 202
    assert len(queued_jobs(redis_url)) == 1


def test_database_unavailable_is_503(
    client: TestClient, engine: Engine, redis_url: str, domain_id: int
) -> None:
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE domain_config RENAME TO domain_config_gone"))
    response = post(client, encode(issue_event()))
    assert response.status_code == 503
    assert queued_jobs(redis_url) == []


def test_redis_down_is_503_and_never_2xx(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    settings = load_settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'down.db'}",
        redis_url=server.ensure_running(),
        jira_webhook_secret=WEBHOOK_SECRET,
    )
    upgrade(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url)
    domain = add_domain(engine)
    engine.dispose()
    before = sample("gateway_webhooks_enqueue_failures_total")
    try:
        with TestClient(create_app(settings)) as client:
            assert post(client, encode(issue_event("1")), identifier="up").status_code == 202
            server.stop()
            statuses = {
                post(client, encode(issue_event(str(n))), identifier=f"down-{n}").status_code
                for n in range(3)
            }
            assert statuses == {503}
            assert sample("gateway_webhooks_enqueue_failures_total") == before + 3

            server.ensure_running()
            assert post(client, encode(issue_event("1")), identifier="up").status_code == 200
            assert post(client, encode(issue_event("0")), identifier="down-0").status_code == 202
        jobs = queued_jobs(server.url)
        assert [job.args for job in jobs] == [(domain, "1"), (domain, "0")]
    finally:
        server.stop()
