"""Admin users and API tokens: hashing, lookup and the bootstrap account.

Shared by the API (login, bearer tokens) and the CLI (``gateway admin ...``), so
both surfaces store credentials the same way: argon2 for passwords, SHA-256 for
random tokens (they carry 256 bits of entropy, so a fast hash is enough).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway.admin.change_log import acting_as
from gateway.clock import utcnow
from gateway.db import session_scope
from gateway.models import AdminUser, ApiToken, Role, new_session_epoch
from gateway.settings import Settings

log = logging.getLogger("gateway.accounts")

TOKEN_PREFIX = "gw_"
MIN_PASSWORD_LENGTH = 12
MAX_USERNAME_LENGTH = 100
# last_used_at is informative; writing it on every request would serialise API calls.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
BOOTSTRAP_ACTOR = "settings:GATEWAY_ADMIN_USERNAME"

# The stored "hash" of an account that signs in only with SSO. Not an argon2 hash, so it
# never verifies; sign-in treats it as an unknown user (same cost, same answer).
SSO_PASSWORD_MARKER = "!sso"

_hasher = PasswordHasher()


class _UnknownUserHash:
    """Verified when the username is unknown, so a miss costs as much time as a hit.

    Made on the first miss rather than at import: every process imports this module
    (each CLI call, each worker) and few see a miss, so none pays argon2 at start.
    Its callers run off the event loop, like every hash; the lock makes concurrent
    first misses share one hash.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value: str | None = None

    def get(self) -> str:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = _hasher.hash(secrets.token_urlsafe(16))
        return self._value


_unknown_user_hash = _UnknownUserHash()


class AccountError(ValueError):
    """Bad input for an account operation; the message is meant for the admin."""


@dataclass(frozen=True)
class SessionOwner:
    """The account a session is issued for: its id and the session epoch it had then.
    The session counts only while the account still has that epoch (``identity_of``)."""

    user_id: int
    epoch: str


@dataclass(frozen=True)
class Identity:
    """Who a live session belongs to; ``sso`` when the account signs in only by SSO."""

    name: str
    role: Role
    sso: bool


def hash_password(password: str) -> str:
    """An argon2 hash with the library's current parameters (CPU-heavy by design)."""
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    """Raise AccountError when a new password is too weak to accept."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if not password.strip():
        raise AccountError("the password cannot be blank")


def normalize_username(username: str) -> str:
    """Usernames compare case-insensitively, so ``Admin`` and ``admin`` are one account."""
    cleaned = username.strip().lower()
    if not cleaned:
        raise AccountError("the username cannot be empty")
    if len(cleaned) > MAX_USERNAME_LENGTH:
        raise AccountError(f"the username is longer than {MAX_USERNAME_LENGTH} characters")
    if any(ch.isspace() for ch in cleaned):
        raise AccountError("the username cannot contain spaces")
    return cleaned


def parse_role(value: str) -> Role:
    """A role by name; AccountError naming the choices otherwise."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        choices = ", ".join(role.value for role in Role)
        raise AccountError(f"unknown role {value!r} (choose one of: {choices})") from None


def create_user(
    session: Session, username: str, password: str, role: Role = Role.ADMIN
) -> AdminUser:
    """Add a user with ``role``; AccountError if the name is taken or the password too weak."""
    name = normalize_username(username)
    check_password_rules(password)
    return add_account(session, name, hash_password(password), role)


def add_account(session: Session, username: str, password_hash: str, role: Role) -> AdminUser:
    """Store a new account (a password one, or an SSO one with SSO_PASSWORD_MARKER).

    The one way accounts are made, by the CLI, the bootstrap and SSO sign-in alike, so
    each is recorded in the admin audit under whoever the context names as acting.
    """
    name = normalize_username(username)
    if session.exec(select(AdminUser).where(AdminUser.username == name)).first():
        raise AccountError(f"user {name!r} already exists")
    user = AdminUser(username=name, password_hash=password_hash, role=Role(role))
    session.add(user)
    session.flush()
    return user


def end_sessions(user: AdminUser) -> None:
    """End every session of ``user`` at once, in every browser: a new epoch, which no
    cookie issued so far carries. Takes effect when the caller's transaction commits."""
    user.session_epoch = new_session_epoch()


def set_role(session: Session, user: AdminUser, role: Role) -> AdminUser:
    """Give ``user`` another role; its sessions end, so none goes on with the old one."""
    if Role(user.role) != Role(role):
        user.role = Role(role)
        end_sessions(user)
        session.add(user)
        session.flush()
    return user


def _user_named(session: Session, username: str) -> AdminUser:
    name = normalize_username(username)
    user = session.exec(select(AdminUser).where(AdminUser.username == name)).first()
    if user is None:
        raise AccountError(f"no user {name!r}")
    return user


def list_accounts(session: Session) -> tuple[list[AdminUser], list[ApiToken]]:
    """Every user and every token (revoked ones too: their ids stay for the audit log)."""
    users = list(session.exec(select(AdminUser).order_by(AdminUser.username)))
    tokens = list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))
    return users, tokens


def delete_user(session: Session, username: str) -> AdminUser:
    """Remove an account (someone who left); their sessions end with it: every request
    looks the account up by id and epoch, and ids are never reused, so no later account
    inherits them. The last admin cannot go: nobody could then add one but an operator
    with shell access."""
    user = _user_named(session, username)
    if user.role == Role.ADMIN:
        admins = session.exec(select(AdminUser).where(AdminUser.role == Role.ADMIN)).all()
        if len(admins) <= 1:
            raise AccountError(f"{user.username!r} is the last admin; create another first")
    session.delete(user)
    session.flush()
    return user


