"""Wires the admin surface (UI, JSON API, docs, static files) into the API app."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.admin.accounts import AccountError, ensure_bootstrap_admin
from gateway.admin.catalog import JiraCatalog
from gateway.admin.errors import Conflict, CredentialRequired, NotFound, RuleInvalid
from gateway.admin.offload import run_in_thread
from gateway.admin.rule_checks import RuleChecks
from gateway.api.admin import (
    jira_pages,
    json_api,
    log_pages,
    login,
    pages,
    rule_pages,
    status_pages,
    webhook_secret_routes,
)
from gateway.api.admin.deps import LoginRequired
from gateway.api.admin.sessions import SessionCodec, load_or_create_secret_key
from gateway.api.admin.sso_routes import install_sso
from gateway.api.admin.templating import is_htmx, render
from gateway.settings import Settings

log = logging.getLogger("gateway.admin")
STATIC_DIR = Path(__file__).parent.parent / "static"

SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'; object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class SecurityHeaders:
    """Adds the headers above to every response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self._headers if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(json_api.PREFIX)


def _error(request: Request, status_code: int, title: str, message: str) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status_code)
    return render(
        request, "error.html", {"title": title, "message": message}, status_code=status_code
    )


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    target = login.login_url(exc.next_path)
    if is_htmx(request):
        # htmx would swap a redirect's login page into a fragment; navigate instead.
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, "Not found", str(exc))


async def _conflict(request: Request, exc: Exception) -> Response:
    return _error(request, 409, "Conflict", str(exc))


async def _credential_required(request: Request, exc: Exception) -> Response:
    return _error(request, 422, "Credential required", str(exc))


async def _rule_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RuleInvalid)
    detail = [{"loc": ["body"], "msg": p, "type": "rule_invalid"} for p in exc.problems]
    return JSONResponse({"detail": detail}, status_code=422)


async def _validation(request: Request, exc: Exception) -> Response:
    """Admin API 422s without the submitted values, which may include credentials."""
    assert isinstance(exc, RequestValidationError)
    if not _is_api(request):
        return await request_validation_exception_handler(request, exc)
    detail: list[dict[str, Any]] = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)


def install_admin(app: FastAPI, settings: Settings) -> None:
    """Add the admin routes, handlers and headers, and the bootstrap-admin start-up step."""
    secret_key = load_or_create_secret_key(settings)
    app.state.session_codec = SessionCodec(secret_key)
    install_sso(app, settings, secret_key)
    app.state.jira_catalog = JiraCatalog(settings)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (login, pages, rule_pages, jira_pages, log_pages, status_pages):
        app.include_router(module.router)
    app.include_router(json_api.router)
    app.include_router(webhook_secret_routes.page_router)
    app.include_router(webhook_secret_routes.api_router)
    app.include_router(json_api.docs_router)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Conflict, _conflict)
    app.add_exception_handler(CredentialRequired, _credential_required)
    app.add_exception_handler(RuleInvalid, _rule_invalid)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_middleware(SecurityHeaders)

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncGenerator[Any]:
        async with inner(app_) as state:
            try:
                # argon2 and the database, off the loop like every admin call.
                await run_in_thread(ensure_bootstrap_admin, app_.state.engine, settings)
            except AccountError as error:
                log.error("bootstrap admin not created: %s", error)
            app_.state.rule_checks = RuleChecks(app_.state.engine, settings)
            try:
                yield state
            finally:
                await app_.state.rule_checks.aclose()

    app.router.lifespan_context = lifespan
