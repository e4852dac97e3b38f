"""SQLModel tables: the gateway's durable state (DESIGN.md section 3).

Alembic owns the schema (``gateway/migrations``); a change here needs a new
migration revision.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from gateway.clock import utcnow

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
    TICK_FAILED = "tick_failed"
    WEBHOOK_UNKNOWN_SITE = "webhook_unknown_site"


class DomainConfig(SQLModel, table=True):
    """One sync domain: one PeopleForce account linked to one Jira site."""

    __tablename__ = "domain_config"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    is_active: bool = True
    poll_interval_seconds: int = 60
    max_concurrency: int = 4

    pf_base_url: str
    pf_api_key: str = ""
    jira_base_url: str = Field(index=True)
    jira_email: str = ""
    jira_api_token: str = ""

    tracking_label: str = "PeopleForce"
    property_key: str = "pf_sync_metadata"
    fallback_project_key: str | None = None
    fallback_issue_type: str = "Task"
    sync_since: datetime | None = None
    reopen_policy: ReopenPolicy = Field(default=ReopenPolicy.LEAVE, sa_type=_enum_column)
    deletion_policy: DeletionPolicy = Field(default=DeletionPolicy.LEAVE, sa_type=_enum_column)

    sweep_time: str = "03:00"
    sweep_window_hours: int = 24
    last_sweep_at: datetime | None = None
    next_sweep_at: datetime | None = None

    next_poll_at: datetime | None = None
    last_poll_at: datetime | None = None
    last_tick_duration_ms: int | None = None
    last_tick_outcome: str | None = None
    last_tick_error: str | None = None
    consecutive_tick_failures: int = 0

    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class RoutingRule(SQLModel, table=True):
    """Ordered per domain by ``priority``; first enabled match wins."""

    __tablename__ = "routing_rule"

    id: int | None = Field(default=None, primary_key=True)
    domain_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("domain_config.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
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
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class FieldMapping(SQLModel, table=True):
    """One Jira field a rule fills: a static value, a task path or a template."""

    __tablename__ = "field_mapping"

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("routing_rule.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    jira_field: str = Field(max_length=200)
    kind: MappingKind = Field(default=MappingKind.TEMPLATE, sa_type=_enum_column)
    value: str = ""


class SyncState(SQLModel, table=True):
    """The ledger: one row per (domain, PeopleForce task)."""

    __tablename__ = "sync_state"
    __table_args__ = (
        UniqueConstraint("domain_id", "pf_task_id", name="uq_sync_state_domain_task"),
        UniqueConstraint("domain_id", "jira_issue_id", name="uq_sync_state_domain_issue"),
    )

    id: int | None = Field(default=None, primary_key=True)
    domain_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("domain_config.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
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
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class SyncEvent(SQLModel, table=True):
    """Audit log: every decision with its reason."""

    __tablename__ = "sync_event"

    id: int | None = Field(default=None, primary_key=True)
    domain_id: int | None = Field(default=None, index=True)
    pf_task_id: int | None = Field(default=None, index=True)
    jira_issue_id: str | None = None
    jira_issue_key: str | None = Field(default=None, index=True)
    event_type: str = Field(index=True, max_length=50)
    reason: str = ""
    details: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, index=True)


class DeadLetter(SQLModel, table=True):
    """Work that failed permanently, kept with its upstream error for replay."""

    __tablename__ = "dead_letter"

    id: int | None = Field(default=None, primary_key=True)
    domain_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("domain_config.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
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
