"""PeopleForce's error answers: its own JSON shape, and Rails' static HTML 404 page.

A client that assumes every error body is JSON, or that reads FastAPI's
``detail``, must fail here the way it would against the real service.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse, Response

__all__ = ["NOT_FOUND_HTML", "PeopleForceError", "error_body"]

NOT_FOUND_HTML = (
    "<!DOCTYPE html>\n<html>\n<head>\n  <title>The page you were looking for doesn't exist"
    ' (404)</title>\n</head>\n<body>\n  <div class="dialog">\n    <h1>The page you were'
    " looking for doesn't exist.</h1>\n    <p>You may have mistyped the address or the page"
    " may have moved.</p>\n  </div>\n</body>\n</html>\n"
)


def error_body(*messages: str) -> dict[str, Any]:
    """The ``{"success": false, "errors": [{"message": ...}]}`` body of a 400 or 422."""
    return {"success": False, "errors": [{"message": m} for m in messages]}


class PeopleForceError(Exception):
    """An answer in PeopleForce's own error shape (never FastAPI's ``detail``)."""

    def __init__(
        self,
        status: int,
        body: dict[str, Any] | str | None = None,
        headers: dict[str, str] | None = None,
        fault: str | None = None,
    ) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.fault = fault

    def response(self) -> Response:
        if isinstance(self.body, dict):
            return JSONResponse(self.body, self.status, headers=self.headers)
        if isinstance(self.body, str):
            return Response(self.body, self.status, self.headers, media_type="text/html")
        return Response(b"", self.status, self.headers)
