"""Admin work never runs on the event loop that also serves webhook ingress.

The app runs in this test's own event loop (in-process ASGI), so "on the loop"
means "on this thread": argon2 and every SQL statement of an admin request must
run on another one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import Engine, event

from gateway.api.app import create_app
from gateway.db import session_scope
from gateway.models import DeadLetter
from gateway.settings import Settings
from tests.gateway.admin.conftest import ADMIN_PASSWORD, ADMIN_USER, csrf_from

LOGINS = 20
WAIT_SECONDS = 30.0


@pytest.fixture
async def app(settings: Settings, engine: Engine, admin_user: str) -> AsyncIterator[FastAPI]:
    """The real app with its lifespan (database, Redis, background checks) running."""
    built = create_app(settings)
    async with built.router.lifespan_context(built):
        yield built


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.01)


async def test_wrong_password_logins_leave_the_loop_free(
    http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty argon2 verifications are held inside their threads until /healthz has
    answered: that can only happen if none of them runs on the loop."""
    loop_thread = threading.get_ident()
    release = threading.Event()
    verifying: list[int] = []
    lock = threading.Lock()
    original = PasswordHasher.verify

    def verify_held(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        with lock:
            verifying.append(threading.get_ident())
        if threading.get_ident() != loop_thread:  # on the loop, waiting would deadlock
            release.wait(WAIT_SECONDS)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify_held)
    csrf = csrf_from((await http.get("/login")).text)
    names = [ADMIN_USER] + [f"nobody-{index}" for index in range(LOGINS - 1)]
    logins = [
        asyncio.create_task(
            http.post(
                "/login",
                data={"username": name, "password": "wrong password!", "csrf_token": csrf},
            )
        )
        for name in names
    ]
    await _until(lambda: len(verifying) == LOGINS or loop_thread in verifying, "verifications")
    assert loop_thread not in verifying

    health = await http.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    release.set()
    answers = await asyncio.gather(*logins)
    assert [answer.status_code for answer in answers] == [401] * LOGINS
    assert len(verifying) == LOGINS and loop_thread not in verifying


async def _signed_in(http: httpx.AsyncClient) -> dict[str, str]:
    csrf = csrf_from((await http.get("/login")).text)
    form = {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": csrf}
    assert (await http.post("/login", data=form)).status_code == 303
    return {"X-CSRF-Token": csrf_from((await http.get("/admin")).text)}


async def _admin_tour(http: httpx.AsyncClient, engine: Engine, headers: dict[str, str]) -> None:
    """Reads and writes through the JSON API and the UI, as an admin would."""
    domain = {"name": "acme", "pf_base_url": "https://pf.test", "jira_base_url": "https://j.test"}
    created = await http.post("/api/v1/admin/domains", json=domain, headers=headers)
    assert created.status_code == 201, created.text
    rule = {"name": "drop tests", "action": "DROP"}
    added = await http.post("/api/v1/admin/domains/acme/rules", json=rule, headers=headers)
    assert added.status_code == 201, added.text
    with session_scope(engine) as session:
        session.add(DeadLetter(domain_id=1, operation="create", error_message="400"))
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/admin", {}),
        ("GET", "/admin/domains", {}),
        ("GET", "/admin/domains/acme", {}),
        ("GET", "/admin/domains/1/rules", {}),
        ("GET", "/admin/audit", {}),
        ("GET", "/admin/dead-letters", {}),
        ("POST", "/admin/domains/1/pause", {"headers": headers}),
        ("POST", "/api/v1/admin/domains/1/tick", {"headers": headers}),
        ("POST", "/admin/rules/1/move-down", {"headers": headers}),
        ("POST", "/admin/dead-letters/1/discard", {"headers": headers}),
        ("GET", "/api/v1/admin/events", {}),
    ]
    for method, path, extra in calls:
        response = await http.request(method, path, **extra)
        assert response.status_code < 400, (method, path, response.status_code)


async def test_admin_database_work_runs_in_threads(
    app: FastAPI, http: httpx.AsyncClient, engine: Engine
) -> None:
    loop_thread = threading.get_ident()
    statements: list[tuple[int, str]] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append((threading.get_ident(), statement.split()[0]))

    app_engine: Engine = app.state.engine
    event.listen(app_engine, "before_cursor_execute", record)
    try:
        headers = await _signed_in(http)
        await _admin_tour(http, engine, headers)
        await app.state.rule_checks.wait()
    finally:
        event.remove(app_engine, "before_cursor_execute", record)
    kinds = {kind for _, kind in statements}
    assert {"SELECT", "INSERT", "UPDATE"} <= kinds
    on_loop = [kind for thread, kind in statements if thread == loop_thread]
    assert on_loop == []
