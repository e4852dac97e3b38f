"""Shared dependencies of the admin routes: app resources, the database session, the
objects a path names, and who is calling.

How admin routes stay off the event loop. The loop that runs these routes also
answers Jira's webhook deliveries, so no admin route may run SQLAlchemy or argon2
on it. We use two shapes that end in one thread pool:

* A route whose work is only the database is a plain ``def`` taking ``SessionDep``.
  FastAPI runs it, and the session's set-up and commit, in its thread pool; nothing
  else is needed, which is why this is the default shape.
* A route that awaits Redis, PeopleForce or Jira (or schedules a background check)
  stays ``async def`` and sends its database work through the one database seam,
  ``gateway.db.in_session`` (the engine's bounded thread pool, shared with the
  worker's ledger). Such routes take ``DomainSnapshotDep`` rather than ``DomainDep``,
  so no database connection is held while they wait on the network.

argon2 at sign-in runs in anyio's threads (``gateway.admin.offload``), the bounded
pool FastAPI also runs plain ``def`` routes in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar

from arq.connections import ArqRedis
from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.datastructures import FormData

from gateway.admin import accounts
from gateway.admin.catalog import JiraCatalog
from gateway.admin.change_log import set_actor
from gateway.admin.dead_letters import get_dead_letter
from gateway.admin.domains import DOMAIN_REF_HELP, find_domain
from gateway.admin.rule_checks import RuleChecks
from gateway.admin.rules import get_rule
from gateway.api.admin.csrf import verify_csrf
from gateway.api.admin.sessions import SessionCodec, SessionData, is_session_revoked
from gateway.db import in_session, session_scope
from gateway.models import DeadLetter, DomainConfig, Role, RoutingRule
from gateway.runtime.unavailable import first_line
from gateway.settings import Settings
from gateway.sso.policy import sso_access

log = logging.getLogger("gateway.api.admin")

# --- resources the app's lifespan opened -------------------------------------------------

T = TypeVar("T")


def _app_state(name: str, kind: type[T]) -> Callable[[Request], T]:
    """A dependency returning ``app.state.<name>``, set by the app's lifespan or factory;
    ``kind`` is what the attribute holds, for the type checker."""

    def get(request: Request) -> T:
        return getattr(request.app.state, name)

    return get


get_engine = _app_state("engine", Engine)  # the database engine
get_settings = _app_state("settings", Settings)  # what the app was built with
get_redis = _app_state("redis", ArqRedis)  # the pool for ARQ enqueues, sessions, throttling
# The background rule checks of this API process (see ``install_admin``).
get_rule_checks = _app_state("rule_checks", RuleChecks)
# The cached Jira projects and issue types for the rule editor's pickers.
get_catalog = _app_state("jira_catalog", JiraCatalog)
get_session_codec = _app_state("session_codec", SessionCodec)  # the signed session cookie


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[ArqRedis, Depends(get_redis)]
RuleChecksDep = Annotated[RuleChecks, Depends(get_rule_checks)]
CatalogDep = Annotated[JiraCatalog, Depends(get_catalog)]

# --- the database session of a plain ``def`` route ----------------------------------------


def get_db(engine: EngineDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back if it
    raises. Function scope commits before the response is sent, so a client that reads
    right after a write sees it."""
    with session_scope(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db, scope="function")]
DomainRef = Annotated[str, Path(description=DOMAIN_REF_HELP)]


def get_path_domain(domain: DomainRef, db: SessionDep) -> DomainConfig:
    """The domain the path names (id or name, see ``find_domain``), in the request's
    session, so the route may change it."""
    return find_domain(db, domain)


async def load_path_domain(domain: DomainRef, engine: EngineDep) -> DomainConfig:
    """The domain the path names, read in its own short transaction off the loop."""
    return await in_session(engine, lambda session: find_domain(session, domain))


def get_path_rule(rule_id: int, db: SessionDep) -> RoutingRule:
    """The routing rule the path names, in the request's session."""
    return get_rule(db, rule_id)


def get_path_dead_letter(letter_id: int, db: SessionDep) -> DeadLetter:
    """The dead letter the path names, in the request's session."""
    return get_dead_letter(db, letter_id)


DomainDep = Annotated[DomainConfig, Depends(get_path_domain)]
DomainSnapshotDep = Annotated[DomainConfig, Depends(load_path_domain)]
RuleDep = Annotated[RoutingRule, Depends(get_path_rule)]
DeadLetterDep = Annotated[DeadLetter, Depends(get_path_dead_letter)]


async def get_form(request: Request) -> FormData:
    """The posted form (parsed once; the CSRF check has usually read it already)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(get_form)]

# --- who is calling: session cookies for people, bearer tokens for scripts -----------------

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
    role: Role = Role.ADMIN

    @property
    def may_change(self) -> bool:
        """Only admins change anything; viewers read."""
        return self.role == Role.ADMIN

    @property
    def actor(self) -> str:
        """How the audit log names this caller: ``user:alice`` or ``token:terraform``."""
        return f"{'user' if self.kind == 'session' else 'token'}:{self.name}"


class LoginRequired(Exception):
    """Raised by page dependencies; the handler redirects to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


