"""Single sign-on in a real Chromium: through the fake provider's consent page and back.

The gateway is served by uvicorn on loopback, the fake OpenID Connect provider
by its own server; the browser follows every redirect itself, carrying the
cookies a person's browser would.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from sqlalchemy import Engine

from fakes.oidc import FakeOidc
from fakes.server import FakeServer
from gateway.api.app import create_app
from gateway.settings import Settings
from tests.gateway.admin.test_browser import ARGS, CHROMIUM, SCREENSHOTS
from tests.gateway.sso.oidc_helpers import (
    ALLOWED,
    CLIENT_ID,
    CLIENT_SECRET,
    fake_issuer,
    sso_settings,
)

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def issuer() -> Iterator[tuple[FakeServer, FakeOidc]]:
    with fake_issuer() as served:
        yield served


@pytest.fixture
def base_url(
    settings: Settings, engine: Engine, issuer: tuple[FakeServer, FakeOidc]
) -> Iterator[str]:
    if not shutil.which(CHROMIUM):
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        print(f"skipping the browser test: {reason}")
        pytest.skip(reason)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    issuer[1].register(CLIENT_ID, CLIENT_SECRET, f"{url}/login/sso/callback")
    app = create_app(sso_settings(settings, issuer[0].url))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def test_sso_sign_in_in_chromium(base_url: str) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def through_the_provider(page: Page, email: str) -> None:
        page.goto(f"{base_url}/admin")
        expect(page).to_have_url(f"{base_url}/login")
        page.get_by_role("link", name="Sign in with SSO").click()
        expect(page.get_by_role("heading", name="Fake OIDC provider")).to_be_visible()
        page.get_by_label("Email").fill(email)
        page.get_by_role("button", name="Sign in").click()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            allowed = browser.new_context().new_page()
            allowed.set_default_timeout(10_000)
            through_the_provider(allowed, ALLOWED)
            expect(allowed.get_by_role("heading", name="Dashboard")).to_be_visible()
            expect(allowed).to_have_url(f"{base_url}/admin")
            expect(allowed.get_by_text(ALLOWED)).to_be_visible()
            allowed.screenshot(path=SCREENSHOTS / "sso-signed-in.png", full_page=True)
            allowed.get_by_role("button", name="Sign out").click()
            expect(allowed).to_have_url(f"{base_url}/login?notice=signed-out")

            refused = browser.new_context().new_page()
            refused.set_default_timeout(10_000)
            through_the_provider(refused, "mallory@evil.test")
            expect(refused.get_by_role("alert")).to_have_text(
                "This address may not sign in to the gateway."
            )
            refused.screenshot(path=SCREENSHOTS / "sso-refused.png", full_page=True)
            refused.goto(f"{base_url}/admin")
            expect(refused).to_have_url(f"{base_url}/login")
        finally:
            browser.close()
