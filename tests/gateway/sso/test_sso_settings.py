"""SSO settings: incomplete configurations stop every command, with the variable named."""

from __future__ import annotations

import pytest

from gateway.settings import ConfigurationError, load_settings
from gateway.sso.policy import is_allowed, sso_role

ISSUER = "https://accounts.google.com"


def test_sso_is_off_by_default() -> None:
    assert load_settings().sso_enabled is False


def test_an_issuer_needs_client_credentials() -> None:
    with pytest.raises(ConfigurationError, match="GATEWAY_OIDC_CLIENT_SECRET"):
        load_settings(oidc_issuer=ISSUER, oidc_client_id="id")


def test_an_issuer_needs_to_know_who_may_sign_in() -> None:
    with pytest.raises(ConfigurationError, match="GATEWAY_OIDC_ALLOWED_DOMAINS"):
        load_settings(oidc_issuer=ISSUER, oidc_client_id="id", oidc_client_secret="secret")


def test_allowed_lists_and_roles() -> None:
    settings = load_settings(
        oidc_issuer=ISSUER,
        oidc_client_id="id",
        oidc_client_secret="secret",
        oidc_allowed_domains=" Acme.com , @globex.com,",
        oidc_allowed_emails="Partner@Example.org",
        oidc_admin_emails="boss@acme.com",
    )
    assert settings.sso_enabled
    allowed = ["a@acme.com", "B@GLOBEX.COM", "partner@example.org"]
    assert all(is_allowed(settings, email) for email in allowed)
    refused = ["a@sub.acme.com", "acme.com", "@acme.com", "x@example.org", "a@acme.com.evil"]
    assert not any(is_allowed(settings, email) for email in refused)
    assert sso_role(settings, "Boss@acme.com") == "admin"
    assert sso_role(settings, "a@acme.com") == "viewer"
