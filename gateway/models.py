"""SQLModel tables: the gateway's durable state (DESIGN.md section 3) and admin accounts.

Alembic owns the schema (``gateway/migrations``); a change here needs a new
migration revision.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from gateway.clock import utcnow
from gateway.security.crypto import EncryptedSecret

# Enums are stored as their string values: portable, and no native enum types to migrate.
_enum_column = AutoString(length=30)


class ReopenPolicy(StrEnum):
    """What to do when a Jira issue is reopened after the gateway completed its task."""

    LEAVE = "leave"
    INCOMPLETE = "incomplete"


class DeletionPolicy(StrEnum):
    """What to do with the Jira issue when its PeopleForce task was deleted."""

    LEAVE = "leave"
    CLOSE = "close"


class DeletedIssuePolicy(StrEnum):
    """What the reconciler does when a person deleted a tracked issue in Jira."""

    RECREATE = "recreate"
    LEAVE = "leave"


class EditedFieldPolicy(StrEnum):
    """What the reconciler does when a person edited a field the gateway writes."""

    LEAVE = "leave"
    OVERWRITE = "overwrite"


class RuleAction(StrEnum):
    SYNC = "SYNC"
    DROP = "DROP"


class MappingKind(StrEnum):
    STATIC = "STATIC"
    PATH = "PATH"
    TEMPLATE = "TEMPLATE"


class SyncStatus(StrEnum):
    PENDING_CREATE = "pending_create"
    SYNCED = "synced"
    DROPPED = "dropped"
    HISTORICAL = "historical"
    DEAD = "dead"
    DELETED = "deleted"


class EventType(StrEnum):
    CREATED = "created"
    ADOPTED = "adopted"
    UPDATED = "updated"
    TRANSITIONED = "transitioned"
    COMPLETED_FROM_JIRA = "completed_from_jira"
    REOPENED_FROM_JIRA = "reopened_from_jira"
    REOPENED_IN_PEOPLEFORCE = "reopened_in_peopleforce"
    REPAIRED_BY_SWEEPER = "repaired_by_sweeper"
    DROPPED_BY_RULE = "dropped_by_rule"
    HISTORICAL = "historical"
    ISSUE_DELETED = "issue_deleted"
    TASK_DELETED = "task_deleted"
    ASSIGNEE_UNMATCHED = "assignee_unmatched"
    DEAD_LETTERED = "dead_lettered"
    REPLAYED = "replayed"
    DISCARDED = "discarded"
    FAILED = "failed"
    SWEEP = "sweep"
    RECONCILE = "reconcile"
    REPAIRED_BY_RECONCILER = "repaired_by_reconciler"
    LABEL_RESTORED = "label_restored"
    ISSUE_MOVED = "issue_moved"
    FIELD_EDITED_IN_JIRA = "field_edited_in_jira"
    TICK_FAILED = "tick_failed"
    WEBHOOK_UNKNOWN_SITE = "webhook_unknown_site"
    ADMIN_CHANGE = "admin_change"
    DOMAIN_DELETED = "domain_deleted"
    BREAKER_OPENED = "breaker_opened"
    BREAKER_CLOSED = "breaker_closed"


@dataclass(frozen=True)
class DomainConfigDefaults:
    """What a new domain starts with, in one place.

    The table below, the admin schemas, the UI's new-domain form, the CLI's
    ``domain add`` options and the router all read these, so a changed default
    cannot leave one surface creating domains that differ from the others.
    """

    is_active: bool = True
    poll_interval_seconds: int = 60
    max_concurrency: int = 64
    """The cap of the adaptive Jira window (``gateway.clients.rate_window``)."""
    tracking_label: str = "PeopleForce"
    property_key: str = "pf_sync_metadata"
    fallback_issue_type: str = "Task"
    reopen_policy: ReopenPolicy = ReopenPolicy.LEAVE
    deletion_policy: DeletionPolicy = DeletionPolicy.LEAVE
    sweep_time: str = "03:00"
    sweep_window_hours: int = 24
    reconcile_interval_minutes: int = 60
    reopen_window_days: int = 30
    deleted_issue_policy: DeletedIssuePolicy = DeletedIssuePolicy.RECREATE
    edited_field_policy: EditedFieldPolicy = EditedFieldPolicy.LEAVE


DOMAIN_DEFAULTS = DomainConfigDefaults()

# --- per-domain webhook: the public id in its URL path and its secrets ---------------------
# Both webhook secrets are encrypted at rest like the upstream credentials; a Fernet
# token of a generated secret fits the column's 255 characters.
WEBHOOK_SECRET_TYPE = EncryptedSecret
PUBLIC_ID_LENGTH = 16


def new_public_id() -> str:
    """A domain's id in its webhook URL: random (96 bits), so URLs of other domains cannot
    be guessed from one's own, and stable for the life of the domain."""
    return secrets.token_urlsafe(PUBLIC_ID_LENGTH * 3 // 4)


def _parent_id(table: str) -> Any:
    """A required, indexed reference to ``table``'s row; the row goes when its parent does."""
    return Field(
        sa_column=Column(
            Integer, ForeignKey(f"{table}.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )


class _Row(SQLModel):
    """What every table has: an integer primary key the database assigns."""

    id: int | None = Field(default=None, primary_key=True)


class _Stamped(_Row):
    """A row that records when it was created and last changed."""

    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DomainConfig(_Stamped, table=True):
    """One sync domain: one PeopleForce account linked to one Jira site."""

    __tablename__ = "domain_config"

    name: str = Field(index=True, unique=True, max_length=100)
    is_active: bool = DOMAIN_DEFAULTS.is_active
    poll_interval_seconds: int = DOMAIN_DEFAULTS.poll_interval_seconds
    max_concurrency: int = DOMAIN_DEFAULTS.max_concurrency

    pf_base_url: str
    # Stored encrypted (gateway.security.crypto); read and written as plain text.
    pf_api_key: str = Field(default="", sa_type=EncryptedSecret)
    jira_base_url: str = Field(index=True)
    jira_email: str = ""
    jira_api_token: str = Field(default="", sa_type=EncryptedSecret)

    tracking_label: str = DOMAIN_DEFAULTS.tracking_label
    property_key: str = DOMAIN_DEFAULTS.property_key
    fallback_project_key: str | None = None
    fallback_issue_type: str = DOMAIN_DEFAULTS.fallback_issue_type
    sync_since: datetime | None = None
    reopen_policy: ReopenPolicy = Field(default=DOMAIN_DEFAULTS.reopen_policy, sa_type=_enum_column)
    deletion_policy: DeletionPolicy = Field(
        default=DOMAIN_DEFAULTS.deletion_policy, sa_type=_enum_column
    )

    sweep_time: str = DOMAIN_DEFAULTS.sweep_time
    sweep_window_hours: int = DOMAIN_DEFAULTS.sweep_window_hours
    last_sweep_at: datetime | None = None
    next_sweep_at: datetime | None = None

    # The reconciler: reads tracked issues by id on its own schedule (gateway.sync.reconciler).
    reconcile_interval_minutes: int = DOMAIN_DEFAULTS.reconcile_interval_minutes
    reopen_window_days: int = DOMAIN_DEFAULTS.reopen_window_days
    deleted_issue_policy: DeletedIssuePolicy = Field(
        default=DOMAIN_DEFAULTS.deleted_issue_policy, sa_type=_enum_column
    )
    edited_field_policy: EditedFieldPolicy = Field(
        default=DOMAIN_DEFAULTS.edited_field_policy, sa_type=_enum_column
    )
    last_reconcile_at: datetime | None = None
    next_reconcile_at: datetime | None = None
    last_reconcile_outcome: str | None = None

    next_poll_at: datetime | None = None
    last_poll_at: datetime | None = None
    last_tick_duration_ms: int | None = None
    last_tick_outcome: str | None = None
    last_tick_error: str | None = None
    consecutive_tick_failures: int = 0

    # Per-domain webhook (gateway.api.domain_webhooks): None means "use none of its own".
    public_id: str = Field(
        default_factory=new_public_id, unique=True, index=True, max_length=PUBLIC_ID_LENGTH
    )
    webhook_secret: str | None = Field(default=None, sa_type=WEBHOOK_SECRET_TYPE)
    webhook_secret_previous: str | None = Field(default=None, sa_type=WEBHOOK_SECRET_TYPE)
    # The circuit breaker (gateway.sync.breaker): open while the upstream keeps refusing
    # the credentials; ticks then write nothing and only probe, every few minutes.
    breaker_opened_at: datetime | None = None
    breaker_reason: str | None = None
    breaker_next_probe_at: datetime | None = None
    breaker_strikes: int = 0
    # Creates Jira refused with 400 since it last accepted one, across ticks.
    breaker_refused_creates: int = 0


class RoutingRule(_Stamped, table=True):
    """Ordered per domain by ``priority``; first enabled match wins."""

    __tablename__ = "routing_rule"

    domain_id: int = _parent_id("domain_config")
    name: str = Field(max_length=200)
    priority: int = 100
    enabled: bool = True
    # [{"path": "assigned_to.email", "op": "equals", "value": "..."}]; all must match.
    conditions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    action: RuleAction = Field(default=RuleAction.SYNC, sa_type=_enum_column)
    target_project_key: str | None = None
    target_issue_type: str | None = None
    validation_status: str = "unknown"
    validation_message: str | None = None
    validated_at: datetime | None = None


class FieldMapping(_Row, table=True):
    """One Jira field a rule fills: a static value, a task path or a template."""

    __tablename__ = "field_mapping"

    rule_id: int = _parent_id("routing_rule")
    jira_field: str = Field(max_length=200)
    kind: MappingKind = Field(default=MappingKind.TEMPLATE, sa_type=_enum_column)
    value: str = ""


class SyncState(_Stamped, table=True):
    """The ledger: one row per (domain, PeopleForce task)."""

    __tablename__ = "sync_state"
    __table_args__ = (
        UniqueConstraint("domain_id", "pf_task_id", name="uq_sync_state_domain_task"),
        UniqueConstraint("domain_id", "jira_issue_id", name="uq_sync_state_domain_issue"),
    )

    domain_id: int = _parent_id("domain_config")
    pf_task_id: int = Field(index=True)
    jira_issue_id: str | None = Field(default=None, index=True)
    jira_issue_key: str | None = Field(default=None, index=True)
    last_sync_hash: str | None = None
    # The Jira fields last written, so an update sends only what changed.
    last_synced_fields: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    is_completed: bool = False
    status: SyncStatus = Field(default=SyncStatus.PENDING_CREATE, sa_type=_enum_column, index=True)
    rule_id: int | None = None
    pf_created_at: datetime | None = None
    intent_at: datetime | None = None
    completed_at: datetime | None = None
    # Drift a person made in Jira that the reconciler already audited and left alone
    # (field -> digest of Jira's value), so it is audited once, not on every pass.
    acknowledged_drift: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Poison-task handling: the operation a dead letter holds back (no request until the
    # task changes or the letter is replayed), and the back-off of transient failures.
    parked_operation: str | None = Field(default=None, max_length=30)
    transient_failures: int = 0
    retry_not_before: datetime | None = None


class SyncEvent(_Row, table=True):
    """Audit log: every decision with its reason."""

    __tablename__ = "sync_event"

    domain_id: int | None = Field(default=None, index=True)
    pf_task_id: int | None = Field(default=None, index=True)
    jira_issue_id: str | None = None
    jira_issue_key: str | None = Field(default=None, index=True)
    event_type: str = Field(index=True, max_length=50)
    # Who made an admin change ("user:alice", "token:terraform"); None for the gateway's own.
    actor: str | None = Field(default=None, index=True, max_length=120)
    reason: str = ""
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class DeadLetter(_Row, table=True):
    """Work that failed permanently, kept with its upstream error for replay."""

    __tablename__ = "dead_letter"

    domain_id: int = _parent_id("domain_config")
    pf_task_id: int | None = Field(default=None, index=True)
    jira_issue_id: str | None = None
    operation: str = Field(max_length=50)
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error_status: int | None = None
    error_message: str = ""
    attempts: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    replayed_at: datetime | None = None
    discarded_at: datetime | None = None


# --- admin accounts: who may use the admin UI, JSON API and CLI ----------------------------
# Nothing in the sync path reads these two tables.


class Role(StrEnum):
    """What an account or token may do: ``viewer`` reads (dashboard, audit log, dead
    letters, read-only API); ``admin`` also changes anything."""

    VIEWER = "viewer"
    ADMIN = "admin"


def new_session_epoch() -> str:
    """A random value naming one generation of an account's sessions (see AdminUser)."""
    return secrets.token_urlsafe(24)


class AdminUser(_Row, table=True):
    """A person who signs in to the admin UI; only the argon2 hash of the password is kept.

    ``session_epoch`` is random per account and carried in every session cookie it
    issues: a cookie counts only while it still matches, so replacing it ends every
    session of the account at once (password or role change), and a cookie of a deleted
    account can never match the account made after it. Ids are never reused either
    (AUTOINCREMENT on SQLite), so "user 7" in the audit log is one person for good.
    """

    __tablename__ = "admin_user"
    __table_args__ = {"sqlite_autoincrement": True}

    username: str = Field(index=True, unique=True, max_length=100)
    password_hash: str = Field(max_length=255)
    role: Role = Field(default=Role.ADMIN, sa_type=AutoString(length=20))
    session_epoch: str = Field(default_factory=new_session_epoch, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


class ApiToken(_Row, table=True):
    """A bearer token for the JSON admin API; only its SHA-256 is kept, so a leak of the
    database does not leak usable tokens."""

    __tablename__ = "api_token"

    name: str = Field(max_length=100)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    role: Role = Field(default=Role.ADMIN, sa_type=AutoString(length=20))
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
