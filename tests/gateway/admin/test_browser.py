"""The admin UI in a real Chromium: sign in, configure, operate."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.db import session_scope
from gateway.models import DeadLetter
from gateway.settings import Settings
from tests.gateway.admin.conftest import ADMIN_PASSWORD, ADMIN_USER

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
pytestmark = pytest.mark.browser


@pytest.fixture
def base_url(settings: Settings, engine: Engine, admin_user: str) -> Iterator[str]:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_admin_flow_in_chromium(base_url: str, engine: Engine) -> None:
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        page.goto(f"{base_url}/admin")
        expect(page).to_have_url(f"{base_url}/login")
        page.get_by_label("Username").fill(ADMIN_USER)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.screenshot(path=SCREENSHOTS / "login.png")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

        page.goto(f"{base_url}/admin/domains/new")
        page.get_by_label("Name").fill("acme")
        page.get_by_label("Base URL").fill("not a url")
        page.get_by_label("Site URL").fill("https://acme.atlassian.net")
        page.get_by_role("button", name="Create domain").click()
        expect(page.get_by_role("alert")).to_contain_text("pf base url")
        page.get_by_label("Base URL").fill("https://pf.test")
        page.locator("#f-pf_api_key").fill("browser-secret-key")
        page.get_by_role("button", name="Create domain").click()
        expect(page.get_by_text("Domain created.")).to_be_visible()
        expect(page.locator("label[for=f-pf_api_key] .badge")).to_have_text("set")
        assert "browser-secret-key" not in page.content()
        page.screenshot(path=SCREENSHOTS / "domain.png", full_page=True)

        for name, action in (("Onboarding to HR", "SYNC"), ("Drop test tasks", "DROP")):
            page.goto(f"{base_url}/admin/domains/1/rules/new")
            page.get_by_label("Name").fill(name)
            page.get_by_label("Condition path").first.fill("title")
            page.get_by_label("Condition operator").first.select_option("contains")
            page.get_by_label("Condition value").first.fill(
                "test" if action == "DROP" else "onboard"
            )
            page.get_by_label(f"{action}:", exact=False).check()
            if action == "SYNC":
                page.get_by_label("Target project key").fill("HR")
            page.get_by_role("button", name="Create rule").click()
            expect(page.get_by_text("Rule created.")).to_be_visible()
        rows = page.locator("#rules tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.nth(0)).to_contain_text("Onboarding to HR")
        page.get_by_role("button", name="Move up: Drop test tasks").click()
        expect(page.get_by_text("Moved 'Drop test tasks' up.")).to_be_visible()
        expect(rows.nth(0)).to_contain_text("Drop test tasks")
        page.screenshot(path=SCREENSHOTS / "rules.png", full_page=True)

        page.goto(f"{base_url}/admin/domains")
        page.get_by_role("button", name="Pause acme").click()
        expect(page.get_by_text("Paused: no further ticks.")).to_be_visible()
        page.goto(f"{base_url}/admin")
        expect(page.get_by_test_id("state-1")).to_have_text("paused")
        page.screenshot(path=SCREENSHOTS / "dashboard.png", full_page=True)

        with session_scope(engine) as session:
            session.add(
                DeadLetter(
                    domain_id=1,
                    operation="create",
                    error_status=400,
                    error_message="Field 'customfield_1' is required",
                )
            )
        page.goto(f"{base_url}/admin/dead-letters")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Discard dead letter 1").click()
        expect(page.get_by_text("Discarded.")).to_be_visible()
        page.screenshot(path=SCREENSHOTS / "dead-letters.png", full_page=True)
        page.goto(f"{base_url}/admin/audit")
        page.screenshot(path=SCREENSHOTS / "audit.png", full_page=True)
        browser.close()
    # The deliberate validation error above answers 422; anything else is a real problem.
    assert not [e for e in errors if "422" not in e], errors
