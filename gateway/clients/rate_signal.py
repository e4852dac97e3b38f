"""What a site's answers say about its rate limits, and the rate window's constants.

Split from ``gateway.clients.rate_window`` (which re-exports these names): reading
headers and validating the tuning are plain data, the window is the behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from gateway.clients.errors import MAX_RETRY_AFTER_SECONDS, parse_retry_after

REFUSALS = frozenset({429, 503})
PER_ISSUE_REASON = "jira-per-issue-on-write"


@dataclass(frozen=True)
class Signal:
    """What one answer says about the site's budget; every field is optional on the wire."""

    status: int
    limit: int | None = None
    remaining: int | None = None
    retry_after: float | None = None
    near_limit: bool = False
    beta_retry_after: bool = False
    reason: str | None = None

    @property
    def per_issue(self) -> bool:
        """The limit of one issue's writes, not the site's budget."""
        return self.reason == PER_ISSUE_REASON

    @property
    def refused(self) -> bool:
        """A 429, or a 503 that names a ``Retry-After`` (Jira sheds load that way too)."""
        return self.status == 429 or (self.status in REFUSALS and self.retry_after is not None)


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def read_signal(response: httpx.Response) -> Signal:
    """The budget headers of one answer; a malformed header counts as absent."""
    headers = response.headers
    return Signal(
        status=response.status_code,
        limit=_header_int(headers, "X-RateLimit-Limit"),
        remaining=_header_int(headers, "X-RateLimit-Remaining"),
        retry_after=parse_retry_after(headers.get("Retry-After")),
        near_limit=headers.get("X-RateLimit-NearLimit", "").strip().lower() == "true",
        beta_retry_after="Beta-Retry-After" in headers,
        reason=headers.get("RateLimit-Reason"),
    )


def limit_kind(method: str) -> str:
    """Jira counts GET/POST and PUT/DELETE against separate burst limits."""
    return "write" if method.upper() in ("PUT", "DELETE", "PATCH") else "read"


@dataclass(frozen=True)
class Tuning:
    """The window's constants; the defaults suit Jira Cloud's per-second burst limits."""

    floor: int = 1
    initial: int = 4
    """The old fixed default: a new site starts where every domain used to stay."""
    hold_fraction: float = 0.1
    """Stop growing while fewer than this share of the limit is left (unpaced requests)."""
    shrink_fraction: float = 0.02
    """Shrink by ``near_factor`` while fewer than this share is left (unpaced requests)."""
    near_factor: float = 0.8
    refused_factor: float = 0.5
    pace_fraction: float = 0.985
    """Space departures to this share of a stated per-second limit (0: do not pace).
    The rest absorbs the jitter between leaving here and being counted there."""
    pace_backoff: float = 0.9
    """A refusal despite the pace slows the pace by this factor (down to half): mostly it
    is jitter (the site counted a stalled bunch of arrivals at once), so the cut is
    small and soon won back; a site whose budget someone else spends keeps refusing
    and the cuts, one per round trip, reach half the pace within a few round trips ..."""
    pace_recovery: float = 0.002
    """... and each success wins this much of it back (a tenth in 50 successes, half a
    second at Jira's 100 per second)."""
    headroom: float = 1.5
    """A paced window holds this many times rate x round trip (Little's law), so the
    window never throttles below the pace when the round trip wobbles."""
    max_pause: float = MAX_RETRY_AFTER_SECONDS

    def __post_init__(self) -> None:
        if self.floor < 1 or self.initial < 1:
            raise ValueError("floor and initial window must be at least 1")
        if not 0 <= self.shrink_fraction <= self.hold_fraction < 1:
            raise ValueError("need 0 <= shrink_fraction <= hold_fraction < 1")
        factors = (self.near_factor, self.refused_factor, self.pace_backoff)
        if not all(0 < factor < 1 for factor in factors):
            raise ValueError("decrease factors must lie strictly between 0 and 1")
        if not 0 <= self.pace_fraction <= 1:
            raise ValueError("pace_fraction must lie between 0 and 1")
        if self.headroom < 1:
            raise ValueError("headroom must be at least 1")
