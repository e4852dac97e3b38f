"""Signed session cookies for the admin UI.

The cookie holds only ids, the account's session epoch and the CSRF token, signed
with itsdangerous and time-limited; logout records the session id in Redis until
the cookie would expire anyway, so a copied cookie stops working once its owner
signs out. The epoch binds the session to the account it was issued for (see
``gateway.admin.accounts.identity_of``): a cookie without one never signs anyone in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.asyncio import Redis

from gateway.admin.accounts import SessionOwner
from gateway.security.keyfile import read_or_create_private_file
from gateway.settings import Settings

COOKIE_NAME = "gw_session"
SESSION_MAX_AGE_SECONDS = 12 * 3600
REVOKED_KEY_PREFIX = "gateway:admin:revoked-session:"
SECRET_KEY_FILE = "secret_key"
_SALT = "gateway.admin.session"


@dataclass(frozen=True)
class SessionData:
    """What the cookie carries; ``owner`` is None before login (CSRF for the login form)."""

    sid: str
    csrf: str
    owner: SessionOwner | None = None

    @classmethod
    def fresh(cls, owner: SessionOwner | None = None) -> SessionData:
        """A new id and CSRF token: issued at login so a planted cookie cannot be reused."""
        return cls(sid=secrets.token_urlsafe(16), csrf=secrets.token_urlsafe(32), owner=owner)


def load_or_create_secret_key(settings: Settings) -> str:
    """GATEWAY_SECRET_KEY, or a key generated once and kept in ``<data_dir>/secret_key``.

    Persisting it keeps sessions valid across restarts and shared by every API
    process on the machine; the file is created 0600 so only the service reads it.
    """
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    return read_or_create_private_file(
        Path(settings.data_dir) / SECRET_KEY_FILE, lambda: secrets.token_urlsafe(48)
    )


class SessionCodec:
    """Reads and writes the session cookie."""

    def __init__(self, secret_key: str, max_age_seconds: int = SESSION_MAX_AGE_SECONDS) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
        self.max_age_seconds = max_age_seconds

    def read(self, request: Request) -> SessionData | None:
        """The cookie's session if its signature and age check out, else None."""
        raw = request.cookies.get(COOKIE_NAME)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=self.max_age_seconds)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        sid, csrf, user_id = data.get("sid"), data.get("csrf"), data.get("uid")
        epoch = data.get("ep")
        if not isinstance(sid, str) or not isinstance(csrf, str):
            return None
        if user_id is None:
            return SessionData(sid=sid, csrf=csrf)
        # A signed-in cookie names its account by id and epoch; one without the epoch
        # (issued before sessions were bound to accounts) is not a session.
        if not isinstance(user_id, int) or not isinstance(epoch, str):
            return None
        return SessionData(sid=sid, csrf=csrf, owner=SessionOwner(user_id, epoch))

    def write(self, request: Request, response: Response, session: SessionData) -> None:
        """Set the signed cookie: HttpOnly, SameSite=Lax, Secure over HTTPS."""
        owner = session.owner
        value = self._serializer.dumps(
            {
                "sid": session.sid,
                "csrf": session.csrf,
                "uid": None if owner is None else owner.user_id,
                "ep": None if owner is None else owner.epoch,
            }
        )
        response.set_cookie(
            COOKIE_NAME,
            value,
            max_age=self.max_age_seconds,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )

    def clear(self, request: Request, response: Response) -> None:
        """Delete the cookie with the attributes it was set with."""
        response.delete_cookie(
            COOKIE_NAME,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )


async def revoke_session(redis: Redis, session: SessionData, ttl_seconds: int) -> None:
    """Remember a signed-out session id for as long as its cookie could still verify."""
    await redis.set(REVOKED_KEY_PREFIX + session.sid, "1", ex=ttl_seconds)


async def is_session_revoked(redis: Redis, session: SessionData) -> bool:
    """True once its owner signed out, for as long as the cookie could still verify."""
    return bool(await redis.exists(REVOKED_KEY_PREFIX + session.sid))
