"""Who is calling: session cookies for people, bearer tokens for scripts.

Pages redirect an anonymous visitor to /login; the JSON API answers 401. Every
mutating request made with a session cookie must also pass the CSRF check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from gateway.accounts import resolve_api_token
from gateway.admin_actions import RuleChecks
from gateway.admin_catalog import JiraCatalog
from gateway.api.csrf import verify_csrf
from gateway.api.sessions import SessionCodec, SessionData, is_session_revoked
from gateway.auth_models import AdminUser
from gateway.db import session_scope

LOGIN_PATH = "/login"
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token from `gateway admin create-token NAME` (starts with gw_).",
)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller; ``session`` is set for cookie logins only."""

    kind: Literal["session", "token"]
    name: str
    session: SessionData | None = None


class LoginRequired(Exception):
    """Raised by page dependencies; the handler redirects to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def request_engine(request: Request) -> Engine:
    """The database engine opened by the app's lifespan."""
    return request.app.state.engine


def request_rule_checks(request: Request) -> RuleChecks:
    """The background rule checks of this API process (see ``install_admin``)."""
    return request.app.state.rule_checks


def request_catalog(request: Request) -> JiraCatalog:
    """The cached Jira projects and issue types for the rule editor's pickers."""
    return request.app.state.jira_catalog


def session_codec(request: Request) -> SessionCodec:
    return request.app.state.session_codec


async def read_session(request: Request) -> SessionData | None:
    """The verified, unrevoked session cookie, or None."""
    session = session_codec(request).read(request)
    if session is None:
        return None
    if await is_session_revoked(request.app.state.redis, session):
        return None
    return session


async def _session_user(request: Request) -> tuple[str, SessionData] | None:
    session = await read_session(request)
    if session is None or session.user_id is None:
        return None
    with Session(request.app.state.engine) as db:
        user = db.get(AdminUser, session.user_id)
        if user is None:
            return None
        return user.username, session


async def api_principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
) -> Principal:
    """A valid bearer token or a signed-in session; otherwise 401."""
    if credentials is not None:
        with session_scope(request.app.state.engine) as db:
            token = resolve_api_token(db, credentials.credentials)
            if token is not None:
                return Principal(kind="token", name=token.name)
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="invalid or revoked API token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = await _session_user(request)
    if found is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="authentication required: send Authorization: Bearer <token> or sign in",
            headers={"WWW-Authenticate": "Bearer"},
        )
    username, session = found
    return Principal(kind="session", name=username, session=session)


async def api_writer(request: Request, principal: Principal = Depends(api_principal)) -> Principal:
    """As api_principal; a cookie session must also send the X-CSRF-Token header."""
    if principal.kind == "session":
        await verify_csrf(request, principal.session)
    return principal


def _next_path(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


async def page_user(request: Request) -> Principal:
    """A signed-in admin, or LoginRequired (redirect to the login page)."""
    found = await _session_user(request)
    if found is None:
        raise LoginRequired(_next_path(request) if request.method == "GET" else "/admin")
    username, session = found
    return Principal(kind="session", name=username, session=session)


async def page_writer(request: Request, principal: Principal = Depends(page_user)) -> Principal:
    """A signed-in admin whose form or htmx request carries the CSRF token."""
    await verify_csrf(request, principal.session)
    return principal


def login_url(next_path: str | None = None) -> str:
    if not next_path or next_path == "/admin":
        return LOGIN_PATH
    return f"{LOGIN_PATH}?next={quote(next_path, safe='')}"


def safe_next(value: str | None) -> str:
    """Only same-site paths: an open redirect after login would help phishing."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/admin"
    return value
