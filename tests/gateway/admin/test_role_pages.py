"""Role-aware pages: a viewer is shown no control it cannot use, and ``/me`` names the role.

A viewer is refused every change (``test_roles``); the pages must not offer one
either: no form or htmx request that changes something, no link to a page that
exists only to change something, and the edit forms shown read-only. An admin
sees all of them on the same pages (the negative: the markup does have controls).
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.admin.accounts import create_api_token
from gateway.db import session_scope
from gateway.models import Role
from tests.gateway.admin.conftest import ADMIN_PASSWORD, ADMIN_USER, sign_in
from tests.gateway.admin.test_roles import VIEWER, VIEWER_PASSWORD, seeded

__all__ = ["seeded"]  # the fixture, used by name

PAGES = (
    "/admin/domains/1/preview",
    "/admin",
    "/admin/domains",
    "/admin/domains/1",
    "/admin/domains/1/rules",
    "/admin/rules/1",
    "/admin/dead-letters",
)
EDIT_FORMS = ("/admin/domains/1", "/admin/rules/1", "/admin/domains/new")
_POST_FORM = re.compile(r'<form[^>]*method="post"[^>]*action="([^"]+)"')
_HTMX_CHANGE = re.compile(r'hx-(?:post|put|patch|delete)="([^"]+)"')
_CHANGE_PAGE = re.compile(r'href="([^"]*/(?:new|delete|preview))"')
_FIELDSET = re.compile(r"<fieldset[^>]*>")
_SUBMIT = re.compile(r'<button type="submit" class="primary">(Save|Create)')


def controls(html: str) -> list[str]:
    """What on the page would change something (signing out changes only one's session)."""
    found = _POST_FORM.findall(html) + _HTMX_CHANGE.findall(html) + _CHANGE_PAGE.findall(html)
    return [target for target in found if target != "/logout"]


def page(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.text


def test_a_viewer_sees_no_control_it_cannot_use(client: TestClient, seeded: None) -> None:
    assert sign_in(client, VIEWER, VIEWER_PASSWORD).status_code == 303
    for path in PAGES + EDIT_FORMS:
        assert controls(page(client, path)) == [], path
    for path in EDIT_FORMS:
        html = page(client, path)
        fieldsets = _FIELDSET.findall(html)
        assert fieldsets and all("disabled" in tag for tag in fieldsets), path
        assert not _SUBMIT.search(html), path
    assert "viewer" in page(client, "/admin").split('class="who"')[1][:80]


def test_an_admin_sees_the_controls_on_the_same_pages(
    client: TestClient, seeded: None, admin_user: str
) -> None:
    assert sign_in(client, ADMIN_USER, ADMIN_PASSWORD).status_code == 303
    shown = {path: controls(page(client, path)) for path in PAGES}
    assert "/admin/domains/1/pause" in shown["/admin/domains"]
    assert "/admin/domains/1/delete" in shown["/admin/domains/1"]
    assert "/admin/rules/1/delete" in shown["/admin/domains/1/rules"]
    assert "/admin/domains/1/rules/new" in shown["/admin/domains/1/rules"]
    assert "/admin/dead-letters/1/replay" in shown["/admin/dead-letters"]
    for path in EDIT_FORMS:
        html = page(client, path)
        assert not any("disabled" in tag for tag in _FIELDSET.findall(html)), path
        assert _SUBMIT.search(html), path


def test_me_names_the_role(client: TestClient, seeded: None, engine: Engine) -> None:
    with session_scope(engine) as session:
        _, viewer_token = create_api_token(session, "dashboards", Role.VIEWER)
        _, admin_token = create_api_token(session, "terraform", Role.ADMIN)
    as_viewer = client.get("/api/v1/admin/me", headers={"Authorization": f"Bearer {viewer_token}"})
    assert as_viewer.json() == {"kind": "token", "name": "dashboards", "role": "viewer"}
    as_admin = client.get("/api/v1/admin/me", headers={"Authorization": f"Bearer {admin_token}"})
    assert as_admin.json() == {"kind": "token", "name": "terraform", "role": "admin"}
    assert sign_in(client, VIEWER, VIEWER_PASSWORD).status_code == 303
    assert client.get("/api/v1/admin/me").json() == {
        "kind": "session",
        "name": VIEWER,
        "role": "viewer",
    }
