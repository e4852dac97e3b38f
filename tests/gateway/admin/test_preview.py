"""The routing preview and the Jira pickers read the fakes and write nothing anywhere."""

from __future__ import annotations

import re

from sqlalchemy import Engine, inspect, text

from gateway.demo.seed import add_drop_then_it_rules
from tests.gateway.admin.conftest import Admin
from tests.world import World

XSS_TITLE = "<script>alert('x')</script> [private] note"


def _snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, to prove a read-only action left the database alone."""
    with engine.connect() as connection:
        return {
            table: [tuple(row) for row in connection.execute(text(f'SELECT * FROM "{table}"'))]
            for table in inspect(engine).get_table_names()
        }


def _setup(world: World) -> dict[str, int]:
    world.add_domain()
    add_drop_then_it_rules(
        world,
        ("private stays in HR", "[private]"),
        ("equipment to IT", {"op": "contains", "value": "laptop"}),
        issue_type="Onboarding",
    )
    employee = world.pf.add_employee("Bob Builder", "bob@example.com")
    return {
        "laptop": world.pf.create_task("Order laptop", assigned_to=employee["id"])["id"],
        "private": world.pf.create_task(XSS_TITLE)["id"],
        "lunch": world.pf.create_task("Welcome lunch", ends_on="2026-12-01")["id"],
    }


def _row(html: str, task_id: int) -> str:
    match = re.search(rf'<tr data-task="{task_id}">(.*?)</tr>', html, re.DOTALL)
    assert match, f"no preview row for task {task_id}"
    return match.group(1)


async def test_preview_routes_every_open_task_and_writes_nothing(
    admin: Admin, world: World
) -> None:
    tasks = _setup(world)
    before = _snapshot(world.engine)
    world.reset_request_logs()

    page = admin.client.get(f"/admin/domains/{world.domain_id}/preview")
    html = admin.client.post(
        f"/admin/domains/{world.domain_id}/rules/preview", headers=admin.headers(htmx=True)
    ).text
    rows = admin.client.post(
        f"/api/v1/admin/domains/{world.domain_id}/rules/preview", headers=admin.headers()
    ).json()

    assert page.status_code == 200 and 'hx-trigger="load"' in page.text
    assert "3 open tasks routed (nothing was written)" in html
    laptop = _row(html, tasks["laptop"])
    assert "IT / Onboarding" in laptop and "equipment to IT" in laptop
    assert "[IT] Order laptop" in laptop and "bob@example.com" in laptop
    assert "DROP" in _row(html, tasks["private"])
    lunch = _row(html, tasks["lunch"])
    assert "HR / Task" in lunch and "no rule matched" in lunch and "2026-12-01" in lunch
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html

    by_task = {row["task_id"]: row for row in rows}
    assert by_task[tasks["laptop"]]["fields"]["project"] == {"key": "IT"}
    assert by_task[tasks["private"]]["action"] == "DROP"
    assert by_task[tasks["private"]]["fields"] == {}

    assert _snapshot(world.engine) == before
    assert world.jira_requests() == 0
    assert {r.method for r in world.pf_faults.requests} == {"GET"}
    assert world.pf_list_requests() == 2
    assert world.issues() == []

    # Rules decide only at creation: after a tick the preview says which tasks are past it.
    await world.tick()
    html = admin.client.post(
        f"/admin/domains/{world.domain_id}/rules/preview", headers=admin.headers(htmx=True)
    ).text
    assert "already synced as IT-1" in _row(html, tasks["laptop"])
    assert "already recorded as dropped" in _row(html, tasks["private"])

    world.pf_faults.partition("refuse")
    html = admin.client.post(
        f"/admin/domains/{world.domain_id}/rules/preview", headers=admin.headers(htmx=True)
    ).text
    assert 'role="alert"' in html and "Could not read PeopleForce tasks" in html


async def test_pickers_load_after_the_page_from_a_cache(admin: Admin, world: World) -> None:
    domain_id = world.add_domain()
    world.jira.add_project("ZZ", XSS_TITLE)

    # The editor renders without asking Jira, even when Jira would never answer.
    world.jira_faults.partition("timeout")
    page = admin.client.get(f"/admin/domains/{domain_id}/rules/new")
    assert page.status_code == 200
    assert 'list="jira-projects"' in page.text
    assert f'hx-get="/admin/domains/{domain_id}/jira/projects"' in page.text
    assert world.jira_requests() == 0
    world.jira_faults.heal()

    projects = admin.client.get(f"/admin/domains/{domain_id}/jira/projects").text
    types = admin.client.get(
        f"/admin/domains/{domain_id}/jira/issue-types", params={"target_project_key": "IT"}
    ).text
    fallback = admin.client.get(f"/admin/domains/{domain_id}/jira/issue-types").text

    assert '<datalist id="jira-projects">' in projects
    assert '<option value="HR">Human Resources</option>' in projects
    assert "<script>alert" not in projects and "&lt;script&gt;alert" in projects
    assert '<option value="Onboarding">' in types and "issue types of IT" in types
    assert "issue types of HR" in fallback and "Onboarding" not in fallback
    asked = world.jira_requests()
    assert asked == 3 and {r.method for r in world.jira_faults.requests} == {"GET"}

    admin.client.get(f"/admin/domains/{domain_id}/jira/projects")
    assert world.jira_requests() == asked

    world.jira_faults.partition("refuse")
    down = admin.client.get(
        f"/admin/domains/{domain_id}/jira/issue-types", params={"target_project_key": "NEW"}
    ).text
    assert "<datalist" not in down and "Could not load issue types of NEW" in down