async def read_session(request: Request) -> SessionData | None:
    """The verified, unrevoked session cookie, or None."""
    session = get_session_codec(request).read(request)
    if session is None:
        return None
    if await is_session_revoked(get_redis(request), session):
        return None
    return session


async def session_principal(request: Request) -> Principal | None:
    """Whoever the session cookie signs in, or None: no cookie, signed out, or its
    account deleted, its sessions ended, or (SSO) its address no longer allowed."""
    session = await read_session(request)
    if session is None or session.owner is None:
        return None
    owner = session.owner
    found = await in_session(get_engine(request), lambda db: accounts.identity_of(db, owner))
    if found is None:
        return None
    role = found.role
    if found.sso:
        # Checked against the settings this process runs with, on every request, so
        # de-listing an address (or an admin email) takes effect without a sign-in.
        role = sso_access(get_settings(request), found.name)
        if role is None:
            return None
    return Principal(kind="session", name=found.name, session=session, role=role)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail=detail,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _token_identity(db: Session, plaintext: str) -> tuple[str, Role, int | None] | None:
    """The token's name and role, and its id when its last use is due to be recorded."""
    token = accounts.resolve_api_token(db, plaintext)
    if token is None:
        return None
    return token.name, Role(token.role), token.id if accounts.touch_due(token) else None


_touching: set[int] = set()
_touches: set[asyncio.Task[None]] = set()


def _record_use(engine: Engine, token_id: int) -> None:
    """Write the token's ``last_used_at`` in the background, one write per token at a
    time: the request does not wait for it, and a locked database delays only this."""
    if token_id in _touching:
        return
    _touching.add(token_id)

    async def touch() -> None:
        try:
            await in_session(engine, lambda db: accounts.touch_api_token(db, token_id))
        except Exception as error:
            log.info("API token %s: last use not recorded: %s", token_id, first_line(error))
        finally:
            _touching.discard(token_id)

    task = asyncio.get_running_loop().create_task(touch())
    _touches.add(task)
    task.add_done_callback(_touches.discard)


def _require_admin(principal: Principal) -> None:
    """403 for a viewer: every change needs the admin role."""
    if not principal.may_change:
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail=f"{principal.actor} has the viewer role: it may read but not change anything",
        )


async def api_principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
) -> Principal:
    """A valid bearer token or a signed-in session; otherwise 401."""
    if credentials is not None:
        plaintext = credentials.credentials
        engine = get_engine(request)
        found = await in_session(engine, lambda db: _token_identity(db, plaintext))
        if found is None:
            raise _unauthorized("invalid or revoked API token")
        name, role, touch = found
        if touch is not None:
            _record_use(engine, touch)
        return Principal(kind="token", name=name, role=role)
    principal = await session_principal(request)
    if principal is None:
        raise _unauthorized(
            "authentication required: send Authorization: Bearer <token> or sign in"
        )
    return principal


async def api_writer(request: Request, principal: Principal = Depends(api_principal)) -> Principal:
    """As api_principal, with the admin role; a cookie session must also send the
    X-CSRF-Token header."""
    if principal.kind == "session":
        await verify_csrf(request, principal.session)
    _require_admin(principal)
    set_actor(principal.actor)
    return principal


def _next_path(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return path


async def page_user(request: Request) -> Principal:
    """A signed-in admin, or LoginRequired (redirect to the login page)."""
    principal = await session_principal(request)
    if principal is None:
        raise LoginRequired(_next_path(request) if request.method == "GET" else "/admin")
    return principal


async def page_admin(principal: Principal = Depends(page_user)) -> Principal:
    """A signed-in admin, for a page that exists only to change something (a delete
    confirmation, a row of an editor): a viewer gets 403 there, as for the change."""
    _require_admin(principal)
    return principal


async def page_poster(request: Request, principal: Principal = Depends(page_user)) -> Principal:
    """A signed-in user (any role) whose form or htmx request carries the CSRF token:
    for posts that change nothing but the caller's own session (sign-out)."""
    await verify_csrf(request, principal.session)
    return principal


async def page_writer(request: Request, principal: Principal = Depends(page_poster)) -> Principal:
    """A signed-in admin (role ``admin``) whose form or htmx request carries the CSRF token.
    What the request then changes is recorded in the audit log under its name."""
    _require_admin(principal)
    set_actor(principal.actor)
    return principal


Reader = Annotated[Principal, Depends(api_principal)]
Writer = Annotated[Principal, Depends(api_writer)]
PageUser = Annotated[Principal, Depends(page_user)]
PageWriter = Annotated[Principal, Depends(page_writer)]
PageAdmin = Annotated[Principal, Depends(page_admin)]
PagePoster = Annotated[Principal, Depends(page_poster)]
