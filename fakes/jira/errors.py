"""Jira's error answers: ``{"errorMessages": [...], "errors": {...}}`` with the HTTP status.

The gateway dead-letters a 400 with the upstream's messages and treats a 404
on a mapped issue as a deletion, so every layer of the fake (field checks, the
state, the REST routes, injected faults) answers in this one shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

__all__ = ["NOT_FOUND", "REMOVED_SEARCH", "JiraError", "error_body_for_status"]

NOT_FOUND = "Issue does not exist or you do not have permission to see it."
REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at "
    "https://developer.atlassian.com/changelog/#CHANGE-2046"
)


class JiraError(Exception):
    """An answer Jira gives as ``{"errorMessages": [...], "errors": {...}}``."""

    def __init__(
        self,
        status: int,
        messages: Sequence[str] = (),
        errors: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status}: {list(messages)} {errors or {}}")
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})

    def body(self) -> dict[str, Any]:
        return {"errorMessages": self.messages, "errors": self.errors}


def error_body_for_status(status: int) -> dict[str, Any]:
    """The body of an injected JSON error: the status phrase as the one message."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"errorMessages": [phrase], "errors": {}}
