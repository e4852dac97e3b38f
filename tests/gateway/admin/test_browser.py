"""The admin UI in a real Chromium, against the fakes: the admin's whole journey.

Sign in, create a domain pointing at the fake PeopleForce and Jira through the
form, add two rules (one DROP), preview the routing, let a tick dead-letter a
create (Jira made a field required), fix the rule in the UI and replay it, then
pause the domain and see the scheduler leave it alone. The scheduler and the
worker are the real ones, driven from the test in burst mode.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from arq.worker import Worker
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.demo.records import JIRA_EMAIL, JIRA_TOKEN, PF_KEY
from gateway.jobs import QUEUE_NAME, open_pool, tick_job_id
from gateway.redis import arq_redis_settings
from gateway.settings import Settings
from gateway.sync.scheduler import enqueue_due_work
from gateway.worker import FUNCTIONS, shutdown, startup
from tests.gateway.admin.conftest import ADMIN_PASSWORD, ADMIN_USER
from tests.world import World

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
COST_CENTRE = "customfield_10050"
T = TypeVar("T")
pytestmark = pytest.mark.browser


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run gateway coroutines beside Playwright's sync API, which owns this thread's loop."""

    def run() -> T:
        return asyncio.run(coroutine)

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


async def burst_worker(world: World) -> None:
    """``World.run_worker`` minus signal handlers, which only the main thread may install."""
    worker = Worker(
        functions=FUNCTIONS,
        redis_settings=arq_redis_settings(world.settings.redis_url or ""),
        queue_name=QUEUE_NAME,
        on_startup=startup,
        on_shutdown=shutdown,
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
        ctx={"settings": world.settings, "retry_policy": world.retry_policy},
    )
    await worker.main()
    await worker.close()


async def scheduler_pass(world: World) -> list[str]:
    """One beat of the scheduler cron, then a burst worker runs whatever it queued."""
    pool = await open_pool(world.settings.redis_url or "")
    try:
        queued = await enqueue_due_work(world.engine, pool)
    finally:
        await pool.aclose()
    await burst_worker(world)
    return queued


@pytest.fixture
def base_url(settings: Settings, engine: Engine, admin_user: str, world: World) -> Iterator[str]:
    if not shutil.which(CHROMIUM):
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        print(f"skipping the browser test: {reason}")
        pytest.skip(reason)
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


