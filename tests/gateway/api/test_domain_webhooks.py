"""POST /api/v1/webhooks/jira/{public id}: each domain's own URL and secret.

The real app, a real Redis and a migrated SQLite file. The domain directory runs
on a frozen clock once warmed, so a rejection can be shown to touch neither Redis
nor the database.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given
from sqlalchemy import Engine
from sqlmodel import Session

from gateway.admin.errors import Conflict
from gateway.admin.webhook_secrets import issue_webhook_secret
from gateway.api.app import create_app
from gateway.api.signature import sign
from gateway.api.sites import SiteDirectory
from gateway.api.webhooks import WEBHOOK_PATH, ingress_state
from gateway.db import session_scope
from gateway.jobs import ISSUE_EVENT_JOB
from gateway.models import DomainConfig
from gateway.settings import Settings
from tests.conftest import WEBHOOK_SECRET
from tests.gateway.api.test_webhooks_fuzz import FUZZ, bodies, signatures
from tests.gateway.api.webhook_helpers import (
    SITE,
    QueuedJob,
    add_domain,
    count_queries,
    encode,
    issue_event,
    post,
    queued_jobs,
    redis_commands,
    sample,
)

REJECTED = "gateway_webhooks_rejected_total"
GENERIC_401 = {"detail": "invalid signature"}
SMALL_LIMIT = 4096
OTHER_SITE = "https://globex.atlassian.net"


class Clock:
    """A directory clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def issue(engine: Engine, domain_id: int, *, rotate: bool = False) -> str:
    with session_scope(engine) as session:
        domain = session.get(DomainConfig, domain_id)
        assert domain is not None
        return issue_webhook_secret(session, domain, rotate=rotate).secret


def path_of(engine: Engine, domain_id: int) -> str:
    with Session(engine) as session:
        domain = session.get(DomainConfig, domain_id)
        assert domain is not None
        return f"{WEBHOOK_PATH}/{domain.public_id}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def acme(engine: Engine) -> int:
    return add_domain(engine, name="acme")


@pytest.fixture
def globex(engine: Engine) -> int:
    return add_domain(engine, name="globex", jira_base_url=OTHER_SITE)


def make_client(settings: Settings, clock: Clock) -> Iterator[tuple[FastAPI, TestClient]]:
    app = create_app(settings)
    with TestClient(app) as client:
        ingress_state(app).sites = SiteDirectory(clock=clock)
        yield app, client


@pytest.fixture
def served(
    settings: Settings, engine: Engine, clock: Clock
) -> Iterator[tuple[FastAPI, TestClient]]:
    yield from make_client(settings, clock)


@contextmanager
def untouched(app: FastAPI, redis_url: str) -> Generator[None]:
    before = redis_commands(redis_url)
    with count_queries(app.state.engine) as queries:
        yield
    assert queries.statements == []
    assert redis_commands(redis_url) == before


def warm(client: TestClient, path: str, secret: str) -> None:
    """One signed delivery the gateway ignores at once: loads the directory, queues nothing."""
    body = encode(issue_event(event="jira:issue_created"))
    assert post(client, body, secret=secret, path=path, identifier="warm").status_code == 200


# -- the domain's own secret, and only for its own issues ----------------------------------


def test_delivery_signed_with_the_domains_secret_is_queued_for_it(
    served: tuple[FastAPI, TestClient], engine: Engine, redis_url: str, acme: int, globex: int
) -> None:
    _, client = served
    secret = issue(engine, acme)
    response = post(client, encode(issue_event("7")), secret=secret, path=path_of(engine, acme))
    assert response.status_code == 202
    assert queued_jobs(redis_url) == [
        QueuedJob(f"jira-event:{acme}:7:delivery-1", ISSUE_EVENT_JOB, (acme, "7"))
    ]


def test_a_delivery_signed_with_a_secret_is_refused_on_another_domains_url(
    served: tuple[FastAPI, TestClient], engine: Engine, redis_url: str, acme: int, globex: int
) -> None:
    app, client = served
    acme_secret = issue(engine, acme)
    globex_secret = issue(engine, globex)
    globex_path = path_of(engine, globex)
    warm(client, globex_path, globex_secret)
    before = sample(REJECTED, reason="mismatch")
    for site in (SITE, OTHER_SITE):
        with untouched(app, redis_url):
            response = post(
                client, encode(issue_event(site=site)), secret=acme_secret, path=globex_path
            )
        assert response.status_code == 401
        assert response.json() == GENERIC_401
    assert sample(REJECTED, reason="mismatch") == before + 2
    # Nor does the global secret open a domain's URL.
    assert post(client, encode(issue_event()), path=globex_path).status_code == 401
    assert queued_jobs(redis_url) == []


