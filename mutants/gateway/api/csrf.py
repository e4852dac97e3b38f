"""CSRF protection for cookie-authenticated requests.

Each session carries a random token; forms send it as ``csrf_token`` and htmx
sends it as the ``X-CSRF-Token`` header (set once on <body> with hx-headers).
Bearer-token API calls carry no cookie, so they need no CSRF token.
"""

from __future__ import annotations

import secrets

from fastapi import HTTPException, Request, status

from gateway.api.sessions import SessionData

HEADER_NAME = "X-CSRF-Token"
FORM_FIELD = "csrf_token"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def submitted_token(request: Request) -> str | None:
    """The token from the header, or from the form body (cached by Starlette for later use)."""
    header = request.headers.get(HEADER_NAME)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPES):
        value = (await request.form()).get(FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


async def verify_csrf(request: Request, session: SessionData | None) -> SessionData:
    """The session, or 403 unless the request carries this session's token."""
    token = await submitted_token(request)
    if session is None or not token or not secrets.compare_digest(token, session.csrf):
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="CSRF token missing or invalid; reload the page and try again.",
        )
    return session
