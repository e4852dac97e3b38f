"""The local account behind an SSO sign-in, so SSO sessions are ordinary admin sessions.

The account is named by the email address and carries no password: its stored
hash is a marker argon2 can never verify, so the password form cannot sign in
as an SSO user. An existing local (password) account of the same name is never
taken over by SSO. The role is set from the settings at every sign-in, so moving an
address into or out of GATEWAY_OIDC_ADMIN_EMAILS takes effect at its next sign-in.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from gateway.admin.accounts import AccountError, normalize_username
from gateway.clock import utcnow
from gateway.db import session_scope
from gateway.models import AdminUser, Role
from gateway.sso.oidc import SsoRefused

# Not an argon2 hash: PasswordHasher.verify raises InvalidHashError for it, so it never matches.
SSO_PASSWORD_MARKER = "!sso"


def _signed_in(engine: Engine, name: str, role: Role) -> int | None:
    with session_scope(engine) as session:
        user = session.exec(select(AdminUser).where(AdminUser.username == name)).first()
        if user is None:
            return None
        if user.password_hash != SSO_PASSWORD_MARKER:
            raise SsoRefused(
                "local_account",
                "This address belongs to a local account; sign in with its password.",
            )
        user.last_login_at = utcnow()
        user.role = role
        session.add(user)
        return user.id


def sso_account(engine: Engine, email: str, role: Role) -> int:
    """The id of the SSO account for ``email`` with ``role``, created on its first sign-in."""
    try:
        name = normalize_username(email)
    except AccountError:
        raise SsoRefused("bad_email") from None
    found = _signed_in(engine, name, role)
    if found is not None:
        return found
    try:
        with session_scope(engine) as session:
            user = AdminUser(
                username=name, password_hash=SSO_PASSWORD_MARKER, last_login_at=utcnow(), role=role
            )
            session.add(user)
            session.flush()
            assert user.id is not None
            return user.id
    except IntegrityError:
        # The same person's first sign-in in another tab won the race: use that account.
        found = _signed_in(engine, name, role)
        if found is None:
            raise
        return found