@pytest.mark.parametrize(
    ("site", "labels", "reason"),
    [
        (OTHER_SITE, ("PeopleForce",), "other_site"),
        ("https://acme.atlassian.net.evil.test", ("PeopleForce",), "other_site"),
        (SITE, ("Other",), "other_label"),
        (SITE, (), "other_label"),
    ],
)
def test_a_validly_signed_delivery_about_another_site_or_label_is_refused(
    served: tuple[FastAPI, TestClient],
    engine: Engine,
    redis_url: str,
    acme: int,
    globex: int,
    site: str,
    labels: tuple[str, ...],
    reason: str,
) -> None:
    _, client = served
    secret = issue(engine, acme)
    before = sample(REJECTED, reason=reason)
    body = encode(issue_event("9", site=site, labels=labels))
    response = post(client, body, secret=secret, path=path_of(engine, acme))
    assert response.status_code == 403
    assert response.json() == {"detail": "delivery does not belong to this domain"}
    assert sample(REJECTED, reason=reason) == before + 1
    assert queued_jobs(redis_url) == []


def test_the_global_url_keeps_routing_by_site_with_the_global_secret(
    served: tuple[FastAPI, TestClient], engine: Engine, redis_url: str, acme: int, globex: int
) -> None:
    _, client = served
    issue(engine, acme)
    response = post(client, encode(issue_event("3", site=OTHER_SITE)), secret=WEBHOOK_SECRET)
    assert response.status_code == 202
    assert [job.args for job in queued_jobs(redis_url)] == [(globex, "3")]


# -- rotation ------------------------------------------------------------------------------


def test_the_old_secret_is_accepted_until_the_next_rotation(
    served: tuple[FastAPI, TestClient],
    engine: Engine,
    redis_url: str,
    clock: Clock,
    acme: int,
) -> None:
    _, client = served
    path = path_of(engine, acme)
    first = issue(engine, acme)
    assert post(
        client, encode(issue_event("1")), secret=first, path=path, identifier="a"
    ).is_success
    second = issue(engine, acme, rotate=True)
    clock.now += 2  # past the minimum reload interval: the rotation is seen at once
    statuses = [
        post(client, encode(issue_event(n)), secret=secret, path=path, identifier=n).status_code
        for n, secret in (("2", first), ("3", second))
    ]
    assert statuses == [202, 202]
    third = issue(engine, acme, rotate=True)
    clock.now += 6  # a secret rotated out is refused once the snapshot expires (5 s)
    assert post(client, encode(issue_event("4")), secret=first, path=path).status_code == 401
    ok = [
        post(client, encode(issue_event(n)), secret=secret, path=path, identifier=n).status_code
        for n, secret in (("5", second), ("6", third))
    ]
    assert ok == [202, 202]
    assert [job.args[1] for job in queued_jobs(redis_url)] == ["1", "2", "3", "5", "6"]


def test_a_secret_is_issued_once_and_only_replaced_by_a_rotation(engine: Engine, acme: int) -> None:
    first = issue(engine, acme)
    with pytest.raises(Conflict, match="rotate"):
        issue(engine, acme)
    second = issue(engine, acme, rotate=True)
    assert len({first, second}) == 2 and len(second) >= 40
    with Session(engine) as session:
        domain = session.get(DomainConfig, acme)
        assert domain is not None
        assert (domain.webhook_secret, domain.webhook_secret_previous) == (second, first)


def test_rejections_are_cheap_even_when_the_snapshot_is_stale(
    served: tuple[FastAPI, TestClient], engine: Engine, redis_url: str, clock: Clock, acme: int
) -> None:
    app, client = served
    secret = issue(engine, acme)
    path = path_of(engine, acme)
    warm(client, path, secret)
    clock.now += 2
    with count_queries(app.state.engine) as queries:
        for n in range(20):
            forged = post(
                client, encode(issue_event()), secret="x" * 20, path=path, identifier=str(n)
            )
            assert forged.status_code == 401
    # One reload for the first forgery, none for the next nineteen (clock frozen meanwhile).
    assert len(queries.statements) == 1


# -- the ingress guarantees hold on a domain's URL too -------------------------------------


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"X-Hub-Signature": ""}, "missing"),
        (
            {"X-Hub-Signature": "sha1=0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33"},
            "unsupported_method",
        ),
        ({"X-Hub-Signature": "sha256=" + "xyz" * 21 + "0"}, "malformed"),
        ({"X-Hub-Signature": "0" * 64}, "malformed"),
        ({"X-Hub-Signature": "sha256=" + "0" * 64}, "mismatch"),
    ],
    ids=["absent", "empty", "sha1", "non-hex", "no-method", "wrong-digest"],
)
def test_forged_and_malformed_signatures_are_401_without_side_effects(
    served: tuple[FastAPI, TestClient],
    engine: Engine,
    redis_url: str,
    acme: int,
    headers: dict[str, str],
    reason: str,
) -> None:
    app, client = served
    secret = issue(engine, acme)
    path = path_of(engine, acme)
    warm(client, path, secret)
    before = sample(REJECTED, reason=reason)
    with untouched(app, redis_url):
        response = post(client, encode(issue_event()), secret=None, headers=headers, path=path)
    assert response.status_code == 401
    assert response.json() == GENERIC_401
    assert sample(REJECTED, reason=reason) == before + 1


