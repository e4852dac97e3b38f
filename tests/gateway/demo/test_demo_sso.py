"""The demo signs in with SSO: its login page leads through the fake provider and back."""

from __future__ import annotations

from pathlib import Path

import httpx

from gateway.demo.launch import DemoOptions, start_demo
from gateway.demo.sso import DEMO_SSO_ADMIN
from tests.gateway.sso.oidc_helpers import consent


def test_the_demo_admin_ui_signs_in_through_the_fake_provider(tmp_path: Path) -> None:
    stack = start_demo(DemoOptions(tasks=2, port=0, data_dir=tmp_path / "demo"))
    try:
        api = stack.api_url
        with httpx.Client(base_url=api) as browser:
            assert "Sign in with SSO" in browser.get("/login").text
            start = browser.get("/login/sso")
            assert start.status_code == 303
            assert start.headers["location"].startswith(stack.sso.url if stack.sso else "-")
            back = consent(start.headers["location"], DEMO_SSO_ADMIN)
            signed_in = browser.get(back)
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/admin"
            dashboard = browser.get("/admin")
            assert dashboard.status_code == 200 and DEMO_SSO_ADMIN in dashboard.text
    finally:
        stack.close()
    assert stack.sso is None
