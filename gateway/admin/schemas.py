"""Request and response models of the admin surface (JSON API, UI forms, CLI).

One set of models for all three surfaces, so a value the API refuses is refused
by the UI and the CLI with the same message. Secrets are ``SecretStr`` on input
and appear on output only as ``*_set`` booleans.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)

from gateway.admin.base_urls import check_base_url, pf_base_url_warning
from gateway.admin.dead_letters import dead_letter_state
from gateway.admin.webhook_secrets import WEBHOOK_SECRET_FIELDS, domain_webhook_path
from gateway.models import (
    DOMAIN_DEFAULTS,
    DeadLetter,
    DeletedIssuePolicy,
    DeletionPolicy,
    DomainConfig,
    EditedFieldPolicy,
    FieldMapping,
    MappingKind,
    ReopenPolicy,
    RoutingRule,
    RuleAction,
    SyncEvent,
)
from gateway.security.exposure import upstream_error_text
from gateway.sync.routing import Op

T = TypeVar("T")

_LABEL = re.compile(r"^\S+$")
# A domain name is one path segment of every admin URL and CLI argument that names it.
_DOMAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PROPERTY_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,9}$")
_SWEEP_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _blank_to_none(value: Any) -> Any:
    """Form fields arrive as empty strings when left blank; treat them as absent."""
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


def _blank_secret_to_none(value: Any) -> Any:
    """A secret of only whitespace (a stray space, a pasted blank line) was not typed on
    purpose: it counts as not given, so it neither re-enters a credential for a new
    destination nor wipes the stored one. ``""`` stays the explicit way to clear one."""
    if isinstance(value, str) and value and not value.strip():
        return None
    return value


def _check_domain_name(value: str) -> str:
    """One rule for a new or renamed domain, on every surface; existing names are left
    alone. Names like ``a/b`` or ``x?y=1`` could not be addressed in a URL afterwards."""
    if not _DOMAIN_NAME.match(value):
        raise ValueError(
            "a domain name may contain only letters, digits, '.', '_' and '-', and starts "
            "with a letter or digit (it is part of URLs)"
        )
    if value.isdigit():
        raise ValueError("a domain name cannot be only digits: a number is read as a domain id")
    return value


def _matching(pattern: re.Pattern[str], message: str) -> Callable[[str], str]:
    """A validator that passes what ``pattern`` matches and refuses the rest with ``message``."""

    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(message)
        return value

    return check


_check_label = _matching(_LABEL, "a Jira label cannot contain spaces")
_check_property_key = _matching(_PROPERTY_KEY, "use letters, digits, '.', '_' or '-' only")
_check_sweep_time = _matching(_SWEEP_TIME, "use 24-hour HH:MM in UTC, e.g. 03:00")
_project_key_format = _matching(
    _PROJECT_KEY, "a Jira project key is 1-10 capital letters, digits or '_', e.g. HR"
)


def _check_project_key(value: str | None) -> str | None:
    return None if value is None else _project_key_format(value.upper())


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


DomainName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_check_domain_name)]
Url = Annotated[str, Field(max_length=500), AfterValidator(check_base_url)]
Label = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_check_label)]
PropertyKey = Annotated[
    str, Field(min_length=1, max_length=255), AfterValidator(_check_property_key)
]
ProjectKey = Annotated[
    str | None, BeforeValidator(_blank_to_none), AfterValidator(_check_project_key)
]
IssueType = Annotated[str, Field(min_length=1, max_length=60)]
OptionalIssueType = Annotated[
    Annotated[str, Field(max_length=60)] | None, BeforeValidator(_blank_to_none)
]
SweepTime = Annotated[str, AfterValidator(_check_sweep_time)]
UtcDatetime = Annotated[datetime | None, BeforeValidator(_blank_to_none), AfterValidator(_as_utc)]
Email = Annotated[str, Field(max_length=255)]
Secret = Annotated[
    Annotated[SecretStr, Field(max_length=2000)] | None, BeforeValidator(_blank_secret_to_none)
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DomainCreate(_Input):
    """Every configurable DomainConfig field; runtime bookkeeping is not accepted."""

    name: DomainName
    is_active: bool = DOMAIN_DEFAULTS.is_active
    poll_interval_seconds: int = Field(
        default=DOMAIN_DEFAULTS.poll_interval_seconds, ge=5, le=86_400
    )
    max_concurrency: int = Field(default=DOMAIN_DEFAULTS.max_concurrency, ge=1, le=64)
    pf_base_url: Url
    pf_api_key: Secret = None
    jira_base_url: Url
    jira_email: Email = ""
    jira_api_token: Secret = None
    tracking_label: Label = DOMAIN_DEFAULTS.tracking_label
    property_key: PropertyKey = DOMAIN_DEFAULTS.property_key
    fallback_project_key: ProjectKey = None
    fallback_issue_type: IssueType = DOMAIN_DEFAULTS.fallback_issue_type
    sync_since: UtcDatetime = None
    reopen_policy: ReopenPolicy = DOMAIN_DEFAULTS.reopen_policy
    deletion_policy: DeletionPolicy = DOMAIN_DEFAULTS.deletion_policy
    sweep_time: SweepTime = DOMAIN_DEFAULTS.sweep_time
    sweep_window_hours: int = Field(default=DOMAIN_DEFAULTS.sweep_window_hours, ge=24, le=24 * 30)
    reconcile_interval_minutes: int = Field(
        default=DOMAIN_DEFAULTS.reconcile_interval_minutes, ge=5, le=7 * 24 * 60
    )
    reopen_window_days: int = Field(default=DOMAIN_DEFAULTS.reopen_window_days, ge=0, le=365)
    deleted_issue_policy: DeletedIssuePolicy = DOMAIN_DEFAULTS.deleted_issue_policy
    edited_field_policy: EditedFieldPolicy = DOMAIN_DEFAULTS.edited_field_policy


class DomainUpdate(_Input):
    """Partial update: omitted fields keep their value; a secret given as "" is cleared,
    one of only whitespace is ignored."""

    name: DomainName | None = None
    is_active: bool | None = None
    poll_interval_seconds: int | None = Field(default=None, ge=5, le=86_400)
    max_concurrency: int | None = Field(default=None, ge=1, le=64)
    pf_base_url: Url | None = None
    pf_api_key: Secret = None
    jira_base_url: Url | None = None
    jira_email: Email | None = None
    jira_api_token: Secret = None
    tracking_label: Label | None = None
    property_key: PropertyKey | None = None
    fallback_project_key: ProjectKey = None
    fallback_issue_type: IssueType | None = None
    sync_since: UtcDatetime = None
    reopen_policy: ReopenPolicy | None = None
    deletion_policy: DeletionPolicy | None = None
    sweep_time: SweepTime | None = None
    sweep_window_hours: int | None = Field(default=None, ge=24, le=24 * 30)
    reconcile_interval_minutes: int | None = Field(default=None, ge=5, le=7 * 24 * 60)
    reopen_window_days: int | None = Field(default=None, ge=0, le=365)
    deleted_issue_policy: DeletedIssuePolicy | None = None
    edited_field_policy: EditedFieldPolicy | None = None


SECRET_FIELDS = ("pf_api_key", "jira_api_token")
# Fields that may be set to null/blank on update; the others keep their value when None.
NULLABLE_DOMAIN_FIELDS = frozenset({"fallback_project_key", "sync_since"})


class DomainOut(BaseModel):
    """A domain as the admin sees it: credentials reduced to whether they are set."""

    id: int
    name: str
    is_active: bool
    poll_interval_seconds: int
    max_concurrency: int
    pf_base_url: str
    pf_api_key_set: bool
    jira_base_url: str
    jira_email: str
    jira_api_token_set: bool
    tracking_label: str
    property_key: str
    fallback_project_key: str | None
    fallback_issue_type: str
    sync_since: datetime | None
    reopen_policy: ReopenPolicy
    deletion_policy: DeletionPolicy
    sweep_time: str
    sweep_window_hours: int
    last_sweep_at: datetime | None
    next_sweep_at: datetime | None
    reconcile_interval_minutes: int
    reopen_window_days: int
    deleted_issue_policy: DeletedIssuePolicy
    edited_field_policy: EditedFieldPolicy
    last_reconcile_at: datetime | None
    next_reconcile_at: datetime | None
    last_reconcile_outcome: str | None
    next_poll_at: datetime | None
    last_poll_at: datetime | None
    last_tick_duration_ms: int | None
    last_tick_outcome: str | None
    last_tick_error: str | None
    consecutive_tick_failures: int
    breaker_opened_at: datetime | None = None
    breaker_reason: str | None = None
    created_at: datetime
    updated_at: datetime
    # The domain's own webhook URL path and whether its secrets are set (never the secrets).
    public_id: str
    webhook_path: str
    webhook_secret_set: bool
    webhook_secret_previous_set: bool
    warnings: list[str] = Field(default_factory=list)
    """Configuration that is accepted but will likely fail (e.g. a base URL without its
    API path), so every surface can say so before a tick does."""

    @classmethod
    def of(cls, domain: DomainConfig) -> DomainOut:
        hidden = {*SECRET_FIELDS, *WEBHOOK_SECRET_FIELDS}
        data = domain.model_dump(exclude=hidden, warnings=False)
        if domain.last_tick_error:
            data["last_tick_error"] = upstream_error_text(domain.last_tick_error)
        warning = pf_base_url_warning(domain.pf_base_url)
        return cls(
            **data,
            pf_api_key_set=bool(domain.pf_api_key),
            jira_api_token_set=bool(domain.jira_api_token),
            webhook_path=domain_webhook_path(domain),
            webhook_secret_set=bool(domain.webhook_secret),
            webhook_secret_previous_set=bool(domain.webhook_secret_previous),
            warnings=[warning] if warning else [],
        )


class ConditionIn(_Input):
    """One condition; ``in`` takes a list, ``is_empty``/``is_not_empty`` take no value."""

    path: str = Field(min_length=1, max_length=200)
    op: Op
    value: Any = None


class MappingIn(_Input):
    jira_field: str = Field(min_length=1, max_length=200)
    kind: MappingKind = MappingKind.TEMPLATE
    value: str = Field(default="", max_length=10_000)


class RuleIn(_Input):
    """A whole rule with its conditions and mappings; saving replaces them all."""

    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True
    priority: int | None = Field(default=None, ge=0, le=1_000_000)
    conditions: list[ConditionIn] = Field(default_factory=list, max_length=50)
    action: RuleAction = RuleAction.SYNC
    target_project_key: ProjectKey = None
    target_issue_type: OptionalIssueType = None
    mappings: list[MappingIn] = Field(default_factory=list, max_length=50)

    @field_validator("target_project_key", "target_issue_type")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value or None


class RuleReorder(_Input):
    """The domain's rule ids, highest priority first; every rule must appear once."""

    rule_ids: list[int] = Field(min_length=1)