def test_a_tampered_body_is_a_mismatch(
    served: tuple[FastAPI, TestClient], engine: Engine, redis_url: str, acme: int
) -> None:
    app, client = served
    secret = issue(engine, acme)
    path = path_of(engine, acme)
    warm(client, path, secret)
    signature = sign(body=encode(issue_event("1")), secret=secret)
    with untouched(app, redis_url):
        response = post(
            client,
            encode(issue_event("2")),
            secret=None,
            headers={"X-Hub-Signature": signature},
            path=path,
        )
    assert response.status_code == 401


@pytest.mark.parametrize("public_id", ["nope", "a" * 16, "x" * 65, "..%2F..%2Fadmin"])
def test_an_unknown_public_id_is_401_like_a_forgery(
    served: tuple[FastAPI, TestClient], engine: Engine, redis_url: str, acme: int, public_id: str
) -> None:
    _, client = served
    secret = issue(engine, acme)
    before = sample(REJECTED, reason="unknown_domain")
    response = post(
        client, encode(issue_event()), secret=secret, path=f"{WEBHOOK_PATH}/{public_id}"
    )
    assert response.status_code in (401, 404)
    if response.status_code == 401:
        assert response.json() == GENERIC_401
        assert sample(REJECTED, reason="unknown_domain") == before + 1
    assert queued_jobs(redis_url) == []


def test_a_domain_without_a_secret_accepts_nothing(
    served: tuple[FastAPI, TestClient], engine: Engine, redis_url: str, acme: int
) -> None:
    _, client = served
    before = sample(REJECTED, reason="no_secret_configured")
    response = post(
        client, encode(issue_event()), secret=WEBHOOK_SECRET, path=path_of(engine, acme)
    )
    assert response.status_code == 401
    assert sample(REJECTED, reason="no_secret_configured") == before + 1


def test_body_over_limit_is_413_before_the_domain_is_looked_up(
    settings: Settings, engine: Engine, redis_url: str, clock: Clock, acme: int
) -> None:
    small = settings.model_copy(update={"webhook_max_body_bytes": SMALL_LIMIT})
    secret = issue(engine, acme)
    path = path_of(engine, acme)
    for app, client in make_client(small, clock):
        with untouched(app, redis_url):
            response = post(client, b"x" * (SMALL_LIMIT + 1), secret=secret, path=path)
        assert response.status_code == 413
        at_limit = post(client, b"x" * SMALL_LIMIT, secret=secret, path=path)
        assert at_limit.status_code == 400  # signed, read in full, not JSON


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[" * 100_000,
        b'["an", "array"]',
        encode({"webhookEvent": "jira:issue_updated"}),
        encode({"webhookEvent": "jira:issue_updated", "issue": {"id": "10001", "self": "x"}}),
    ],
    ids=["invalid-json", "not-utf8", "deeply-nested", "array", "no-issue", "bad-issue-self"],
)
def test_signed_bad_payload_is_400_without_side_effects(
    settings: Settings, engine: Engine, redis_url: str, clock: Clock, acme: int, body: bytes
) -> None:
    big = settings.model_copy(update={"webhook_max_body_bytes": 200_000})
    secret = issue(engine, acme)
    path = path_of(engine, acme)
    for app, client in make_client(big, clock):
        warm(client, path, secret)
        with untouched(app, redis_url):
            response = post(client, body, secret=secret, path=path)
        assert response.status_code == 400


@FUZZ
@given(body=bodies, signature=signatures)
def test_random_deliveries_on_a_domain_url_never_fail_the_server(
    served: tuple[FastAPI, TestClient],
    engine: Engine,
    redis_url: str,
    acme: int,
    body: bytes,
    signature: str,
) -> None:
    _, client = served
    with Session(engine) as session:
        domain = session.get(DomainConfig, acme)
        assert domain is not None
        secret = domain.webhook_secret or issue(engine, acme)
    headers = {"Content-Type": "application/json"}
    if signature == "valid":
        headers["X-Hub-Signature"] = sign(body=body, secret=secret)
    elif signature == "wrong-secret":
        headers["X-Hub-Signature"] = sign(body=body, secret=WEBHOOK_SECRET)
    elif signature != "absent":
        headers["X-Hub-Signature"] = signature
    jobs_before = len(queued_jobs(redis_url))

    response = client.post(path_of(engine, acme), content=body, headers=headers)

    assert response.status_code in {200, 202, 400, 401, 403}
    if signature != "valid":
        assert response.status_code == 401
        assert response.json() == GENERIC_401
    queued = len(queued_jobs(redis_url)) - jobs_before
    assert queued == (1 if response.status_code == 202 else 0)
