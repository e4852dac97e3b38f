"""Reading many Jira issues by id in one request (``POST /rest/api/3/issue/bulkfetch``).

The reconciler reads every tracked issue on a schedule; one request per 100 issues
is what makes that affordable. Jira leaves an issue that is gone or invisible out
of ``issues`` without an error, and lists in ``issueErrors`` the ones it could not
return this time: the caller must tell those two apart (absent: deleted; error:
ask again later), so both come back typed. The request is a read, so the client's
retries and rate-limit handling apply as to any GET.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from gateway.clients.models import JiraIssue
from gateway.clients.transport import Transport

BULK_FETCH_PATH = "/rest/api/3/issue/bulkfetch"
MAX_BULK_FETCH = 100


class BulkIssueError(BaseModel):
    """An issue Jira could not return this time (not a deletion: read it again later)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)

    id: str | None = None
    error_message: str | None = Field(default=None, alias="errorMessage")


class BulkFetchResult(BaseModel):
    """What one bulkfetch answered: the issues it returned and the ids it could not."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    issues: list[JiraIssue] = Field(default_factory=list)
    issue_errors: list[BulkIssueError] = Field(default_factory=list, alias="issueErrors")

    @property
    def error_ids(self) -> set[str]:
        return {error.id for error in self.issue_errors if error.id}


class JiraBulkReads:
    """The bulk read of ``JiraClient``, kept apart so the client module stays small."""

    _transport: Transport

    async def bulk_fetch(
        self,
        ids: Sequence[str],
        fields: Sequence[str],
        *,
        properties: Sequence[str] | None = None,
    ) -> BulkFetchResult:
        """Up to 100 issues by id or key, with only ``fields``; absent ones were deleted
        or are not visible, ``issue_errors`` ones could not be read now."""
        if not ids:
            return BulkFetchResult()
        if len(ids) > MAX_BULK_FETCH:
            raise ValueError(f"bulkfetch reads at most {MAX_BULK_FETCH} issues per request")
        body: dict[str, object] = {"issueIdsOrKeys": [str(i) for i in ids], "fields": list(fields)}
        if properties:
            body["properties"] = list(properties)
        response = await self._transport.request(
            "POST", BULK_FETCH_PATH, idempotent=True, json_body=body
        )
        return self._transport.parse(
            BulkFetchResult, self._transport.json(response), response, "bulkfetch"
        )
