"""The CLI, the JSON API and the UI run one implementation of each admin operation.

Each test drives all three surfaces on the same domain or the same dead letter and
expects the same answer: the same object, the same refusal with the same message,
and the same single audit event.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner, Result

from gateway.cli import app
from gateway.db import session_scope
from gateway.models import DeadLetter, EventType, SyncEvent
from gateway.settings import Settings
from tests.gateway.admin.conftest import Admin

API = "/api/v1/admin"
DOMAIN = {
    "name": "acme",
    "pf_base_url": "https://pf.test",
    "jira_base_url": "https://acme.atlassian.net",
}
NOTICE = re.compile(r'<p class="notice (ok|error)"[^>]*>(.*?)</p>', re.S)
ERROR_PAGE = re.compile(r"<section class=\"card narrow\">.*?<p>(.*?)</p>", re.S)


@dataclass(frozen=True)
class Answer:
    """What one surface said: whether the operation happened, and its message."""

    ok: bool
    message: str


Cli = Callable[..., Result]


@pytest.fixture
def cli(settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_REDIS_URL", settings.redis_url or "")
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke


def _cli_answer(result: Result) -> Answer:
    if result.exit_code == 0:
        return Answer(True, result.stdout.strip())
    return Answer(False, result.stderr.strip().removeprefix("error: "))


def _api_answer(response) -> Answer:
    if response.status_code < 300:
        return Answer(True, "")
    return Answer(False, response.json()["detail"])


def _ui_answer(response) -> Answer:
    """The notice in a swapped row, or the message of a full error page."""
    notice = NOTICE.search(response.text) or ERROR_PAGE.search(response.text)
    message = html.unescape(notice.group(notice.lastindex or 1)) if notice else ""
    return Answer(response.status_code < 300, message.strip())


def _letter(engine: Engine, domain_id: int) -> int:
    with session_scope(engine) as session:
        letter = DeadLetter(
            domain_id=domain_id, pf_task_id=7, operation="create", error_message="HTTP 400"
        )
        session.add(letter)
        session.flush()
        assert letter.id is not None
        return letter.id


def _discarded_events(engine: Engine, letter_id: int) -> list[SyncEvent]:
    with Session(engine) as session:
        query = select(SyncEvent).where(SyncEvent.event_type == EventType.DISCARDED.value)
        return [e for e in session.exec(query) if e.reason == f"dead letter {letter_id} discarded"]


@pytest.fixture
def domain_id(client: TestClient, bearer: dict[str, str]) -> int:
    response = client.post(f"{API}/domains", json=DOMAIN, headers=bearer)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_one_domain_lookup_by_id_or_name(
    cli: Cli, client: TestClient, bearer: dict[str, str], admin: Admin, domain_id: int
) -> None:
    for ref in ("acme", str(domain_id)):
        shown = cli("domain", "show", ref, "--json")
        assert shown.exit_code == 0, shown.output
        api = client.get(f"{API}/domains/{ref}", headers=bearer)
        assert api.status_code == 200
        assert json.loads(shown.stdout) == api.json()
        page = admin.client.get(f"/admin/domains/{ref}")
        assert page.status_code == 200
        assert f'action="/admin/domains/{domain_id}"' in page.text

    for ref, message in (("nope", "no domain named 'nope'"), ("99", "no domain with id 99")):
        by_cli = _cli_answer(cli("domain", "show", ref))
        assert by_cli == Answer(False, f"{message} (see `gateway domain list`)")
        by_api = client.get(f"{API}/domains/{ref}", headers=bearer)
        assert by_api.status_code == 404 and _api_answer(by_api) == Answer(False, message)
        by_ui = admin.client.get(f"/admin/domains/{ref}")
        assert by_ui.status_code == 404 and _ui_answer(by_ui) == Answer(False, message)


def test_an_all_digit_name_is_refused_everywhere(
    cli: Cli, client: TestClient, bearer: dict[str, str], admin: Admin
) -> None:
    """Otherwise "2" could name one domain and number another."""
    problem = "a domain name cannot be only digits"
    by_api = client.post(f"{API}/domains", json={**DOMAIN, "name": "2024"}, headers=bearer)
    assert by_api.status_code == 422 and problem in by_api.text
    by_cli = cli(
        "domain", "add", "2024", "--pf-base-url", "https://pf.test", "--jira-base-url", "https://j"
    )
    assert by_cli.exit_code == 1 and problem in by_cli.stderr
    form = {**DOMAIN, "name": "2024", "csrf_token": admin.csrf}
    by_ui = admin.client.post("/admin/domains", data=form)
    assert by_ui.status_code == 422 and problem in html.unescape(by_ui.text)
    assert client.get(f"{API}/domains", headers=bearer).json() == []


@dataclass(frozen=True)
class Surfaces:
    """The three ways in: the CLI, the JSON API with a bearer token, the UI signed in."""

    cli: Cli
    client: TestClient
    bearer: dict[str, str]
    admin: Admin

    def discard(self, surface: str, letter_id: int) -> Answer:
        if surface == "cli":
            return _cli_answer(self.cli("deadletter", "discard", str(letter_id)))
        if surface == "api":
            url = f"{API}/dead-letters/{letter_id}/discard"
            return _api_answer(self.client.post(url, headers=self.bearer))
        response = self.admin.client.post(
            f"/admin/dead-letters/{letter_id}/discard", headers=self.admin.headers(htmx=True)
        )
        return _ui_answer(response)


@pytest.fixture
def surfaces(cli: Cli, client: TestClient, bearer: dict[str, str], admin: Admin) -> Surfaces:
    return Surfaces(cli, client, bearer, admin)


@pytest.fixture
def letter_id(engine: Engine, domain_id: int) -> int:
    """An open dead letter of the domain, for task 7."""
    return _letter(engine, domain_id)


@pytest.mark.parametrize("first", ["cli", "api", "ui"])
def test_a_dead_letter_is_discarded_once_whoever_asks_first(
    first: str, surfaces: Surfaces, engine: Engine, domain_id: int, letter_id: int
) -> None:
    cli, client, bearer = surfaces.cli, surfaces.client, surfaces.bearer
    listed = cli("deadletter", "list", "--json")
    api_listed = client.get(f"{API}/dead-letters", headers=bearer).json()
    assert json.loads(listed.stdout) == api_listed["items"]
    assert [item["id"] for item in api_listed["items"]] == [letter_id]

    assert surfaces.discard(first, letter_id).ok
    refused = Answer(False, f"dead letter {letter_id} is already closed: it was discarded")
    for surface in ("cli", "api", "ui"):
        assert surfaces.discard(surface, letter_id) == refused, surface

    [event] = _discarded_events(engine, letter_id)
    assert (event.domain_id, event.pf_task_id) == (domain_id, 7)
    by_api = client.get(f"{API}/events", params={"event_type": "discarded"}, headers=bearer)
    assert by_api.json()["total"] == 1
    assert json.loads(cli("deadletter", "list", "--json").stdout) == []
    [closed] = json.loads(cli("deadletter", "list", "--all", "--json").stdout)
    assert closed["state"] == "discarded"


def test_a_closed_dead_letter_is_not_replayed_by_any_surface(
    surfaces: Surfaces, letter_id: int
) -> None:
    cli, client, bearer, admin = surfaces.cli, surfaces.client, surfaces.bearer, surfaces.admin
    assert surfaces.discard("api", letter_id).ok
    refused = Answer(False, f"dead letter {letter_id} is already closed: it was discarded")

    assert _cli_answer(cli("deadletter", "replay", str(letter_id))) == refused
    by_api = client.post(f"{API}/dead-letters/{letter_id}/replay", headers=bearer)
    assert by_api.status_code == 409 and _api_answer(by_api) == refused
    row = admin.client.post(
        f"/admin/dead-letters/{letter_id}/replay", headers=admin.headers(htmx=True)
    )
    assert row.status_code == 409 and _ui_answer(row) == refused
    page = admin.client.post(
        f"/admin/dead-letters/{letter_id}/replay", data={"csrf_token": admin.csrf}
    )
    assert page.status_code == 409 and _ui_answer(page) == refused

    missing = Answer(False, "no dead letter with id 999")
    assert _cli_answer(cli("deadletter", "replay", "999")) == missing
    assert _api_answer(client.post(f"{API}/dead-letters/999/replay", headers=bearer)) == missing
    assert surfaces.discard("ui", 999) == missing
