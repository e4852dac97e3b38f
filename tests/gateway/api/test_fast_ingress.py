"""The ingress fast path: webhook POSTs skip FastAPI's router and are answered as it would.

Every other ingress test goes through the fast path already; these pin down what it
takes (only POST to the two webhook paths), that its answers equal the router's for
every kind of delivery, and that the app's outer middleware still applies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from gateway.admin.webhook_secrets import issue_webhook_secret
from gateway.api import domain_webhooks, webhooks
from gateway.api.app import create_app
from gateway.api.fast_ingress import WebhookFastPath, webhook_endpoint
from gateway.api.webhooks import WEBHOOK_PATH
from gateway.db import session_scope
from gateway.models import DomainConfig
from gateway.settings import Settings
from tests.gateway.api.webhook_helpers import add_domain, encode, issue_event, post

OTHER_SITE = "https://globex.atlassian.net"


def scope(path: str, method: str = "POST", root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": root_path + path, "root_path": root_path}


def test_the_global_webhook_path_is_taken() -> None:
    assert webhook_endpoint(scope(WEBHOOK_PATH)) is webhooks.receive_jira_webhook
    assert webhook_endpoint(scope(WEBHOOK_PATH, root_path="/gw")) is webhooks.receive_jira_webhook


def test_a_domain_webhook_path_is_taken() -> None:
    assert webhook_endpoint(scope(f"{WEBHOOK_PATH}/abc-123")) is not None


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (WEBHOOK_PATH, "GET"),
        (WEBHOOK_PATH, "PUT"),
        (f"{WEBHOOK_PATH}/abc", "GET"),
        (f"{WEBHOOK_PATH}/", "POST"),
        (f"{WEBHOOK_PATH}/abc/", "POST"),
        (f"{WEBHOOK_PATH}/abc/def", "POST"),
        (f"{WEBHOOK_PATH}x", "POST"),
        ("/api/v1/webhooks", "POST"),
        ("/healthz", "POST"),
    ],
)
def test_anything_else_goes_to_the_router(path: str, method: str) -> None:
    assert webhook_endpoint(scope(path, method)) is None


def test_other_asgi_scopes_go_to_the_router() -> None:
    assert webhook_endpoint({"type": "websocket", "path": WEBHOOK_PATH}) is None


def router_only(settings: Settings) -> FastAPI:
    """The same app without the fast path: FastAPI's router serves the webhook routes."""
    app = create_app(settings)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not WebhookFastPath]
    return app


@pytest.fixture
def clients(settings: Settings, engine: Engine) -> Iterator[tuple[TestClient, TestClient]]:
    fast = create_app(settings)
    assert any(m.cls is WebhookFastPath for m in fast.user_middleware)
    with TestClient(fast) as fast_client, TestClient(router_only(settings)) as router_client:
        yield fast_client, router_client


def domain_path_and_secret(engine: Engine, domain_id: int) -> tuple[str, str]:
    with session_scope(engine) as session:
        domain = session.get(DomainConfig, domain_id)
        assert domain is not None
        secret = issue_webhook_secret(session, domain, rotate=False).secret
    with Session(engine) as session:
        domain = session.get(DomainConfig, domain_id)
        assert domain is not None
        return f"{WEBHOOK_PATH}/{domain.public_id}", secret


def deliveries(engine: Engine) -> list[dict[str, Any]]:
    """One request of each kind the ingress tells apart, global and per domain."""
    domain_path, domain_secret = domain_path_and_secret(engine, add_domain(engine))
    add_domain(engine, name="globex", jira_base_url=OTHER_SITE)
    event = encode(issue_event("41"))
    return [
        {"body": event},
        {"body": event, "secret": "not-the-secret-0000000000"},
        {"body": event, "secret": None},
        {"body": event, "headers": {"X-Hub-Signature": "sha256=zz"}},
        {"body": b"x" * 2_000_000},
        {"body": b"[1, 2"},
        {"body": b"[1, 2]"},
        {"body": encode({"webhookEvent": "jira:issue_updated", "issue": {"id": "x"}})},
        {"body": encode(issue_event("42", event="jira:issue_created"))},
        {"body": encode(issue_event("43", labels=("other",)))},
        {"body": encode(issue_event("44", site="https://nobody.atlassian.net"))},
        {"body": event, "path": domain_path, "secret": domain_secret},
        {"body": event, "path": domain_path},
        {"body": event, "path": f"{WEBHOOK_PATH}/no-such-domain"},
        {"body": encode(issue_event("45", site=OTHER_SITE)), "path": domain_path, "secret": None},
        {
            "body": encode(issue_event("46", site=OTHER_SITE)),
            "path": domain_path,
            "secret": domain_secret,
        },
    ]


def test_answers_equal_the_routers(clients: tuple[TestClient, TestClient], engine: Engine) -> None:
    fast, router = clients
    for number, delivery in enumerate(deliveries(engine)):
        ours = post(fast, identifier=f"fast-{number}", **delivery)
        theirs = post(router, identifier=f"router-{number}", **delivery)
        assert (ours.status_code, ours.json()) == (theirs.status_code, theirs.json()), delivery
        assert ours.headers["content-type"] == theirs.headers["content-type"]


def test_request_id_and_security_headers_still_apply(
    clients: tuple[TestClient, TestClient], engine: Engine
) -> None:
    fast, _ = clients
    add_domain(engine)
    response = post(fast, encode(issue_event()), headers={"X-Request-ID": "req-42"})
    assert response.status_code == 202
    assert response.headers["x-request-id"] == "req-42"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_other_methods_still_get_the_routers_answer(
    clients: tuple[TestClient, TestClient],
) -> None:
    fast, router = clients
    for path in (WEBHOOK_PATH, f"{WEBHOOK_PATH}/abc"):
        assert fast.get(path).status_code == router.get(path).status_code == 405


def test_the_routes_stay_in_the_openapi_description(settings: Settings) -> None:
    paths = create_app(settings).openapi()["paths"]
    assert "post" in paths[WEBHOOK_PATH]
    assert "post" in paths[domain_webhooks.DOMAIN_WEBHOOK_PATH]