class MappingOut(BaseModel):
    id: int
    jira_field: str
    kind: MappingKind
    value: str

    @classmethod
    def of(cls, mapping: FieldMapping) -> MappingOut:
        return cls.model_validate(mapping.model_dump(warnings=False))


class RuleOut(BaseModel):
    id: int
    domain_id: int
    name: str
    priority: int
    enabled: bool
    conditions: list[dict[str, Any]]
    action: RuleAction
    target_project_key: str | None
    target_issue_type: str | None
    validation_status: str
    validation_message: str | None
    validated_at: datetime | None
    mappings: list[MappingOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, rule: RoutingRule, mappings: list[FieldMapping]) -> RuleOut:
        return cls(
            **rule.model_dump(exclude={"conditions"}, warnings=False),
            conditions=list(rule.conditions or []),
            mappings=[MappingOut.of(m) for m in mappings],
        )


class EventOut(BaseModel):
    id: int
    domain_id: int | None
    pf_task_id: int | None
    jira_issue_id: str | None
    jira_issue_key: str | None
    event_type: str
    actor: str | None = None
    reason: str
    details: dict[str, Any] | None
    created_at: datetime

    @classmethod
    def of(cls, event: SyncEvent) -> EventOut:
        return cls.model_validate(event.model_dump())


class DeadLetterOut(BaseModel):
    id: int
    domain_id: int
    pf_task_id: int | None
    jira_issue_id: str | None
    operation: str
    payload: dict[str, Any] | None
    error_status: int | None
    error_message: str
    attempts: int
    created_at: datetime
    replayed_at: datetime | None
    discarded_at: datetime | None
    state: str

    @classmethod
    def of(cls, letter: DeadLetter) -> DeadLetterOut:
        return cls(**letter.model_dump(), state=dead_letter_state(letter))


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


class ActionResult(BaseModel):
    """What an on-demand action (tick, sweep, replay, test, validate) reported."""

    ok: bool
    message: str
    details: dict[str, Any] | None = None
