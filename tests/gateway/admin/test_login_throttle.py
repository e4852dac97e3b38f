"""The login throttle against a real uvicorn: it cannot be raced, strangers behind a
trusted proxy cannot lock a user out, and X-Forwarded-* counts only from that proxy."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import Engine

from gateway.settings import Settings
from tests.gateway.admin.conftest import ADMIN_PASSWORD, csrf_from
from tests.serving import served_url

WRONG = "not the password at all"


@pytest.fixture
def serve(settings: Settings, engine: Engine, admin_user: str) -> Callable[..., object]:
    def start(**overrides: object):
        return served_url(settings.model_copy(update=overrides))

    return start


def _form(client: httpx.Client, password: str, headers: dict[str, str]) -> dict[str, str]:
    page = client.get("/login", headers=headers)
    assert page.status_code == 200
    return {
        "username": "admin",
        "password": password,
        "csrf_token": csrf_from(page.text),
        "next": "/admin",
    }


def _sign_in(base_url: str, password: str, forwarded_for: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with httpx.Client(base_url=base_url, timeout=30) as client:
        form = _form(client, password, headers)
        return client.post("/login", data=form, headers=headers)


def test_thirty_parallel_wrong_passwords_get_at_most_five_401s(serve):
    with serve() as base_url:
        with httpx.Client(base_url=base_url) as browser:
            form = _form(browser, WRONG, {})
            cookies = dict(browser.cookies)

        async def storm() -> list[int]:
            async with httpx.AsyncClient(base_url=base_url, cookies=cookies, timeout=60) as c:
                answers = await asyncio.gather(*(c.post("/login", data=form) for _ in range(30)))
            return [answer.status_code for answer in answers]

        statuses = asyncio.run(storm())
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 5, statuses
    assert statuses.count(429) >= 25, statuses


def test_strangers_behind_the_trusted_proxy_cannot_lock_a_user_out(serve):
    with serve(forwarded_allow_ips="127.0.0.1") as base_url:
        for attempt in range(12):
            stranger = "203.0.113.7" if attempt < 8 else f"198.51.100.{attempt}"
            answer = _sign_in(base_url, WRONG, forwarded_for=stranger)
            assert answer.status_code in (401, 429), answer.status_code
        assert _sign_in(base_url, WRONG, forwarded_for="203.0.113.7").status_code == 429
        owner = _sign_in(base_url, ADMIN_PASSWORD, forwarded_for="192.0.2.44")
        assert owner.status_code == 303, owner.text
        assert owner.headers["location"] == "/admin"


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(serve):
    with serve(forwarded_allow_ips="") as base_url:
        statuses = [
            _sign_in(base_url, WRONG, forwarded_for=f"198.51.100.{n}").status_code for n in range(7)
        ]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429], statuses


def test_the_cookie_is_secure_when_the_trusted_proxy_says_https(serve):
    with serve(forwarded_allow_ips="127.0.0.1") as base_url:
        headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.1"}
        with httpx.Client(base_url=base_url, timeout=30) as client:
            page = client.get("/login", headers=headers)
            # A Secure cookie; this client talks plain HTTP to the "proxy", so send it by hand.
            assert "secure" in page.headers["set-cookie"].lower()
            cookie = {"Cookie": f"gw_session={page.cookies['gw_session']}"}
            form = {"username": "admin", "password": ADMIN_PASSWORD, "next": "/admin"}
            form["csrf_token"] = csrf_from(page.text)
            signed_in = client.post("/login", data=form, headers=headers | cookie)
        assert signed_in.status_code == 303
        assert "secure" in signed_in.headers["set-cookie"].lower()
        plain = _sign_in(base_url, ADMIN_PASSWORD, forwarded_for="192.0.2.2")
        assert plain.status_code == 303
        assert "secure" not in plain.headers["set-cookie"].lower()
