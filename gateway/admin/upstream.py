"""Clients the admin surface opens on demand, and how their failures read to an admin.

Admin checks answer a person who is waiting, so they never retry: one attempt,
the configured timeout, and a verdict (ok / auth failed / unreachable / other)
with a bounded excerpt of the upstream's message, from which the clients already
masked secrets.
"""

from __future__ import annotations

from enum import StrEnum

import httpx

from gateway.clients import JiraClient, PeopleForceClient, UpstreamError
from gateway.clients.errors import redact
from gateway.clients.retry import NO_RETRY
from gateway.models import DomainConfig
from gateway.security.exposure import bounded_excerpt, status_reason
from gateway.settings import Settings


class Verdict(StrEnum):
    OK = "ok"
    AUTH_FAILED = "auth_failed"
    UNREACHABLE = "unreachable"
    OTHER = "other"


VERDICT_LABELS = {
    Verdict.OK: "connected",
    Verdict.AUTH_FAILED: "authentication failed",
    Verdict.UNREACHABLE: "unreachable",
    Verdict.OTHER: "error",
}
_HINTS = {
    401: "check the credentials",
    403: "the account lacks permission",
    404: "check the base URL",
}


def http_client(settings: Settings, timeout: float | None = None) -> httpx.AsyncClient:
    """A short-lived client; ``timeout`` caps the settings' value for UI lookups."""
    seconds = settings.http_timeout_seconds
    if timeout is not None:
        seconds = min(seconds, timeout)
    return httpx.AsyncClient(timeout=httpx.Timeout(seconds))


def jira_client(http: httpx.AsyncClient, domain: DomainConfig) -> JiraClient:
    """A Jira client with the domain's credentials that never retries (someone waits)."""
    return JiraClient(
        http, domain.jira_base_url, domain.jira_email, domain.jira_api_token, policy=NO_RETRY
    )


def peopleforce_client(http: httpx.AsyncClient, domain: DomainConfig) -> PeopleForceClient:
    """A PeopleForce client with the domain's key that never retries (someone waits)."""
    return PeopleForceClient(http, domain.pf_base_url, domain.pf_api_key, policy=NO_RETRY)


def verdict_of(error: UpstreamError) -> Verdict:
    """No HTTP answer means unreachable; 401/403 mean the credentials are the problem."""
    if error.status is None:
        return Verdict.UNREACHABLE
    if error.status in (401, 403):
        return Verdict.AUTH_FAILED
    return Verdict.OTHER


def describe(error: UpstreamError, domain: DomainConfig | None = None) -> str:
    """Status, what to check and a bounded, escaped excerpt of the upstream's message,
    with the domain's secrets masked again (see ``gateway.security.exposure``)."""
    hint = _HINTS.get(error.status or 0, "")
    message = error.message
    if domain is not None:
        message = redact(message, (domain.pf_api_key, domain.jira_api_token))
    text = f"{error.service}: {status_reason(error.status)}" + (f" ({hint})" if hint else "")
    excerpt = bounded_excerpt(message)
    return f"{text}: {excerpt}" if excerpt else text
