"""Nothing admin is reachable anonymously; secrets never leave; untrusted text is escaped."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.routing import Mount

from gateway.db import session_scope
from gateway.models import DeadLetter, DomainConfig, SyncEvent, SyncState
from tests.gateway.admin.conftest import Admin

PUBLIC = {
    ("/healthz", "GET"),
    ("/readyz", "GET"),
    ("/metrics", "GET"),  # public by default, as Prometheus expects (GATEWAY_METRICS_TOKEN)
    ("/login", "GET"),
    ("/login", "POST"),
}
PUBLIC_PREFIXES = ("/api/v1/webhooks/",)
PUBLIC_MOUNTS = {"/static"}
XSS = "<script>alert(1)</script>"


def _flatten(routes: list) -> list:
    """App routes, descending into included routers (FastAPI keeps them nested)."""
    flat = []
    for route in routes:
        nested = getattr(route, "effective_candidates", None)
        flat.extend(_flatten(nested()) if callable(nested) else [route])
    return flat


def _routes(client: TestClient) -> list[tuple[str, str]]:
    found = []
    for route in _flatten(list(client.app.routes)):
        if isinstance(route, Mount):
            assert route.path in PUBLIC_MOUNTS, f"unexpected mount {route.path}"
            continue
        methods = getattr(route, "methods", None)
        if not methods:
            continue
        path = re.sub(r"\{[^}]+\}", "1", route.path)
        for method in set(methods) - {"HEAD"}:
            found.append((path, method))
    return found


def test_every_non_public_route_needs_a_session_or_token(client: TestClient):
    routes = _routes(client)
    assert ("/api/v1/admin/domains", "POST") in routes and ("/admin", "GET") in routes
    checked = 0
    for path, method in routes:
        if (path, method) in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        response = client.request(method, path, follow_redirects=False)
        redirect = response.status_code in (302, 303, 307) and response.headers[
            "location"
        ].startswith("/login")
        assert response.status_code == 401 or redirect, (method, path, response.status_code)
        checked += 1
    assert checked > 40


def test_every_mutation_with_a_session_but_no_csrf_is_forbidden(admin: Admin):
    for path, method in _routes(admin.client):
        if method == "GET" or (path, method) in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        response = admin.client.request(method, path, follow_redirects=False)
        assert response.status_code == 403, (method, path, response.status_code)


def _seed(engine: Engine, domain_id: int) -> None:
    with session_scope(engine) as session:
        session.add(SyncState(domain_id=domain_id, pf_task_id=7, jira_issue_key="HR-7"))
        session.add(
            SyncEvent(
                domain_id=domain_id,
                pf_task_id=7,
                jira_issue_key="HR-7",
                event_type="created",
                reason=f"created for {XSS}",
                details={"title": XSS},
            )
        )
        session.add(
            DeadLetter(
                domain_id=domain_id,
                pf_task_id=7,
                operation="create",
                payload={"title": XSS},
                error_status=400,
                error_message=f"summary {XSS} is invalid",
            )
        )


PAGES = [
    "/admin",
    "/admin/fragments/dashboard",
    "/admin/domains",
    "/admin/domains/1",
    "/admin/domains/1/rules",
    "/admin/domains/1/preview",
    "/admin/rules/1",
    "/admin/rules/1/check",
    "/admin/audit",
    "/admin/dead-letters",
    "/api/v1/admin/docs",
]
JSON = [
    "/api/v1/admin/domains",
    "/api/v1/admin/domains/1",
    "/api/v1/admin/domains/1/rules",
    "/api/v1/admin/events",
    "/api/v1/admin/dead-letters",
    "/api/v1/admin/openapi.json",
]


def test_secrets_and_scripts_never_reach_a_response(admin: Admin, engine: Engine):
    secrets = ("PF-SECRET-1a2b3c", "JIRA-SECRET-4d5e6f")
    body = {
        "name": "acme",
        "pf_base_url": "https://pf.test",
        "jira_base_url": "https://j.test",
        "jira_email": "ops@acme.test",
        "pf_api_key": secrets[0],
        "jira_api_token": secrets[1],
    }
    assert (
        admin.client.post("/api/v1/admin/domains", json=body, headers=admin.headers()).status_code
        == 201
    )
    rule = {
        "name": f"rule {XSS}",
        "conditions": [{"path": "title", "op": "contains", "value": XSS}],
    }
    assert (
        admin.client.post(
            "/api/v1/admin/domains/1/rules", json=rule, headers=admin.headers()
        ).status_code
        == 201
    )
    _seed(engine, 1)
    # New names cannot hold markup (test_domain_names); a row named before that rule
    # keeps its name, so the pages must still escape it.
    with session_scope(engine) as session:
        domain = session.get(DomainConfig, 1)
        assert domain is not None
        domain.name = f"acme {XSS}"
    for path in PAGES + JSON:
        response = admin.client.get(path)
        assert response.status_code == 200, path
        for secret in secrets:
            assert secret not in response.text, (path, secret)
        if path in PAGES:
            assert XSS not in response.text, path
    for path in ("/admin/audit", "/admin/dead-letters", "/admin/domains", "/admin/domains/1/rules"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in admin.client.get(path).text, path
    htmx_row = admin.client.post("/admin/dead-letters/1/discard", headers=admin.headers(htmx=True))
    assert htmx_row.status_code == 200 and XSS not in htmx_row.text
    assert "Discarded." in htmx_row.text
