"""Rules are checked against the fake Jira's createmeta in the background after each save."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gateway.admin_service import PENDING_STALE, check_status
from gateway.clock import utcnow
from gateway.models import RoutingRule
from tests.gateway.admin.conftest import Admin, wait_for_check
from tests.world import World

COST_CENTRE = "customfield_10050"


def _rule(admin: Admin, domain_id: int, **body: Any) -> dict:
    payload = {"name": "onboarding", "conditions": [], **body}
    response = admin.client.post(
        f"/api/v1/admin/domains/{domain_id}/rules", json=payload, headers=admin.headers()
    )
    assert response.status_code == 201, response.text
    assert response.json()["validation_status"] == "pending"
    return wait_for_check(admin, response.json()["id"])


async def test_a_rule_matching_the_create_screen_is_valid(admin: Admin, world: World) -> None:
    domain_id = world.add_domain()
    rule = _rule(admin, domain_id, target_project_key="IT", target_issue_type="Onboarding")
    assert rule["validation_status"] == "valid", rule
    assert rule["validated_at"] is not None
    dropped = _rule(admin, domain_id, name="drop", action="DROP")
    assert dropped["validation_status"] == "valid"
    fallback = _rule(admin, domain_id, name="fallback")  # HR / Task from the domain
    assert fallback["validation_status"] == "valid"

    badge = admin.client.get(f"/admin/rules/{rule['id']}/check")
    assert 'data-status="valid"' in badge.text and "hx-trigger" not in badge.text

    # Jira being down is an error of the check, not a verdict on the rule.
    world.jira_faults.partition("refuse")
    down = _rule(admin, domain_id, name="while down", target_project_key="HR")
    assert down["validation_status"] == "error"
    assert down["validation_message"].startswith("Could not ask Jira")


async def test_unknown_project_issue_type_and_fields_are_invalid(
    admin: Admin, world: World
) -> None:
    domain_id = world.add_domain()
    project = _rule(admin, domain_id, target_project_key="NOPE")
    assert project["validation_status"] == "invalid"
    assert "NOPE" in project["validation_message"]

    issue_type = _rule(admin, domain_id, target_project_key="HR", target_issue_type="Epic")
    assert issue_type["validation_status"] == "invalid"
    assert "no issue type 'Epic'" in issue_type["validation_message"]
    assert "Bug, Task" in issue_type["validation_message"]

    mapping = {"jira_field": "customfield_99999", "kind": "STATIC", "value": "x"}
    rule = _rule(admin, domain_id, target_project_key="HR", mappings=[mapping])
    assert rule["validation_status"] == "invalid"
    assert "not on the create screen: customfield_99999" in rule["validation_message"]


async def test_a_required_field_is_reported_until_a_mapping_fills_it(
    admin: Admin, world: World
) -> None:
    domain_id = world.add_domain()
    body: dict[str, Any] = {"name": "hr", "conditions": [], "target_project_key": "HR"}
    rule = _rule(admin, domain_id, **body)
    assert rule["validation_status"] == "valid"

    # Schema drift in Jira; the admin's Check button reruns the check in the background.
    world.jira.require_field("HR", "Task", COST_CENTRE, name="Cost centre")
    table = admin.client.post(
        f"/admin/rules/{rule['id']}/validate", headers=admin.headers(htmx=True)
    )
    assert table.status_code == 200
    assert 'data-status="pending"' in table.text and "hx-trigger" in table.text
    rule = wait_for_check(admin, rule["id"])
    assert rule["validation_status"] == "invalid"
    assert f"Cost centre ({COST_CENTRE})" in rule["validation_message"]
    assert "summary" not in rule["validation_message"]
    assert 'data-status="invalid"' in admin.client.get(f"/admin/domains/{domain_id}/rules").text

    body["mappings"] = [{"jira_field": COST_CENTRE, "kind": "STATIC", "value": "HR-01"}]
    response = admin.client.put(
        f"/api/v1/admin/rules/{rule['id']}", json=body, headers=admin.headers()
    )
    assert response.json()["validation_status"] == "pending"
    assert wait_for_check(admin, rule["id"])["validation_status"] == "valid"


def test_a_check_that_died_with_its_process_is_offered_again() -> None:
    rule = RoutingRule(domain_id=1, name="r", validation_status="pending")
    rule.validated_at = utcnow() - PENDING_STALE - timedelta(seconds=1)
    assert check_status(rule) == "unknown"
    rule.validated_at = utcnow()
    assert check_status(rule) == "pending"
