"""Orphan recovery: finding the issue a lost create made, instead of making a second one.

Jira has no idempotency key. A tick records its intent (``pending_create``) before
each create, so a create whose answer was lost - a crash, a timeout, a 502 after the
work was done - leaves a pending row behind. Before anything retries it, one search per
tick (labelled, or created by the gateway's own account: a person may have removed the
label) looks for issues whose lineage property names the task, the property coming
with the search's own pages (one read per candidate made the search slow); one found
is adopted, and only a search that covered the task may conclude "never created".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import aclosing
from datetime import timedelta
from typing import TYPE_CHECKING

from gateway.clients.errors import UpstreamError
from gateway.clients.jira import JiraClient
from gateway.clients.models import JiraIssue
from gateway.clock import as_utc, utcnow
from gateway.models import DomainConfig, EventType, SyncState, SyncStatus
from gateway.sync.ledger import StateSummary
from gateway.sync.lineage import lineage_matches, orphan_jql

if TYPE_CHECKING:
    from gateway.sync.tick_context import TickContext

log = logging.getLogger("gateway.sync.orphans")

ORPHAN_WINDOW_MARGIN = timedelta(minutes=10)

# Told (pages read, tasks found so far) after each page of a lineage search.
PageProgress = Callable[[int, int], None]


class OrphanSearch:
    """The orphans of one tick: which pending creates were searched for, and what was found."""

    def __init__(
        self,
        jira: JiraClient,
        domain: DomainConfig,
        *,
        grace: timedelta,
        on_error: Callable[[str], None],
    ) -> None:
        self.jira = jira
        self.domain = domain
        self.grace = grace
        self.on_error = on_error
        self.found: dict[int, JiraIssue] = {}
        self.searched: set[int] = set()

    def covers(self, pf_task_id: int) -> bool:
        """Whether "no orphan found" may be read as "the create never happened"."""
        return pf_task_id in self.searched

    def orphan_of(self, pf_task_id: int) -> JiraIssue | None:
        """The issue a lost create made for this task, if the search found one."""
        return self.found.get(pf_task_id)

    async def search(self, states: Sequence[SyncState | StateSummary]) -> None:
        """One search covering every stale pending create among ``states``.

        A create younger than the grace period (Jira's search is eventually consistent)
        or a failed search leaves its task uncovered, for a later tick, never to a
        second create.
        """
        now = utcnow()
        pending = [
            s
            for s in states
            if s.status == SyncStatus.PENDING_CREATE
            and s.intent_at is not None
            and as_utc(s.intent_at) + self.grace <= now
            and s.pf_task_id not in self.searched
        ]
        if not pending:
            return
        oldest = min(as_utc(s.intent_at or now) for s in pending)
        minutes = int((now - oldest + ORPHAN_WINDOW_MARGIN).total_seconds() // 60) + 1
        jql = orphan_jql(self.domain, minutes)
        wanted = {s.pf_task_id for s in pending}
        try:
            found = await self._lineage_hits(jql, wanted)
        except UpstreamError as error:
            self.on_error(f"orphan search failed: {error}")
            log.warning("domain %s: orphan search failed: %s", self.domain.name, error)
            return
        self.found.update(found)
        self.searched.update(wanted)

    async def _lineage_hits(self, jql: str, wanted: set[int]) -> dict[int, JiraIssue]:
        return await issues_by_lineage(self.jira, self.domain, jql, wanted)


async def issues_by_lineage(
    jira: JiraClient,
    domain: DomainConfig,
    jql: str,
    wanted: set[int] | None = None,
    on_page: PageProgress | None = None,
) -> dict[int, JiraIssue]:
    """Task id -> the first issue ``jql`` finds whose lineage property names that task of
    ``domain`` (only the ``wanted`` tasks, when given). The orphan search and the
    restore's search for issues made after a backup both read Jira this way.

    The search itself returns each hit's lineage property (the ``properties`` parameter
    of the enhanced search), so the cost is the search pages alone: the candidates
    include every issue the gateway's account made, other domains' too, and one
    property read per candidate made a search over a busy site take minutes.
    ``on_page`` hears (pages read, tasks found) after each page.
    """
    found: dict[int, JiraIssue] = {}
    pages = 0
    key = domain.property_key
    search = jira.iter_search_pages(jql, fields=["labels", "created"], properties=[key])
    async with aclosing(search):
        async for page in search:
            pages += 1
            for issue in page.issues:
                task_id = lineage_matches(issue.properties.get(key), domain)
                if task_id is None or task_id in found:
                    continue
                if wanted is None or task_id in wanted:
                    found[task_id] = issue
            if on_page is not None:
                on_page(pages, len(found))
    return found


async def adopt_orphan(tick: TickContext, state: SyncState, orphan: JiraIssue) -> SyncState:
    """Map the task to the issue its lost create made."""
    # Unknown what the orphan holds: no hash, no fields, so an update sends all.
    tick.report.adopted += 1
    return await tick.mark_synced(
        state,
        orphan,
        digest=None,
        fields=None,
        event_type=EventType.ADOPTED,
        reason="found the issue a lost create made (label or creator + property)",
    )
