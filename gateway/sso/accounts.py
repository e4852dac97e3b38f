"""The local account behind an SSO sign-in, so SSO sessions are ordinary admin sessions.

The account is named by the email address and carries no password: its stored
hash is a marker argon2 can never verify, so the password form cannot sign in
as an SSO user. An existing local (password) account of the same name is never
taken over by SSO. The stored role is set from the settings at every sign-in (a
change ends the account's other sessions); between sign-ins every request checks
the address against the current settings (``gateway.sso.policy.sso_access``).

Accounts are made and their roles changed through ``gateway.admin.accounts``, as by
the CLI, in the name of ``sso:<issuer>``, so the admin audit records both.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from gateway.admin.accounts import (
    SSO_PASSWORD_MARKER,
    AccountError,
    SessionOwner,
    add_account,
    normalize_username,
    set_role,
)
from gateway.admin.change_log import acting_as
from gateway.clock import utcnow
from gateway.db import session_scope
from gateway.models import AdminUser, Role
from gateway.sso.oidc import SsoRefused

__all__ = ["SSO_PASSWORD_MARKER", "sso_account", "sso_actor"]


def sso_actor(issuer: str) -> str:
    """How the admin audit names SSO sign-in as the one who made or changed an account."""
    return f"sso:{issuer}"


def _signed_in(engine: Engine, name: str, role: Role) -> SessionOwner | None:
    with session_scope(engine) as session:
        user = session.exec(select(AdminUser).where(AdminUser.username == name)).first()
        if user is None:
            return None
        if user.password_hash != SSO_PASSWORD_MARKER:
            raise SsoRefused(
                "local_account",
                "This address belongs to a local account; sign in with its password.",
            )
        set_role(session, user, role)
        user.last_login_at = utcnow()
        session.add(user)
        session.flush()
        assert user.id is not None
        return SessionOwner(user_id=user.id, epoch=user.session_epoch)


def _created(engine: Engine, name: str, role: Role) -> SessionOwner:
    with session_scope(engine) as session:
        user = add_account(session, name, SSO_PASSWORD_MARKER, role)
        user.last_login_at = utcnow()
        session.add(user)
        session.flush()
        assert user.id is not None
        return SessionOwner(user_id=user.id, epoch=user.session_epoch)


def sso_account(engine: Engine, issuer: str, email: str, role: Role) -> SessionOwner:
    """The SSO account for ``email`` with ``role`` (created on its first sign-in), to
    issue a session for; what changes is audited as done by ``sso:<issuer>``."""
    try:
        name = normalize_username(email)
    except AccountError:
        raise SsoRefused("bad_email") from None
    with acting_as(sso_actor(issuer)):
        found = _signed_in(engine, name, role)
        if found is not None:
            return found
        try:
            return _created(engine, name, role)
        except (IntegrityError, AccountError):
            # The same person's first sign-in in another tab won the race: use that account.
            found = _signed_in(engine, name, role)
            if found is None:
                raise
            return found