def test_admin_journey_in_chromium(base_url: str, world: World) -> None:
    from playwright.sync_api import Page, expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shot(page: Page, name: str) -> None:
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    laptop = world.pf.create_task("Order laptop")["id"]
    private = world.pf.create_task("[private] salary review")["id"]
    lunch = world.pf.create_task("Welcome lunch")["id"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        # Sign in.
        page.goto(f"{base_url}/admin")
        expect(page).to_have_url(f"{base_url}/login")
        page.get_by_label("Username").fill(ADMIN_USER)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        shot(page, "login")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

        # A domain pointing at the fakes, through the form (a bad URL first).
        page.goto(f"{base_url}/admin/domains/new")
        page.get_by_label("Name").fill("acme")
        page.get_by_label("Base URL").fill("not a url")
        page.get_by_label("Site URL").fill(world.jira_server.url)
        page.get_by_role("button", name="Create domain").click()
        expect(page.get_by_role("alert")).to_contain_text("pf base url")
        page.get_by_label("Base URL").fill(world.pf_server.url)
        page.locator("#f-pf_api_key").fill(PF_KEY)
        page.get_by_label("Account email").fill(JIRA_EMAIL)
        page.locator("#f-jira_api_token").fill(JIRA_TOKEN)
        page.get_by_label("Fallback project key").fill("HR")
        page.get_by_role("button", name="Create domain").click()
        expect(page.get_by_text("Domain created.")).to_be_visible()
        expect(page.locator("label[for=f-pf_api_key] .badge")).to_have_text("set")
        page.get_by_role("button", name="Test connection").click()
        expect(page.locator("#action-result")).to_contain_text("PeopleForce: connected")
        expect(page.locator("#action-result")).to_contain_text("Jira: connected")
        assert PF_KEY not in page.content() and JIRA_TOKEN not in page.content()
        shot(page, "domain")
        domain_id = int(page.url.rsplit("/", 1)[-1].split("?")[0])

        # Two rules; the project picker is filled from Jira after the page renders.
        for name, action, word in (
            ("Laptops to IT", "SYNC", "laptop"),
            ("Drop private", "DROP", "[private]"),
        ):
            page.goto(f"{base_url}/admin/domains/{domain_id}/rules/new")
            page.get_by_label("Name").fill(name)
            page.get_by_label("Condition path").first.fill("title")
            page.get_by_label("Condition operator").first.select_option("contains")
            page.get_by_label("Condition value").first.fill(word)
            page.get_by_label(f"{action}:", exact=False).check()
            if action == "SYNC":
                expect(page.locator("#f-project-choices")).to_contain_text("projects from Jira")
                expect(page.locator("#jira-projects option[value=IT]")).to_have_count(1)
                page.get_by_label("Target project key").fill("IT")
                page.get_by_label("Target project key").dispatch_event("change")
                expect(page.locator("#f-type-choices")).to_contain_text("issue types of IT")
                page.get_by_label("Target issue type").fill("Task")
                shot(page, "rule-form")
            page.get_by_role("button", name="Create rule").click()
            expect(page.get_by_text("Rule created.")).to_be_visible()
        checks = page.locator(".rule-check")
        expect(checks).to_have_count(2)
        for index in range(2):
            expect(checks.nth(index)).to_have_attribute("data-status", "valid")
        shot(page, "rules")

        # The preview routes every open task and writes nothing.
        world.reset_request_logs()
        page.get_by_role("link", name="Preview routing").click()
        preview = page.locator("#preview-result")
        expect(preview).to_contain_text("3 open tasks routed")
        expect(preview.locator(f"tr[data-task='{laptop}'] .target")).to_have_text("SYNC IT / Task")
        expect(preview.locator(f"tr[data-task='{private}'] .target")).to_have_text("DROP")
        expect(preview.locator(f"tr[data-task='{lunch}'] .target")).to_have_text("SYNC HR / Task")
        shot(page, "preview")
        assert world.issues() == [] and world.jira_requests() == 0
        assert {r.method for r in world.pf_faults.requests} == {"GET"}

        # Jira makes a field required: the tick dead-letters the laptop's create.
        world.jira.require_field("IT", "Task", COST_CENTRE, name="Cost centre")
        assert tick_job_id(domain_id) in run_async(scheduler_pass(world))
        assert {i["summary"] for i in world.issues()} == {"Welcome lunch"}
        page.goto(f"{base_url}/admin")
        expect(page.get_by_role("link", name="1 open")).to_be_visible()
        page.goto(f"{base_url}/admin/dead-letters")
        expect(page.locator("#dead-letter-1")).to_contain_text(COST_CENTRE)

        # Fix the rule in the UI: the check first shows why, then the mapping fixes it.
        page.goto(f"{base_url}/admin/domains/{domain_id}/rules")
        page.get_by_role("button", name="Check against Jira: Laptops to IT").click()
        expect(checks.first).to_have_attribute("data-status", "invalid")
        expect(checks.first).to_contain_text("Cost centre")
        page.get_by_role("link", name="Laptops to IT").click()
        page.get_by_label("Jira field").last.fill(COST_CENTRE)
        page.get_by_label("Mapping kind").last.select_option("STATIC")
        page.get_by_label("Mapping value").last.fill("CC-7")
        page.get_by_role("button", name="Save rule").click()
        expect(page.get_by_text("Rule saved.")).to_be_visible()
        expect(checks.first).to_have_attribute("data-status", "valid")

        # Replay the dead letter; the worker creates the issue with the mapped field.
        page.goto(f"{base_url}/admin/dead-letters")
        page.get_by_role("button", name="Replay dead letter 1").click()
        expect(page.locator("#dead-letter-1")).to_contain_text("Replay queued")
        run_async(burst_worker(world))
        page.goto(f"{base_url}/admin/dead-letters?state=replayed")
        expect(page.locator("#dead-letter-1 .badge")).to_have_text("replayed")
        shot(page, "dead-letters")
        created = {i["summary"]: i for i in world.issues()}
        assert created["Order laptop"]["project"] == "IT"
        assert created["Order laptop"]["custom"][COST_CENTRE] == "CC-7"

        # Pause: the scheduler runs, the domain is due, yet no tick happens.
        page.goto(f"{base_url}/admin")
        last_tick = page.get_by_test_id(f"last-tick-{domain_id}").locator("time")
        ticked_at = last_tick.get_attribute("datetime")
        assert ticked_at
        page.goto(f"{base_url}/admin/domains")
        page.get_by_role("button", name="Pause acme").click()
        expect(page.get_by_text("Paused: no further ticks.")).to_be_visible()
        world.advance(3 * 60)
        world.reset_request_logs()
        assert run_async(scheduler_pass(world)) == []
        assert world.pf_list_requests() == 0
        page.goto(f"{base_url}/admin")
        expect(page.get_by_test_id(f"state-{domain_id}")).to_have_text("paused")
        expect(page.get_by_test_id(f"next-tick-{domain_id}")).to_have_text("paused")
        expect(last_tick).to_have_attribute("datetime", ticked_at)
        shot(page, "dashboard")

        # Resumed, the same scheduler beat ticks it again.
        page.goto(f"{base_url}/admin/domains")
        page.get_by_role("button", name="Resume acme").click()
        expect(page.get_by_text("Resumed: syncing on the next tick.")).to_be_visible()
        assert tick_job_id(domain_id) in run_async(scheduler_pass(world))
        page.goto(f"{base_url}/admin")
        expect(last_tick).not_to_have_attribute("datetime", ticked_at)

        page.goto(f"{base_url}/admin/audit")
        shot(page, "audit")
        browser.close()
    # The deliberate validation error above answers 422; anything else is a real problem.
    assert not [e for e in errors if "422" not in e], errors


def test_task_trace_page_in_chromium(base_url: str, world: World) -> None:
    """From an audit row to the task's trace: verdict, routing now, issue link, history."""
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    domain_id = world.add_domain(pf_base_url=f"{world.pf_server.url}/api/public/v3")
    world.add_rule("Laptops to IT", [{"path": "title", "op": "contains", "value": "laptop"}],
                   project="IT", issue_type="Task")  # fmt: skip
    laptop = world.pf.create_task("Order laptop")["id"]
    assert tick_job_id(domain_id) in run_async(scheduler_pass(world))
    key = world.states()[laptop].jira_issue_key
    assert key is not None

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{base_url}/login")
        page.get_by_label("Username").fill(ADMIN_USER)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

        page.goto(f"{base_url}/admin/audit?event_type=created")
        page.get_by_role("link", name=str(laptop), exact=True).click()
        expect(page.get_by_role("heading", name=f"Task {laptop} in acme")).to_be_visible()
        expect(page.locator("#verdict")).to_have_text(f"Synced as {key}; in step with the task.")
        routing = page.locator("section", has=page.get_by_role("heading", name="Routing now"))
        expect(routing).to_contain_text("Laptops to IT")
        link = page.locator("#issue-link")
        expect(link).to_have_text(key)
        expect(link).to_have_attribute("href", f"{world.jira_server.url}/browse/{key}")
        events = page.locator("section", has=page.get_by_role("heading", name="Events (1, "))
        expect(events).to_contain_text("created")
        page.screenshot(path=SCREENSHOTS / "task-trace.png", full_page=True)
        browser.close()
