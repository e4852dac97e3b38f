"""What a sync job needs, opened once per worker process and shared by every job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from redis.asyncio import Redis
from sqlalchemy import Engine

from gateway.clients.jira import JiraClient
from gateway.clients.peopleforce import PeopleForceClient
from gateway.clients.rate_window import RateWindow, SiteWindows
from gateway.clients.retry import RetryPolicy
from gateway.models import DomainConfig
from gateway.settings import Settings

JIRA_WINDOWS = "jira_windows"
"""The worker context's key for the process's ``SiteWindows`` (``None`` switches them off)."""


@dataclass
class SyncDeps:
    engine: Engine
    redis: Redis
    http: httpx.AsyncClient
    settings: Settings
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    jira_windows: SiteWindows | None = field(default_factory=SiteWindows)
    """Adaptive concurrency per Jira site, shared by the process's jobs; ``None``: fixed
    ``max_concurrency`` (what the gateway did before, kept for comparison)."""

    @classmethod
    def from_ctx(cls, ctx: dict[str, Any]) -> SyncDeps:
        """Build from an ARQ worker context (see gateway.worker.startup)."""
        return cls(
            engine=ctx["engine"],
            redis=ctx["redis"],
            http=ctx["http"],
            settings=ctx["settings"],
            retry_policy=ctx.get("retry_policy") or RetryPolicy(),
            jira_windows=ctx.setdefault(JIRA_WINDOWS, SiteWindows()),
        )

    def peopleforce(self, domain: DomainConfig) -> PeopleForceClient:
        return PeopleForceClient(
            self.http, domain.pf_base_url, domain.pf_api_key, policy=self.retry_policy
        )

    def jira(self, domain: DomainConfig) -> JiraClient:
        return JiraClient(
            self.http,
            domain.jira_base_url,
            domain.jira_email,
            domain.jira_api_token,
            policy=self.retry_policy,
            window=self.jira_window(domain),
        )

    def jira_window(self, domain: DomainConfig) -> RateWindow | None:
        """The domain's Jira site's window, capped by the domain's ``max_concurrency``."""
        if self.jira_windows is None:
            return None
        return self.jira_windows.for_site(domain.jira_base_url, cap=domain.max_concurrency)
