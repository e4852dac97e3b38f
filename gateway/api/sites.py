"""Which sync domains a Jira site belongs to, for the webhook ingress.

Deliveries come in bursts, so the site -> domains map (and, for the per-domain
webhook URLs, the public id -> domain map with its secrets) is cached in-process
for a few seconds: one query per burst, and a newly added domain is seen quickly.

A rotated secret must stop being accepted at once, in every API process, not when
each cache expires: a rotation increments a version counter in Redis once it is
committed, each snapshot remembers the counter it was loaded under (read before the
query), and a per-domain delivery is queued only if the counter still has that value,
checked inside the same atomic script that queues it (``gateway.api.delivery_queue``).
A stale snapshot is reloaded and the delivery verified again against it.

Deliveries from sites no domain knows are recorded in the audit log, throttled
per site so a misdirected webhook cannot fill the database.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import anyio.to_thread
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine, select
from sqlmodel import col

from gateway.db import session_scope
from gateway.models import DomainConfig, EventType, SyncEvent
from gateway.redis import RedisUnavailable, redis_client, resolve_redis
from gateway.settings import Settings

SITE_CACHE_TTL_SECONDS = 5.0
DIRECTORY_VERSION_KEY = "gateway:webhook:directory:version"
# The version of a snapshot loaded without asking Redis: it matches no counter, so a
# per-domain delivery verified against it is verified again against a fresh one.
UNKNOWN_VERSION = "unknown"
# A per-domain delivery that fails verification may reload the cache (a secret just
# rotated, a domain just added), but no more often than this: forged requests cannot
# turn into a query each.
MIN_RELOAD_INTERVAL_SECONDS = 1.0
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


_site_of_issue_prefix = functools.lru_cache(maxsize=256)(site_of_issue_url)


def site_of_issue(issue_url: str, issue_id: str) -> str | None:
    """``site_of_issue_url``, parsed once per site for Jira's ``<site>/rest/.../<issue id>``.

    Jira's issue URLs differ only in their trailing id, so without it the URL repeats
    and its site is cached. Cutting the id after a ``/`` changes neither the site nor
    whether there is one: the id follows the last ``/`` and cannot be part of the
    scheme, the host or ``/rest/``. Any other URL is parsed as it is.
    """
    if issue_url.endswith("/" + issue_id):
        return _site_of_issue_prefix(issue_url[: len(issue_url) - len(issue_id)])
    return site_of_issue_url(issue_url)


@dataclass(frozen=True, slots=True)
class SiteDomain:
    """What the ingress needs to know about a domain: its id and tracking label."""

    id: int
    tracking_label: str


@dataclass(frozen=True, slots=True)
class DomainHook:
    """A domain as its own webhook URL sees it: the site and label a delivery must be about,
    and the secrets it may be signed with (current first; never shown in a repr)."""

    id: int
    site: str | None
    tracking_label: str
    secrets: tuple[str, ...] = field(repr=False)


@dataclass(frozen=True)
class Directory:
    """One snapshot of the domains: grouped by normalised Jira site, and by public id, with
    the directory version (Redis's counter) read before it was loaded."""

    sites: dict[str, tuple[SiteDomain, ...]]
    hooks: dict[str, DomainHook]
    version: str = UNKNOWN_VERSION


async def directory_version(redis: Redis | None) -> str:
    """The counter's current value ("0" before any rotation); unknown without Redis, or
    when it does not answer (queueing then fails with a 503 of its own, or, once Redis is
    back, finds the snapshot stale)."""
    if redis is None:
        return UNKNOWN_VERSION
    try:
        value = await redis.get(DIRECTORY_VERSION_KEY)
    except (RedisError, OSError):
        return UNKNOWN_VERSION
    return value.decode() if isinstance(value, bytes) else str(value or 0)


async def announce_directory_change(redis: Redis) -> None:
    """Call once a change of the webhook secrets is committed: every API process's next
    per-domain delivery then finds its snapshot stale and loads the domains again."""
    await redis.incr(DIRECTORY_VERSION_KEY)


def announce_directory_change_from(settings: Settings) -> str | None:
    """``announce_directory_change`` for a process without an event loop (the CLI); the
    reason when Redis could not be told (the API processes then see the change within
    ``SITE_CACHE_TTL_SECONDS``), else None."""
    try:
        client = redis_client(resolve_redis(settings), timeout=5)
        try:
            client.incr(DIRECTORY_VERSION_KEY)
        finally:
            client.close()
    except (RedisError, RedisUnavailable, OSError) as error:
        return f"Redis: {type(error).__name__}"
    return None


def load_directory(engine: Engine, version: str = UNKNOWN_VERSION) -> Directory:
    """Every domain (active or paused), in one query."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                col(DomainConfig.id),
                col(DomainConfig.jira_base_url),
                col(DomainConfig.tracking_label),
                col(DomainConfig.public_id),
                col(DomainConfig.webhook_secret),
                col(DomainConfig.webhook_secret_previous),
            )
        ).all()
    sites: dict[str, list[SiteDomain]] = defaultdict(list)
    hooks: dict[str, DomainHook] = {}
    for domain_id, base_url, label, public_id, secret, previous in rows:
        if domain_id is None:
            continue
        site = normalise_site_url(base_url)
        if site is not None:
            sites[site].append(SiteDomain(id=domain_id, tracking_label=label))
        secrets = tuple(value for value in (secret, previous) if value)
        hooks[public_id] = DomainHook(domain_id, site, label, secrets)
    grouped = {site: tuple(sorted(found, key=lambda d: d.id)) for site, found in sites.items()}
    return Directory(sites=grouped, hooks=hooks, version=version)


class SiteDirectory:
    """The site -> domains and public id -> domain maps, reloaded at most every ``ttl_seconds``
    (and at once when the directory version says a secret was rotated).

    Lookups are called on the event loop; the reload is a blocking query run in a
    worker thread, serialised by a thread lock so a burst reloads once. ``redis``, when
    given, supplies the directory version the reloaded snapshot is stamped with.
    """

    def __init__(
        self, *, ttl_seconds: float = SITE_CACHE_TTL_SECONDS, clock: Clock = time.monotonic
    ) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._directory = Directory(sites={}, hooks={})
        self._loaded_at = float("-inf")

    def _fresh(self) -> bool:
        return self._clock() < self._loaded_at + self._ttl

    def _reload(self, engine: Engine, max_age: float, version: str) -> None:
        with self._lock:
            if self._clock() < self._loaded_at + max_age:
                return
            self._directory = load_directory(engine, version)
            self._loaded_at = self._clock()

    async def _reload_older(self, engine: Engine, max_age: float, redis: Redis | None) -> None:
        version = await directory_version(redis)  # before the query: never newer than it
        await anyio.to_thread.run_sync(self._reload, engine, max_age, version)

    async def snapshot(self, engine: Engine, redis: Redis | None = None) -> Directory:
        """The current snapshot, reloaded first when older than the TTL."""
        if not self._fresh():
            await self._reload_older(engine, self._ttl, redis)
        return self._directory

    async def lookup(
        self, engine: Engine, site: str, redis: Redis | None = None
    ) -> tuple[SiteDomain, ...]:
        """The domains linked to ``site`` (normalised), oldest first; empty when none."""
        return (await self.snapshot(engine, redis)).sites.get(site, ())

    async def hook(
        self, engine: Engine, public_id: str, redis: Redis | None = None
    ) -> DomainHook | None:
        """The domain whose webhook URL carries ``public_id``, or None."""
        return (await self.snapshot(engine, redis)).hooks.get(public_id)

    async def reload_if_older(
        self, engine: Engine, seconds: float, redis: Redis | None = None
    ) -> bool:
        """Reload unless the snapshot is younger than ``seconds``; True when it reloaded."""
        if self._clock() < self._loaded_at + seconds:
            return False
        await self._reload_older(engine, seconds, redis)
        return True

    def forget(self, version: str | None = None) -> None:
        """Drop the snapshot, so the next lookup loads the domains again; with ``version``,
        only if the snapshot is still the one stamped with it (a burst of deliveries that
        found it stale reloads once)."""
        if version is None or self._directory.version == version:
            self._loaded_at = float("-inf")


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
