"""Sign-in and sign-out pages.

Sign-in verifies the password with argon2 (about 150 ms of CPU by design) through
``gateway.admin.offload``, so a burst of guesses never stalls the event loop that
also serves webhook ingress.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from gateway.admin.accounts import authenticate
from gateway.admin.offload import run_in_thread
from gateway.api.admin.csrf import verify_csrf
from gateway.api.admin.deps import (
    EngineDep,
    PagePoster,
    RedisDep,
    get_session_codec,
    read_session,
    session_principal,
)
from gateway.api.admin.sessions import SessionData, revoke_session
from gateway.api.admin.templating import render
from gateway.api.admin.throttle import LoginThrottle

log = logging.getLogger("gateway.admin")
router = APIRouter(include_in_schema=False)

LOGIN_PATH = "/login"


def login_url(next_path: str | None = None) -> str:
    """Where an anonymous visitor is sent, remembering the page they wanted."""
    if not next_path or next_path == "/admin":
        return LOGIN_PATH
    return f"{LOGIN_PATH}?next={quote(next_path, safe='')}"


def safe_next(value: str | None) -> str:
    """Only same-site paths: an open redirect after login would help phishing."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/admin"
    return value


def _client_address(request: Request) -> str:
    """The peer uvicorn reports: the socket's, or X-Forwarded-For's when it came from a
    proxy listed in GATEWAY_FORWARDED_ALLOW_IPS."""
    return request.client.host if request.client else "unknown"


@router.get(LOGIN_PATH)
async def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form; its CSRF token lives in a pre-login session cookie."""
    session = await read_session(request)
    if session is not None and session.owner is not None:
        if await session_principal(request) is not None:
            return RedirectResponse(safe_next(next), status_code=303)
        session = None  # an ended session (account gone, sessions ended): start afresh
    if session is None:
        session = SessionData.fresh()
    response = render(
        request,
        "login.html",
        {"csrf_token": session.csrf, "next": safe_next(next), "error": None, "username": ""},
    )
    get_session_codec(request).write(request, response, session)
    return response


@router.post(LOGIN_PATH)
async def login(request: Request, engine: EngineDep, redis: RedisDep) -> Response:
    """Check the password (throttled per account and address, slowed per username; see
    ``throttle``) and start a session."""
    session = await verify_csrf(request, await read_session(request))
    form = await request.form()
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    next_path = safe_next(str(form.get("next") or ""))
    address = _client_address(request)
    throttle = LoginThrottle(redis)

    def again(error: str, status_code: int) -> Response:
        return render(
            request,
            "login.html",
            {"csrf_token": session.csrf, "next": next_path, "error": error, "username": username},
            status_code=status_code,
        )

    attempt = await throttle.attempt(username, address)
    if attempt.throttled is not None:
        log.warning("admin sign-in throttled", extra={"client": address})
        response = again(attempt.throttled.message, 429)
        response.headers["Retry-After"] = str(attempt.throttled.retry_after)
        return response
    if attempt.delay_seconds:
        # Many attempts on this username from elsewhere: slow down, never lock out.
        await asyncio.sleep(attempt.delay_seconds)
    owner = await run_in_thread(authenticate, engine, username, password)
    if owner is None:
        log.warning("admin sign-in failed", extra={"client": address})
        return again("Invalid username or password.", 401)
    await throttle.record_success(username, address)
    response = RedirectResponse(next_path, status_code=303)
    # A new id and CSRF token at sign-in, so a cookie planted before login is worthless.
    get_session_codec(request).write(request, response, SessionData.fresh(owner))
    log.info("admin signed in", extra={"client": address})
    return response


@router.post("/logout")
async def logout(request: Request, principal: PagePoster, redis: RedisDep) -> Response:
    """End the session here and everywhere its cookie was copied to."""
    codec = get_session_codec(request)
    if principal.session is not None:
        await revoke_session(redis, principal.session, codec.max_age_seconds)
    response = RedirectResponse(f"{LOGIN_PATH}?notice=signed-out", status_code=303)
    codec.clear(request, response)
    return response
