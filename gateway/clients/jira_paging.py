"""Jira's two paging styles, and when to stop following them.

Search pages by token (``POST /rest/api/3/search/jql``) and metadata pages by
``startAt``/``maxResults``; both have failure modes seen in the wild (a missing or
repeated token, an empty page without ``isLast``, listings without totals), so the
decision to stop is a pure function the client and its tests share.
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.clients.models import SearchPage, StopReason
from gateway.clients.transport import Transport, protocol_error

log = logging.getLogger("gateway.clients")

META_PAGE_SIZE = 50
META_MAX_PAGES = 20


def search_stop_reason(
    page: SearchPage, token: str | None, seen: set[str], page_number: int, max_pages: int
) -> StopReason | None:
    """Why paging ends after ``page``, or None to follow its next token."""
    next_token = page.next_page_token
    if page.is_last:
        return StopReason.LAST_PAGE
    if not page.issues:
        return StopReason.EMPTY_PAGE
    if not next_token:
        return StopReason.MISSING_TOKEN
    if next_token in seen or next_token == token:
        return StopReason.REPEATED_TOKEN
    if page_number >= max_pages:
        return StopReason.CAP
    return None


def log_search_stop(page_number: int, reason: StopReason, is_last: bool | None) -> None:
    """Log why paging stopped; a missing token is the normal end when isLast is absent."""
    # A missing token is the normal end when isLast is absent; otherwise it is a warning.
    normal = reason in (StopReason.LAST_PAGE, StopReason.EMPTY_PAGE) or (
        reason is StopReason.MISSING_TOKEN and is_last is None
    )
    log.log(
        logging.DEBUG if normal else logging.WARNING,
        "jira search: stopped after page %d (%s)",
        page_number,
        reason.value,
        extra={"service": "jira", "stop_reason": reason.value},
    )


async def offset_pages(
    transport: Transport, path: str, keys: tuple[str, ...], what: str
) -> list[dict[str, Any]]:
    """Collect a ``startAt``/``maxResults`` listing (also accepts a bare JSON list)."""
    items: list[dict[str, Any]] = []
    start = 0
    for _ in range(META_MAX_PAGES):
        params = {"startAt": start, "maxResults": META_PAGE_SIZE}
        response = await transport.request("GET", path, idempotent=True, params=params)
        body = transport.json(response)
        if isinstance(body, list):
            page = body
            total = is_last = None
        elif isinstance(body, dict):
            found = next((body[k] for k in keys if isinstance(body.get(k), list)), None)
            if found is None:
                raise protocol_error("jira", response, f"{what}: no {'/'.join(keys)} list")
            page = found
            total, is_last = body.get("total"), body.get("isLast")
        else:
            raise protocol_error("jira", response, f"{what}: unexpected body")
        if not all(isinstance(item, dict) for item in page):
            raise protocol_error("jira", response, f"{what}: an item is not an object")
        items.extend(page)
        start += len(page)
        if isinstance(body, list) or not page or is_last is True:
            return items
        if isinstance(total, int) and start >= total:
            return items
        if total is None and is_last is None and len(page) < META_PAGE_SIZE:
            return items
    log.warning("jira %s: stopped at the cap of %d pages", what, META_MAX_PAGES)
    return items
