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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fakes.jira_fields import JiraError
from fakes.jira_model import Issue
from fakes.jira_render import select_fields
from fakes.jql import JqlError, parse_jql

if TYPE_CHECKING:
    from fakes.jira_state import JiraSite

__all__ = ["BAD_TOKEN", "UNBOUNDED", "SearchPage", "run_search", "search_view"]

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


def search_view(site: JiraSite, reconcile: set[int]) -> list[Issue]:
    """Issues as the index sees them: each one's state ``index_lag`` seconds ago.

    Ids in ``reconcile`` are read live (Jira's ``reconcileIssues``); an issue
    created within the lag is not visible yet, a deleted one lingers.
    """
    if site.index_lag <= 0:
        return list(site.issues.values())
    cutoff = site.clock.timestamp() - site.index_lag
    view: list[Issue] = []
    for issue_id, history in site.history.items():
        if issue_id in reconcile:
            live = site.issues.get(issue_id)
            if live is not None:
                view.append(live)
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
        query = parse_jql(jql or "")
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
    props = [p.strip() for item in properties or [] for p in item.split(",") if p.strip()]
    with site.lock:
        snaps = {i.id: i for i in search_view(site, reconcile)}
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
