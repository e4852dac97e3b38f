"""A rotated-out webhook secret is refused at once by every API process, not when each
process's cache of the domains expires.

Two apps stand for two API processes on one Redis and one database. Their domain
snapshots run on frozen clocks, so nothing expires on its own: only the rotation's
announcement (a counter in Redis, checked in the script that queues a delivery) can
make them see it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from gateway.api.app import create_app
from gateway.api.sites import SiteDirectory
from gateway.api.webhooks import ingress_state
from gateway.cli import app as cli
from gateway.settings import Settings
from tests.gateway.admin.conftest import Admin
from tests.gateway.api.test_domain_webhooks import Clock, issue, path_of
from tests.gateway.api.webhook_helpers import add_domain, encode, issue_event, post


@pytest.fixture
def acme(engine: Engine) -> int:
    return add_domain(engine, name="acme")


@pytest.fixture
def other_process(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def frozen(*clients: TestClient) -> None:
    for client in clients:
        ingress_state(client.app).sites = SiteDirectory(clock=Clock())


def delivery(client: TestClient, path: str, secret: str, number: int) -> int:
    body = encode(issue_event(str(number)))
    return post(client, body, secret=secret, path=path, identifier=f"d-{number}").status_code


def warmed(clients: list[TestClient], path: str, secret: str) -> None:
    """Each process has loaded the domains, and accepts ``secret`` from its snapshot."""
    for number, client in enumerate(clients):
        assert delivery(client, path, secret, 100 + number) == 202


def test_a_rotation_through_the_api_retires_the_old_secret_in_every_process(
    admin: Admin, other_process: TestClient, engine: Engine, acme: int
) -> None:
    clients = [admin.client, other_process]
    frozen(*clients)
    path = path_of(engine, acme)
    retiring = issue(engine, acme)
    current = issue(engine, acme, rotate=True)
    warmed(clients, path, retiring)
    rotated = admin.client.post(
        f"/api/v1/admin/domains/{acme}/webhook-secret",
        json={"rotate": True},
        headers=admin.headers(),
    )
    assert rotated.status_code == 200, rotated.text
    newest = rotated.json()["secret"]
    for number, client in enumerate(clients):
        assert delivery(client, path, retiring, number) == 401
        assert delivery(client, path, current, 10 + number) == 202
        assert delivery(client, path, newest, 20 + number) == 202


def test_a_rotation_from_the_cli_retires_the_old_secret_in_every_process(
    settings: Settings,
    engine: Engine,
    acme: int,
    other_process: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with TestClient(create_app(settings)) as first_process:
        clients = [first_process, other_process]
        frozen(*clients)
        path = path_of(engine, acme)
        retiring = issue(engine, acme)
        current = issue(engine, acme, rotate=True)
        warmed(clients, path, retiring)
        monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
        monkeypatch.setenv("GATEWAY_REDIS_URL", settings.redis_url or "")
        monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
        done = CliRunner().invoke(cli, ["domain", "webhook-secret", "acme", "--rotate", "--json"])
        assert done.exit_code == 0, done.output
        newest = json.loads(done.stdout)["secret"]
        for number, client in enumerate(clients):
            assert delivery(client, path, retiring, number) == 401
            assert delivery(client, path, current, 10 + number) == 202
            assert delivery(client, path, newest, 20 + number) == 202
