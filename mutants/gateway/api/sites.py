"""Which sync domains a Jira site belongs to, for the webhook ingress.

Deliveries come in bursts, so the site -> domains map is cached in-process for
a few seconds: one query per burst, and a newly added domain is seen quickly.
Deliveries from sites no domain knows are recorded in the audit log, throttled
per site so a misdirected webhook cannot fill the database.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio.to_thread
from sqlalchemy import Engine
from sqlmodel import Session, select

from gateway.db import session_scope
from gateway.models import DomainConfig, EventType, SyncEvent

SITE_CACHE_TTL_SECONDS = 5.0
UNKNOWN_SITE_RECORD_INTERVAL_SECONDS = 60.0
MAX_THROTTLED_SITES = 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}

Clock = Callable[[], float]


def normalise_site_url(url: str) -> str | None:
    """``scheme://host[:port][/prefix]`` with scheme and host lowercased.

    Credentials, query, fragment, a default port and trailing slashes are
    dropped, so a configured base URL and one taken from a payload compare
    equal. None when ``url`` is not an absolute http(s) URL.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def site_of_issue_url(issue_url: str) -> str | None:
    """The site base of an issue's ``self`` URL: everything before ``/rest/``, normalised."""
    try:
        parts = urlsplit(issue_url.strip())
    except ValueError:
        return None
    prefix, separator, _ = parts.path.partition("/rest/")
    if not separator:
        return None
    return normalise_site_url(f"{parts.scheme}://{parts.netloc}{prefix}")


@dataclass(frozen=True, slots=True)
class SiteDomain:
    """What the ingress needs to know about a domain: its id and tracking label."""

    id: int
    tracking_label: str


def load_site_domains(engine: Engine) -> dict[str, tuple[SiteDomain, ...]]:
    """Every domain (active or paused) grouped by its normalised Jira base URL."""
    with Session(engine) as session:
        rows = session.exec(
            select(DomainConfig.id, DomainConfig.jira_base_url, DomainConfig.tracking_label)
        ).all()
    sites: dict[str, list[SiteDomain]] = defaultdict(list)
    for domain_id, base_url, label in rows:
        site = normalise_site_url(base_url)
        if site is not None and domain_id is not None:
            sites[site].append(SiteDomain(id=domain_id, tracking_label=label))
    return {site: tuple(sorted(found, key=lambda d: d.id)) for site, found in sites.items()}


class SiteDirectory:
    """The site -> domains map, reloaded at most every ``ttl_seconds``.

    ``lookup`` is called on the event loop; the reload is a blocking query run
    in a worker thread, serialised by a thread lock so a burst reloads once.
    """

    def __init__(
        self, *, ttl_seconds: float = SITE_CACHE_TTL_SECONDS, clock: Clock = time.monotonic
    ) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._sites: dict[str, tuple[SiteDomain, ...]] = {}
        self._expires_at = float("-inf")

    def _fresh(self) -> bool:
        return self._clock() < self._expires_at

    def _reload(self, engine: Engine) -> None:
        with self._lock:
            if self._fresh():
                return
            self._sites = load_site_domains(engine)
            self._expires_at = self._clock() + self._ttl

    async def lookup(self, engine: Engine, site: str) -> tuple[SiteDomain, ...]:
        """The domains linked to ``site`` (normalised), oldest first; empty when none."""
        if not self._fresh():
            await anyio.to_thread.run_sync(self._reload, engine)
        return self._sites.get(site, ())


class UnknownSiteThrottle:
    """Allows one audit record per site per interval, remembering a bounded number of sites."""

    def __init__(
        self,
        *,
        interval_seconds: float = UNKNOWN_SITE_RECORD_INTERVAL_SECONDS,
        max_sites: int = MAX_THROTTLED_SITES,
        clock: Clock = time.monotonic,
    ) -> None:
        self._interval = interval_seconds
        self._max_sites = max_sites
        self._clock = clock
        self._last: dict[str, float] = {}

    def allow(self, site: str) -> bool:
        """True when ``site`` was not recorded within the interval (and marks it recorded)."""
        now = self._clock()
        last = self._last.get(site)
        if last is not None and now - last < self._interval:
            return False
        if last is None and len(self._last) >= self._max_sites:
            self._last = {s: t for s, t in self._last.items() if now - t < self._interval}
            if len(self._last) >= self._max_sites:
                return False
        self._last[site] = now
        return True


def record_unknown_site(engine: Engine, *, site: str, issue_id: str, issue_key: str | None) -> None:
    """Audit a verified delivery from a Jira site no domain is linked to."""
    with session_scope(engine) as session:
        session.add(
            SyncEvent(
                domain_id=None,
                jira_issue_id=issue_id,
                jira_issue_key=issue_key,
                event_type=EventType.WEBHOOK_UNKNOWN_SITE.value,
                reason="no domain is linked to this Jira site",
                details={"site": site, "issue_id": issue_id},
            )
        )
