"""The admin audit: every change an admin makes to domains, rules, accounts, tokens or
dead letters becomes one ``admin_change`` event naming who, what, before and after.

Recorded from the ORM's flush rather than at each call site, so a change made through
the API, the UI or the CLI cannot skip it: the write dependencies and the CLI set the
acting principal (``acting_as``), and every flush in that context that touches an
audited table writes its events in the same transaction. Secrets never appear: a
credential shows only that it changed, password and token hashes not at all.
Runtime bookkeeping (tick times, rule-check results, last use) is not a change.
Events such a request writes itself (a dead letter discarded) carry the actor too.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction

from gateway.clock import utcnow
from gateway.models import (
    AdminUser,
    ApiToken,
    DeadLetter,
    DomainConfig,
    EventType,
    FieldMapping,
    RoutingRule,
    SyncEvent,
)
from gateway.security.crypto import ENCRYPTED_COLUMNS

_actor: ContextVar[str | None] = ContextVar("gateway_admin_actor", default=None)

AUDITED: dict[type, str] = {
    DomainConfig: "domain",
    RoutingRule: "rule",
    FieldMapping: "field mapping",
    AdminUser: "user",
    ApiToken: "API token",
    DeadLetter: "dead letter",
}
# Every column stored encrypted is a secret: its change is shown, never its value.
SECRET_COLUMNS = frozenset(column for _, column in ENCRYPTED_COLUMNS)
# Hashes, and the session epoch (a change of it only means "sessions ended"), never show.
HIDDEN_COLUMNS = frozenset({"password_hash", "token_hash", "session_epoch"})
BOOKKEEPING_COLUMNS = frozenset(
    {
        "created_at",
        "updated_at",
        "last_used_at",
        "last_login_at",
        "validation_status",
        "validation_message",
        "validated_at",
        "last_sweep_at",
        "next_sweep_at",
        "next_poll_at",
        "last_poll_at",
        "last_tick_duration_ms",
        "last_tick_outcome",
        "last_tick_error",
        "consecutive_tick_failures",
        "attempts",
    }
)
CHANGED = "(changed)"


def set_actor(actor: str | None) -> None:
    """Name who acts for the rest of this context (a request's task, a CLI command)."""
    _actor.set(actor)


@contextmanager
def acting_as(actor: str) -> Generator[None]:
    """Name who acts within the block."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def _shown(name: str, value: Any) -> Any:
    if name in SECRET_COLUMNS:
        return "(set)" if value else "(unset)"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.value if hasattr(value, "value") else value


def _columns(row: Any) -> list[str]:
    return [c.key for c in sa.inspect(type(row)).column_attrs if c.key not in HIDDEN_COLUMNS]


def _snapshot(row: Any) -> dict[str, Any]:
    return {name: _shown(name, getattr(row, name, None)) for name in _columns(row)}


def _diff(row: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Before and after of the columns this flush changes, bookkeeping left out."""
    state = sa.inspect(row)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in _columns(row):
        if name in BOOKKEEPING_COLUMNS:
            continue
        history = state.attrs[name].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        if name in SECRET_COLUMNS:
            before[name], after[name] = _shown(name, old), CHANGED
        else:
            before[name], after[name] = _shown(name, old), _shown(name, new)
    return before, after


def _domain_id(row: Any) -> int | None:
    if isinstance(row, DomainConfig):
        return row.id
    return getattr(row, "domain_id", None)


def _label(row: Any) -> str:
    name = getattr(row, "name", None) or getattr(row, "username", None)
    return f"{AUDITED[type(row)]} {row.id}" + (f" ({name})" if name else "")


def _events(session: OrmSession, actor: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def add(row: Any, action: str, before: Any, after: Any) -> None:
        changed = sorted(after or before or {})
        reason = f"{actor} {action} {_label(row)}"
        if action == "updated":
            reason += ": " + ", ".join(changed)
        found.append(
            {
                "domain_id": _domain_id(row),
                "event_type": EventType.ADMIN_CHANGE.value,
                "actor": actor,
                "reason": reason[:500],
                "details": {
                    "object": AUDITED[type(row)],
                    "id": row.id,
                    "action": action,
                    "before": before,
                    "after": after,
                },
                "created_at": utcnow(),
            }
        )

    for row in session.new:
        # Dead letters are created by the sync flows, not by admins.
        if type(row) in AUDITED and not isinstance(row, DeadLetter):
            add(row, "created", None, _snapshot(row))
    for row in session.dirty:
        if type(row) in AUDITED and session.is_modified(row):
            before, after = _diff(row)
            if after:
                add(row, "updated", before, after)
    for row in session.deleted:
        if type(row) in AUDITED:
            add(row, "deleted", _snapshot(row), None)
    return found


@event.listens_for(OrmSession, "before_flush")
def _sign_events(session: OrmSession, _flush: UOWTransaction, _instances: object) -> None:
    """Events an admin's request writes itself (a discard, a replay) name the admin too."""
    actor = _actor.get()
    if actor is None:
        return
    for row in session.new:
        if isinstance(row, SyncEvent) and row.actor is None:
            row.actor = actor


@event.listens_for(OrmSession, "after_flush")
def _record_admin_changes(session: OrmSession, _flush: UOWTransaction) -> None:
    actor = _actor.get()
    if actor is None:
        return
    rows = _events(session, actor)
    if rows:
        session.connection().execute(sa.insert(SyncEvent), rows)
