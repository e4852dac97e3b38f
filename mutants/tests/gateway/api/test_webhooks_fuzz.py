"""Fuzzing the ingress: random bodies and headers, some correctly signed, never a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.api.signature import sign
from gateway.api.webhooks import WEBHOOK_PATH
from gateway.settings import Settings
from tests.conftest import WEBHOOK_SECRET
from tests.gateway.api.webhook_helpers import SITE, add_domain, issue_event, queued_jobs

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Printable ASCII: what an HTTP client can put in a header value.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))


CORRUPTIBLE = [
    ("webhookEvent",),
    ("issue",),
    ("issue", "id"),
    ("issue", "self"),
    ("issue", "fields"),
    ("issue", "fields", "labels"),
]


@st.composite
def jira_events(draw: st.DrawFn) -> dict[str, Any]:
    """Jira-shaped events, some with a part removed or replaced by a value of another type."""
    payload = issue_event(
        draw(st.integers(0, 10**6).map(str)),
        site=draw(st.sampled_from([SITE, "https://ACME.atlassian.net:443/", "https://x.test"])),
        labels=draw(st.sampled_from([("PeopleForce",), ("x", "PeopleForce"), ("x",), ()])),
        event=draw(st.sampled_from(["jira:issue_updated", "jira:issue_updated", "jira:other"])),
    )
    corrupt = st.lists(st.sampled_from(CORRUPTIBLE), min_size=1, max_size=2, unique=True)
    for path in draw(st.one_of(st.just([]), corrupt)):
        parent = payload
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            if draw(st.booleans()):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(scalars)
    return payload


bodies = st.one_of(
    st.binary(max_size=256),
    st.recursive(scalars, st.lists, max_leaves=5).map(lambda value: json.dumps(value).encode()),
    jira_events().map(lambda value: json.dumps(value).encode()),
    jira_events().map(lambda value: json.dumps(value).encode()),
)
signatures = st.one_of(
    st.just("valid"),
    st.just("valid"),
    st.just("absent"),
    st.just("wrong-secret"),
    header_text,
)


@pytest.fixture
def fuzz_app(settings: Settings, engine: Engine) -> Iterator[tuple[FastAPI, TestClient]]:
    add_domain(engine)
    app = create_app(settings)
    with TestClient(app) as client:
        yield app, client


@FUZZ
@given(
    body=bodies,
    signature=signatures,
    identifier=st.one_of(st.none(), st.just("d-1"), st.uuids().map(str), header_text),
)
def test_random_deliveries_never_fail_the_server(
    fuzz_app: tuple[FastAPI, TestClient],
    redis_url: str,
    body: bytes,
    signature: str,
    identifier: str | None,
) -> None:
    _, client = fuzz_app
    headers = {"Content-Type": "application/json"}
    if signature == "valid":
        headers["X-Hub-Signature"] = sign(body=body, secret=WEBHOOK_SECRET)
    elif signature == "wrong-secret":
        headers["X-Hub-Signature"] = sign(body=body, secret="some-other-secret-00000")
    elif signature != "absent":
        headers["X-Hub-Signature"] = signature
    if identifier is not None:
        headers["X-Atlassian-Webhook-Identifier"] = identifier
    jobs_before = len(queued_jobs(redis_url))

    # The test client re-raises any unhandled exception in the app.
    response = client.post(WEBHOOK_PATH, content=body, headers=headers)
    event(f"status {response.status_code} {response.text[:40]}")

    assert response.status_code in {200, 202, 400, 401, 409}
    if signature != "valid":
        assert response.status_code == 401
        assert response.json() == {"detail": "invalid signature"}
    queued = len(queued_jobs(redis_url)) - jobs_before
    assert queued == (1 if response.status_code == 202 else 0)


def test_openapi_schema_driven_requests(
    fuzz_app: tuple[FastAPI, TestClient], redis_url: str
) -> None:
    """Schemathesis cases from the route's own OpenAPI description (the app serves none)."""
    app, client = fuzz_app
    schema = schemathesis.openapi.from_dict(app.openapi())
    operation = schema[WEBHOOK_PATH]["POST"]

    @FUZZ
    @given(case=operation.as_strategy())
    def check(case: schemathesis.Case) -> None:
        # A third of the cases carry a valid signature so they reach parsing and routing.
        body = json.dumps(case.body).encode() if case.body is not None else b""
        headers = {str(k): str(v) for k, v in (case.headers or {}).items()}
        if len(body) % 3 == 0:
            headers["X-Hub-Signature"] = sign(body=body, secret=WEBHOOK_SECRET)
        response = client.post(WEBHOOK_PATH, content=body, headers=headers)
        event(f"status {response.status_code} {response.text[:40]}")
        assert response.status_code < 500, response.text
        assert response.status_code in {200, 202, 400, 401, 409}

    check()
