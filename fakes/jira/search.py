"""Enhanced JQL search over the fake Jira's (optionally lagging) index.

``/rest/api/3/search/jql`` pages with an opaque ``nextPageToken``, has no
``total``, returns only ids unless fields are asked for, and is eventually
consistent. Clients that loop on repeated tokens, trust ``total`` or expect
read-your-writes break here as they would on a real site.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from fakes.clock import FakeClock
from fakes.jira.errors import JiraError
from fakes.jira.jql import JqlError, JqlRecord, parse_jql
from fakes.jira.model import Issue, Project, User
from fakes.jira.render import select_fields, split_names

if TYPE_CHECKING:
    from fakes.jira.state import JiraSite

__all__ = ["BAD_TOKEN", "UNBOUNDED", "SearchIndex", "SearchPage", "jql_record", "run_search"]

UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
BAD_TOKEN = "The provided next page token is invalid or expired."


@dataclass(frozen=True)
class SearchPage:
    issues: list[dict[str, Any]]
    next_page_token: str | None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"issues": self.issues, "isLast": self.next_page_token is None}
        if self.next_page_token is not None:
            body["nextPageToken"] = self.next_page_token
        return body


def jql_record(issue: Issue, project: Project, users: Mapping[str, User]) -> JqlRecord:
    """The issue as JQL sees it (search and webhook filters alike)."""
    status = issue.status_def
    category = status.category_def
    assignee: tuple[str, ...] = ()
    if issue.assignee and issue.assignee in users:
        assignee = (issue.assignee, users[issue.assignee].email)
    creator: tuple[str, ...] = ()
    if issue.creator and issue.creator in users:
        creator = (issue.creator, users[issue.creator].email)
    itype = project.issue_type(issue.issue_type_id)
    return JqlRecord(
        id=issue.id,
        key=issue.key,
        keys=(issue.key, *issue.old_keys),
        project_key=project.key,
        project_id=project.id,
        project_name=project.name,
        issue_type=itype.name if itype else "",
        status=status.name,
        status_id=status.id,
        category_key=category.key,
        category_name=category.name,
        category_id=category.id,
        created=issue.created,
        updated=issue.updated,
        labels=tuple(issue.labels),
        duedate=None if issue.duedate is None else date.fromisoformat(issue.duedate),
        assignee=assignee,
        creator=creator,
        resolution=issue.resolution,
    )


class SearchIndex:
    """Each issue's recent snapshots, so that search can lag ``lag`` seconds behind.

    Jira's index is eventually consistent: a client that expects a write to show
    up in JQL at once, or a deleted issue to vanish from results, must meet that
    here too.
    """

    def __init__(self, clock: FakeClock, lag: float = 0.0) -> None:
        self.clock = clock
        self.lag = float(lag)
        self.history: dict[int, list[tuple[float, Issue | None]]] = {}
        """Per issue: (timestamp, snapshot or None when deleted), pruned to the lag."""

    def note(self, issue_id: int, issue: Issue | None) -> None:
        """Record a change (``None``: deleted), forgetting what the lag no longer needs."""
        now = self.clock.timestamp()
        history = self.history.setdefault(issue_id, [])
        history.append((now, issue.snapshot() if issue is not None else None))
        cutoff = now - self.lag
        settled = [i for i, (at, _) in enumerate(history) if at <= cutoff]
        if settled and settled[-1] > 0:
            del history[: settled[-1]]
        if len(history) == 1 and history[0][1] is None and history[0][0] <= cutoff:
            del self.history[issue_id]

    def view(self, live: Mapping[int, Issue], reconcile: set[int]) -> list[Issue]:
        """Issues as the index sees them: each one's state ``lag`` seconds ago.

        Ids in ``reconcile`` are read live (Jira's ``reconcileIssues``); an issue
        created within the lag is not visible yet, a deleted one lingers.
        """
        if self.lag <= 0:
            return list(live.values())
        cutoff = self.clock.timestamp() - self.lag
        view: list[Issue] = []
        for issue_id, history in self.history.items():
            if issue_id in reconcile:
                current = live.get(issue_id)
                if current is not None:
                    view.append(current)
                continue
            settled = [snap for at, snap in history if at <= cutoff]
            if settled and settled[-1] is not None:
                view.append(settled[-1])
        return view


def run_search(
    site: JiraSite,
    jql: str | None,
    *,
    next_page_token: str | None,
    max_results: int | None,
    fields: Sequence[str] | None,
    properties: Sequence[str] | None,
    reconcile: set[int],
    version: str,
) -> SearchPage:
    """One page of results; the token encodes the offset and a digest of the JQL."""
    try:
        # The API's caller is the bot account: currentUser() in a search is that user.
        query = parse_jql(jql or "", current_user=site.bot.account_id)
    except JqlError as exc:
        raise JiraError(400, [str(exc)]) from None
    if not query.is_bounded:
        raise JiraError(400, [UNBOUNDED])
    if max_results is not None and max_results < 0:
        raise JiraError(400, ["'maxResults' must not be negative."])
    wanted = max_results if max_results is not None else 50
    limit = min(max(wanted, 1), site.search_max_results)
    digest = hashlib.sha256((jql or "").encode()).hexdigest()[:12]
    offset = 0 if not next_page_token else _decode_token(next_page_token, digest)
    names = select_fields(fields, navigable=site.navigable_fields(), default_all=False)
    props = split_names(properties)
    with site.lock:
        snaps = {i.id: i for i in site.index.view(site.issues, reconcile)}
        records = [site.record(i) for i in snaps.values()]
        hits = query.filter(records, site.clock.now())
        page = hits[offset : offset + limit]
        issues: list[dict[str, Any]] = []
        for rec in page:
            snap = snaps[rec.id]
            if names or props:
                issues.append(
                    site.render(snap, fields=names, version=version, properties=props or None)
                )
            else:
                issues.append({"id": str(snap.id)})
    end = offset + len(page)
    token = _encode_token(end, digest) if end < len(hits) else None
    return SearchPage(issues, token)


def _encode_token(offset: int, digest: str) -> str:
    raw = json.dumps({"o": offset, "q": digest}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, digest: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        offset = data["o"]
        if data["q"] != digest or not isinstance(offset, int) or offset < 0:
            raise ValueError(token)
    except (ValueError, KeyError, TypeError):
        raise JiraError(400, [BAD_TOKEN]) from None
    return offset
