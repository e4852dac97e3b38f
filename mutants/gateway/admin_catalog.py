"""Jira projects and issue types for the rule editor's pickers, cached in the API process.

The editor loads them after the page has rendered, so a slow or unreachable Jira
never holds the page; the cache keeps repeated edits from asking Jira each time.
Only answers are cached, never failures, and the key includes the credentials'
fingerprint so a changed token is asked afresh.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.admin_upstream import http_client, jira_client
from gateway.clients import JiraClient
from gateway.models import DomainConfig
from gateway.settings import Settings

CATALOG_TTL_SECONDS = 300.0
LOOKUP_TIMEOUT_SECONDS = 5.0
MAX_ENTRIES = 512


class CatalogUnavailable(LookupError):
    """Jira cannot be asked with this domain's settings; the message says why."""


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


class JiraCatalog:
    """An in-process TTL cache of createmeta answers, one per API process."""

    def __init__(
        self,
        settings: Settings,
        *,
        ttl: float = CATALOG_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[str, ...], tuple[float, list[Choice]]] = {}

    @staticmethod
    def _key(domain: DomainConfig, *parts: str) -> tuple[str, ...]:
        secret = f"{domain.jira_email}\0{domain.jira_api_token}".encode()
        fingerprint = hashlib.sha256(secret).hexdigest()[:16]
        return (str(domain.id), domain.jira_base_url, fingerprint, *parts)

    async def _cached(
        self,
        key: tuple[str, ...],
        domain: DomainConfig,
        fetch: Callable[[JiraClient], Awaitable[list[Choice]]],
    ) -> list[Choice]:
        if not domain.jira_email or not domain.jira_api_token:
            raise CatalogUnavailable("the domain's Jira email or API token is not set")
        now = self._clock()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with http_client(self._settings, LOOKUP_TIMEOUT_SECONDS) as http:
            choices = await fetch(jira_client(http, domain))
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (now + self._ttl, choices)
        return choices

    async def projects(self, domain: DomainConfig) -> list[Choice]:
        """Every project the domain's Jira account can see, by key."""

        async def fetch(jira: JiraClient) -> list[Choice]:
            projects = await jira.list_projects()
            return sorted((Choice(p.key, p.name or p.key) for p in projects), key=_by_value)

        return await self._cached(self._key(domain, "projects"), domain, fetch)

    async def issue_types(self, domain: DomainConfig, project: str) -> list[Choice]:
        """The issue types a create in ``project`` may use (sub-tasks excluded)."""
        project = project.strip().upper()

        async def fetch(jira: JiraClient) -> list[Choice]:
            types = await jira.get_createmeta_issue_types(project)
            names = {t.name for t in types if not t.subtask}
            return [Choice(name, name) for name in sorted(names)]

        return await self._cached(self._key(domain, "types", project), domain, fetch)

    def clear(self) -> None:
        self._entries.clear()


def _by_value(choice: Choice) -> str:
    return choice.value
