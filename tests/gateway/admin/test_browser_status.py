"""The domain page's live status in a real Chromium: "Run tick now" shows its report.

The admin queues a tick from the domain page; the status card (polled by htmx) says
it is queued, then, once the real worker ran it, shows the tick's whole report
without a reload. A long tick's progress (published by the tick itself) shows on
the dashboard's card.
"""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from gateway.models import EventType
from gateway.monitoring.tick_status import TickProgress
from gateway.sync.ledger import Ledger
from tests.gateway.admin.conftest import ADMIN_PASSWORD, ADMIN_USER
from tests.gateway.admin.test_browser import (  # noqa: F401 - base_url is a fixture
    ARGS,
    CHROMIUM,
    SCREENSHOTS,
    base_url,
    burst_worker,
    run_async,
)
from tests.world import World

pytestmark = pytest.mark.browser


async def record_repeats(world: World, task_id: int, times: int) -> None:
    """What a task whose assignee has no Jira account leaves on every write."""
    ledger = Ledger(world.engine, world.domain_id)
    for _ in range(times):
        await ledger.record(
            EventType.ASSIGNEE_UNMATCHED, "no Jira user with the email", pf_task_id=task_id
        )


async def publish_progress(redis_url: str, domain_id: int) -> None:
    redis = Redis.from_url(redis_url)
    try:
        progress = TickProgress(redis, domain_id)
        await progress.begin(500)
        for created in range(1, 121):
            await progress.step(created)
        await progress.publish()
    finally:
        await redis.aclose()


def test_run_tick_now_shows_the_report_when_the_tick_finishes(
    base_url: str,  # noqa: F811
    world: World,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    domain_id = world.add_domain()
    tasks = [world.pf.create_task(f"Onboarding step {n}")["id"] for n in range(3)]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{base_url}/login")
        page.get_by_label("Username").fill(ADMIN_USER)
        page.get_by_label("Password").fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

        page.goto(f"{base_url}/admin/domains/{domain_id}")
        status = page.get_by_test_id("domain-status")
        expect(status.get_by_test_id("last-tick-report")).to_have_text("never")
        expect(status.get_by_test_id("tick-now")).to_have_text("idle")

        page.get_by_role("button", name="Run tick now").click()
        expect(page.get_by_text("Tick queued")).to_be_visible()
        expect(page.get_by_test_id("tick-now")).to_have_text("queued")
        run_async(burst_worker(world))
        report = page.get_by_test_id("last-tick-report")
        expect(report).to_contain_text("ok: 3 open, 3 created")
        expect(page.get_by_test_id("tick-now")).to_have_text("idle")
        expect(page.get_by_test_id("tick-failures")).to_have_text("0")
        page.screenshot(path=SCREENSHOTS / "domain-status.png", full_page=True)
        assert len(world.issues()) == 3

        # A long tick publishes how far it is; the dashboard's card shows it.
        run_async(publish_progress(world.settings.redis_url or "", domain_id))
        page.goto(f"{base_url}/admin")
        progress = page.get_by_test_id(f"tick-progress-{domain_id}")
        expect(progress).to_contain_text("running: 120/500 tasks · 120 created")
        expect(progress).to_contain_text("tasks/s")
        page.screenshot(path=SCREENSHOTS / "dashboard-progress.png", full_page=True)

        # Repeats of one kind for one task are one row with a count, which opens them all.
        run_async(record_repeats(world, tasks[0], 43))
        page.goto(f"{base_url}/admin/audit")
        repeats = page.get_by_test_id(f"repeats-assignee_unmatched-{tasks[0]}")
        expect(repeats).to_have_text("\u00d743")  # the multiplication sign
        rows = page.locator("table tbody tr")
        expect(rows).to_have_count(4)  # three created, one collapsed group
        page.screenshot(path=SCREENSHOTS / "audit-collapsed.png", full_page=True)
        repeats.click()
        expect(rows).to_have_count(43)
        expect(page.get_by_label("Repeats")).to_have_value("0")
        browser.close()
