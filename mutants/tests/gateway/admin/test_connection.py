"""Test connection against the fakes: ok, bad keys, partitions; never a secret echoed."""

from __future__ import annotations

from gateway.db import session_scope
from gateway.models import DomainConfig
from tests.gateway.admin.conftest import Admin
from tests.world import World

WRONG_PF_KEY = "pf-wrong-key-8f3e"
WRONG_JIRA_TOKEN = "jira-wrong-token-1c9d"


def _check(admin: Admin, domain_id: int) -> dict:
    response = admin.client.post(
        f"/api/v1/admin/domains/{domain_id}/test-connection", headers=admin.headers()
    )
    assert response.status_code == 200, response.text
    return response.json()


def _set(world: World, domain_id: int, **values: str) -> None:
    with session_scope(world.engine) as session:
        domain = session.get(DomainConfig, domain_id)
        assert domain is not None
        for name, value in values.items():
            setattr(domain, name, value)
        session.add(domain)


async def test_connection_ok_reads_without_writing(admin: Admin, world: World) -> None:
    domain_id = world.add_domain()
    world.pf.create_task("Order laptop")
    world.reset_request_logs()

    result = _check(admin, domain_id)

    assert result["ok"] is True, result
    assert result["details"]["peopleforce"]["status"] == "ok"
    assert result["details"]["jira"]["status"] == "ok"
    assert {"HR", "IT"} <= set(result["details"]["jira_projects"])
    assert "PeopleForce: connected (1 open tasks)" in result["message"]
    requests = world.pf_faults.requests + world.jira_faults.requests
    assert requests and {r.method for r in requests} == {"GET"}

    page = admin.client.post(
        f"/admin/domains/{domain_id}/test-connection", headers=admin.headers(htmx=True)
    )
    assert page.status_code == 200 and "Jira: connected" in page.text


async def test_bad_keys_read_as_authentication_failures(admin: Admin, world: World) -> None:
    domain_id = world.add_domain()
    _set(world, domain_id, pf_api_key=WRONG_PF_KEY)

    result = _check(admin, domain_id)
    assert result["ok"] is False
    assert result["details"]["peopleforce"]["status"] == "auth_failed"
    assert "HTTP 401" in result["details"]["peopleforce"]["message"]
    assert result["details"]["jira"]["status"] == "ok"

    _set(world, domain_id, jira_api_token=WRONG_JIRA_TOKEN)
    result = _check(admin, domain_id)
    assert result["details"]["jira"]["status"] == "auth_failed"
    assert "check the credentials" in result["details"]["jira"]["message"]
    page = admin.client.post(
        f"/admin/domains/{domain_id}/test-connection", headers=admin.headers(htmx=True)
    )
    assert "authentication failed" in page.text
    for text in (str(result), page.text):
        assert WRONG_PF_KEY not in text and WRONG_JIRA_TOKEN not in text


async def test_partitions_and_wrong_urls_are_told_apart(admin: Admin, world: World) -> None:
    domain_id = world.add_domain()
    world.pf_faults.partition("refuse")
    world.jira_faults.partition("refuse")

    result = _check(admin, domain_id)

    assert result["ok"] is False
    assert result["details"]["peopleforce"]["status"] == "unreachable"
    assert result["details"]["jira"]["status"] == "unreachable"
    assert "PeopleForce: unreachable" in result["message"]

    world.pf_faults.heal()
    world.jira_faults.heal()
    assert _check(admin, domain_id)["ok"] is True

    _set(world, domain_id, jira_base_url=world.pf_server.url + "/nowhere")

    jira = _check(admin, domain_id)["details"]["jira"]

    assert jira["status"] == "other"
    assert "HTTP 404" in jira["message"] and "check the base URL" in jira["message"]
