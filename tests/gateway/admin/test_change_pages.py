"""Pages that exist only to change something answer a viewer 403, as the change does.

Every GET page of the admin UI is named here as a page to read or a page that only
serves a change (a delete confirmation, a row of an editor), so a new page must be
placed in one of the two; a viewer reads the first kind and is refused the second,
an admin gets both.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.gateway.admin.conftest import ADMIN_PASSWORD, ADMIN_USER, sign_in
from tests.gateway.admin.test_exposure import PUBLIC, PUBLIC_PREFIXES, _routes
from tests.gateway.admin.test_roles import VIEWER, VIEWER_PASSWORD, seeded

__all__ = ["seeded"]  # the fixture, used by name

CHANGE_PAGES = {
    "/admin/domains/1/delete",
    "/admin/fragments/condition-row",
    "/admin/fragments/mapping-row",
}
# The empty "new" forms are shown to a viewer read-only (test_role_pages); the Jira
# pickers fill the read-only rule form too.
READ_PAGES = {
    "/",
    "/admin",
    "/admin/audit",
    "/admin/dead-letters",
    "/admin/domains",
    "/admin/domains/1",
    "/admin/domains/1/jira/issue-types",
    "/admin/domains/1/jira/projects",
    "/admin/domains/1/preview",
    "/admin/domains/1/rules",
    "/admin/domains/1/rules/new",
    "/admin/domains/1/status",
    "/admin/domains/1/tasks/1",
    "/admin/domains/new",
    "/admin/fragments/dashboard",
    "/admin/rules/1",
    "/admin/rules/1/check",
}
# Route templates as the enumeration writes them (every path parameter as "1").
_FRAGMENT_ROUTE = "/admin/fragments/1-row"


def _pages(client: TestClient) -> set[str]:
    return {
        path
        for path, method in _routes(client)
        if method == "GET"
        and (path, method) not in PUBLIC
        and not path.startswith(PUBLIC_PREFIXES)
        and not path.startswith("/api/")
    }


def test_every_page_is_either_read_or_change_only(client: TestClient) -> None:
    named = READ_PAGES | {p for p in CHANGE_PAGES if "/fragments/" not in p} | {_FRAGMENT_ROUTE}
    assert _pages(client) == named


def test_a_viewer_gets_403_on_every_change_only_page(client: TestClient, seeded: None) -> None:
    assert sign_in(client, VIEWER, VIEWER_PASSWORD).status_code == 303
    for path in sorted(CHANGE_PAGES):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 403, (path, response.status_code)
        assert "Delete domain" not in response.text, path
    for path in ("/admin/domains/1", "/admin/domains/new", "/admin/domains/1/rules/new"):
        assert client.get(path).status_code == 200, path


def test_an_admin_gets_the_change_only_pages(
    client: TestClient, seeded: None, admin_user: str
) -> None:
    assert sign_in(client, ADMIN_USER, ADMIN_PASSWORD).status_code == 303
    for path in sorted(CHANGE_PAGES):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    assert "/admin/domains/1/delete" in client.get("/admin/domains/1/delete").text
