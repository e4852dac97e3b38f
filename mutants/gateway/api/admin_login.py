"""Sign-in and sign-out pages."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from gateway.accounts import authenticate
from gateway.api.admin_auth import (
    LOGIN_PATH,
    Principal,
    page_writer,
    read_session,
    safe_next,
    session_codec,
)
from gateway.api.csrf import verify_csrf
from gateway.api.sessions import SessionData, revoke_session
from gateway.api.templating import render
from gateway.api.throttle import LoginThrottle
from gateway.db import session_scope

log = logging.getLogger("gateway.admin")
router = APIRouter(include_in_schema=False)


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get(LOGIN_PATH)
async def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form; its CSRF token lives in a pre-login session cookie."""
    session = await read_session(request)
    if session is not None and session.user_id is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    if session is None:
        session = SessionData.fresh()
    response = render(
        request,
        "login.html",
        {"csrf_token": session.csrf, "next": safe_next(next), "error": None, "username": ""},
    )
    session_codec(request).write(request, response, session)
    return response


@router.post(LOGIN_PATH)
async def login(request: Request) -> Response:
    session = await verify_csrf(request, await read_session(request))
    form = await request.form()
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    next_path = safe_next(str(form.get("next") or ""))
    address = _client_address(request)
    throttle = LoginThrottle(request.app.state.redis)

    def again(error: str, status_code: int) -> Response:
        return render(
            request,
            "login.html",
            {"csrf_token": session.csrf, "next": next_path, "error": error, "username": username},
            status_code=status_code,
        )

    limited = await throttle.check(username, address)
    if limited is not None:
        log.warning("admin sign-in throttled", extra={"client": address})
        response = again(limited.message, 429)
        response.headers["Retry-After"] = str(limited.retry_after)
        return response
    with session_scope(request.app.state.engine) as db:
        user = authenticate(db, username, password)
        user_id = user.id if user else None
    if user_id is None:
        await throttle.record_failure(username, address)
        log.warning("admin sign-in failed", extra={"client": address})
        return again("Invalid username or password.", 401)
    await throttle.record_success(username, address)
    response = RedirectResponse(next_path, status_code=303)
    # A new id and CSRF token at sign-in, so a cookie planted before login is worthless.
    session_codec(request).write(request, response, SessionData.fresh(user_id))
    log.info("admin signed in", extra={"client": address})
    return response


@router.post("/logout")
async def logout(request: Request, principal: Principal = Depends(page_writer)) -> Response:
    codec = session_codec(request)
    if principal.session is not None:
        await revoke_session(request.app.state.redis, principal.session, codec.max_age_seconds)
    response = RedirectResponse(f"{LOGIN_PATH}?notice=signed-out", status_code=303)
    codec.clear(request, response)
    return response
