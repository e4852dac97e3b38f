"""Who may sign in with SSO, and the role they get.

An issuer such as Google vouches for every Google account in the world, so the
gateway admits only the email domains and addresses it is told to, and only
addresses the issuer says it verified.
"""

from __future__ import annotations

from gateway.models import Role
from gateway.settings import Settings

ROLE_ADMIN = "admin"


def _entries(value: str) -> frozenset[str]:
    """A comma-separated setting as a set of lower-case entries (blanks dropped)."""
    return frozenset(entry.strip().lower() for entry in value.split(",") if entry.strip())


def allowed_domains(settings: Settings) -> frozenset[str]:
    return frozenset(domain.lstrip("@") for domain in _entries(settings.oidc_allowed_domains))


def is_allowed(settings: Settings, email: str) -> bool:
    """True when ``email`` is listed, or its domain is (exactly: no subdomains)."""
    address = email.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return False
    if address in _entries(settings.oidc_allowed_emails):
        return True
    return domain in allowed_domains(settings)


def sso_role(settings: Settings, email: str) -> str:
    """``admin`` for the addresses of GATEWAY_OIDC_ADMIN_EMAILS, else GATEWAY_OIDC_ROLE."""
    if email.strip().lower() in _entries(settings.oidc_admin_emails):
        return ROLE_ADMIN
    return settings.oidc_role


def sso_access(settings: Settings, email: str) -> Role | None:
    """The role ``email`` has under the current settings; None when it may not sign in
    (SSO switched off, or the address no longer allowed). Sign-in and every request of
    an SSO session ask this, so a change of the settings applies to live sessions too."""
    if not settings.sso_enabled or not is_allowed(settings, email):
        return None
    return Role(sso_role(settings, email))
