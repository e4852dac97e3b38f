"""Editing a Jira issue (``PUT /rest/api/3/issue/{id}``), kept apart so the client
module stays small.

An edit by id reaches an issue wherever it moved, but a move changes its key, and
the caller's record of the key goes stale. ``returnIssue=true`` makes Jira answer
the edit with the issue (its id, its current key and the fields edited), so the
caller learns the key from the write itself, without another read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from gateway.clients.models import JiraIssue
from gateway.clients.transport import Transport

EDIT_PATH = "/rest/api/3/issue/{issue}"


class JiraEdits:
    """The issue edits of ``JiraClient``."""

    _transport: Transport

    async def edit_issue(
        self,
        id_or_key: str,
        fields: dict[str, Any],
        *,
        update: dict[str, Any] | None = None,
    ) -> None:
        """Set fields (a PUT of absolute values, so safe to retry)."""
        await self._put(id_or_key, fields, update, return_issue=False)

    async def edit_and_read(self, id_or_key: str, fields: dict[str, Any]) -> JiraIssue:
        """Set fields as ``edit_issue`` does, and answer the issue as Jira holds it now
        (its current key: an issue moved to another project has a new one)."""
        response = await self._put(id_or_key, fields, None, return_issue=True)
        return self._transport.parse(
            JiraIssue, self._transport.json(response), response, "edited issue"
        )

    async def _put(
        self,
        id_or_key: str,
        fields: dict[str, Any],
        update: dict[str, Any] | None,
        *,
        return_issue: bool,
    ) -> httpx.Response:
        body: dict[str, Any] = {"fields": fields}
        if update:
            body["update"] = update
        path = EDIT_PATH.format(issue=quote(str(id_or_key), safe=""))
        params = {"returnIssue": "true"} if return_issue else None
        return await self._transport.request(
            "PUT", path, idempotent=True, json_body=body, params=params
        )