def set_password(session: Session, username: str, password: str) -> AdminUser:
    """Replace a user's password (forgotten, or shared by mistake); every session of the
    account ends, so whoever knew the old password is signed out too."""
    user = _user_named(session, username)
    check_password_rules(password)
    user.password_hash = hash_password(password)
    end_sessions(user)
    session.add(user)
    session.flush()
    return user


def _stored_hash(engine: Engine, username: str) -> tuple[int | None, str]:
    """The account's id and password hash; the dummy hash when there is no account with a
    password: none of that name, or an SSO one. Both then cost one argon2 verification,
    as a real account does, so the answer's timing does not tell them apart."""
    try:
        name = normalize_username(username)
    except AccountError:
        return None, _unknown_user_hash.get()
    with Session(engine) as session:
        user = session.exec(select(AdminUser).where(AdminUser.username == name)).first()
        if user is None or user.password_hash == SSO_PASSWORD_MARKER:
            return None, _unknown_user_hash.get()
        return user.id, user.password_hash


def _password_matches(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _record_login(engine: Engine, user_id: int, stored: str, password: str) -> SessionOwner | None:
    with session_scope(engine) as session:
        user = session.get(AdminUser, user_id)
        # Changed meanwhile (deleted, or a new password): the verified one no longer counts.
        if user is None or user.password_hash != stored:
            return None
        if _hasher.check_needs_rehash(stored):
            user.password_hash = hash_password(password)
        user.last_login_at = utcnow()
        session.add(user)
        return SessionOwner(user_id=user_id, epoch=user.session_epoch)


def authenticate(engine: Engine, username: str, password: str) -> SessionOwner | None:
    """The account to issue a session for when the password matches, else None, in
    constant-ish time.

    argon2 costs about 150 ms of CPU on purpose, so the API calls this through
    ``gateway.admin.offload``, never on its event loop; and the hash is verified
    between two short transactions, so a burst of sign-ins does not hold a
    database connection per guess.
    """
    user_id, stored = _stored_hash(engine, username)
    if not _password_matches(stored, password) or user_id is None:
        return None
    return _record_login(engine, user_id, stored, password)


def identity_of(session: Session, owner: SessionOwner) -> Identity | None:
    """Who a session belongs to, or None once it has ended: the account was deleted, or
    its sessions were ended (password or role change) after this one was issued."""
    user = session.get(AdminUser, owner.user_id)
    if user is None:
        return None
    if not secrets.compare_digest(user.session_epoch.encode(), owner.epoch.encode()):
        return None
    return Identity(user.username, Role(user.role), user.password_hash == SSO_PASSWORD_MARKER)


def hash_token(token: str) -> str:
    """SHA-256 is enough for 256-bit random tokens; only this digest is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(session: Session, name: str, role: Role = Role.ADMIN) -> tuple[ApiToken, str]:
    """Store a new token's hash and return the plaintext, which is shown exactly once.
    The token acts with ``role``: a ``viewer`` token can read but never change."""
    label = name.strip()
    if not label:
        raise AccountError("the token needs a name")
    if len(label) > MAX_USERNAME_LENGTH:
        raise AccountError(f"the token name is longer than {MAX_USERNAME_LENGTH} characters")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=label, token_hash=hash_token(plaintext), role=Role(role))
    session.add(token)
    session.flush()
    return token, plaintext


def resolve_api_token(
    session: Session, plaintext: str, now: datetime | None = None
) -> ApiToken | None:
    """The live token matching ``plaintext``, or None. Reads only: recording the use is
    ``touch_due`` and ``touch_api_token``, off the request, so a read with a token still
    answers while the database refuses writes (SQLite locked by a long write)."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    token = session.exec(
        select(ApiToken).where(ApiToken.token_hash == hash_token(plaintext))
    ).first()
    if token is None or token.revoked_at is not None:
        return None
    return token


def touch_due(token: ApiToken, now: datetime | None = None) -> bool:
    """Whether ``last_used_at`` is old enough to be written again."""
    last = token.last_used_at
    return last is None or (now or utcnow()) - last >= TOKEN_TOUCH_INTERVAL


def touch_api_token(session: Session, token_id: int, now: datetime | None = None) -> None:
    """Record a token's use (at most once per ``TOKEN_TOUCH_INTERVAL``)."""
    token = session.get(ApiToken, token_id)
    if token is not None and touch_due(token, now):
        token.last_used_at = now or utcnow()
        session.add(token)


def revoke_api_token(session: Session, token_id: int) -> ApiToken:
    """Stop a token from authenticating; revoking twice keeps the first time."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise AccountError(f"no API token with id {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
    return token


def ensure_bootstrap_admin(engine: Engine, settings: Settings) -> bool:
    """Create the GATEWAY_ADMIN_USERNAME account if it is configured and missing.

    An existing account is left alone: the environment seeds the first login, it
    does not override a password changed since. Returns True when a user was made.
    """
    if not settings.admin_username or settings.admin_password is None:
        return False
    name = normalize_username(settings.admin_username)
    # Audited like any account made by a person, under the setting that made it.
    with acting_as(BOOTSTRAP_ACTOR), session_scope(engine) as session:
        if session.exec(select(AdminUser).where(AdminUser.username == name)).first():
            return False
        create_user(session, name, settings.admin_password.get_secret_value())
    log.info("bootstrap admin user created", extra={"username": name})
    return True
