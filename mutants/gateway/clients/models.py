"""Typed shapes of what PeopleForce and Jira answer, validated at the client boundary.

Models allow extra fields (both APIs add fields without notice) and validate only
what the gateway relies on. A PeopleForce task keeps the exact dict it came from,
because the change hash must see what PeopleForce sent, not what we parsed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr


class StopReason(StrEnum):
    """Why a paginated listing ended; only ``CAP`` means results may be missing."""

    LAST_PAGE = "last_page"
    EMPTY_PAGE = "empty_page"
    REPEATED_PAGE = "repeated_page"
    REPEATED_TOKEN = "repeated_token"
    MISSING_TOKEN = "missing_token"
    CAP = "cap"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


# --- PeopleForce ---------------------------------------------------------------------


class PFPerson(_Lenient):
    id: int | None = None
    full_name: str | None = None
    email: str | None = None
    type: str | None = None


class PFTask(_Lenient):
    """A PeopleForce task; ``raw`` is the untouched dict for hashing and routing."""

    id: int
    title: str
    type: str | None = None
    description: str | None = None
    description_plain: str | None = None
    starts_on: str | None = None
    ends_on: str | None = None
    completed: bool = False
    completed_at: str | None = None
    associated_to: PFPerson | None = None
    assigned_to: PFPerson | None = None
    created_by: PFPerson | None = None
    created_at: str | None = None
    updated_at: str | None = None

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> PFTask:
        task = cls.model_validate(raw)
        task._raw = raw
        return task

    @property
    def raw(self) -> dict[str, Any]:
        return self._raw or self.model_dump(mode="json", exclude_unset=True)


class TaskPage(BaseModel):
    """One page of ``GET /tasks``; ``stop_reason`` is set on the last page yielded."""

    page: int
    pages: int | None = None
    count: int | None = None
    tasks: list[PFTask]
    stop_reason: StopReason | None = None


# --- Jira ----------------------------------------------------------------------------


class StatusCategory(_Lenient):
    key: str
    id: str | None = None
    name: str | None = None


class JiraStatus(_Lenient):
    id: str | None = None
    name: str | None = None
    status_category: StatusCategory | None = Field(default=None, alias="statusCategory")

    @property
    def category_key(self) -> str | None:
        return self.status_category.key if self.status_category else None


class Transition(_Lenient):
    id: str
    name: str = ""
    is_available: bool = Field(default=True, alias="isAvailable")
    to: JiraStatus | None = None

    @property
    def target_category(self) -> str | None:
        return self.to.category_key if self.to else None

    @property
    def target_status_id(self) -> str | None:
        return self.to.id if self.to else None


class JiraIssue(_Lenient):
    """An issue as returned by get/search; ``fields`` stays a dict because it is site-specific."""

    id: str
    key: str = ""
    self_url: str | None = Field(default=None, alias="self")
    fields: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)

    @property
    def status(self) -> JiraStatus | None:
        status = self.fields.get("status")
        if not isinstance(status, dict):
            return None
        try:
            return JiraStatus.model_validate(status)
        except ValueError:
            return None

    @property
    def status_category_key(self) -> str | None:
        status = self.status
        return status.category_key if status else None

    @property
    def is_done(self) -> bool:
        return self.status_category_key == "done"

    @property
    def labels(self) -> list[str]:
        labels = self.fields.get("labels")
        return [str(label) for label in labels] if isinstance(labels, list) else []

    @property
    def project_key(self) -> str | None:
        project = self.fields.get("project")
        if isinstance(project, dict) and project.get("key") is not None:
            return str(project["key"])
        return None


class CreatedIssue(_Lenient):
    id: str
    key: str
    self_url: str | None = Field(default=None, alias="self")


class SearchPage(_Lenient):
    issues: list[JiraIssue] = Field(default_factory=list)
    next_page_token: str | None = Field(default=None, alias="nextPageToken")
    is_last: bool | None = Field(default=None, alias="isLast")
    stop_reason: StopReason | None = None


class JiraProject(_Lenient):
    id: str
    key: str
    name: str = ""


class JiraUser(_Lenient):
    account_id: str = Field(alias="accountId")
    email_address: str | None = Field(default=None, alias="emailAddress")
    display_name: str | None = Field(default=None, alias="displayName")
    active: bool = True
    account_type: str | None = Field(default=None, alias="accountType")


class IssueTypeMeta(_Lenient):
    id: str
    name: str
    subtask: bool = False


class FieldMeta(_Lenient):
    """One field of a create screen: what a routing rule may (or must) fill."""

    field_id: str = Field(alias="fieldId")
    key: str | None = None
    name: str = ""
    required: bool = False
    has_default_value: bool = Field(default=False, alias="hasDefaultValue")
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    allowed_values: list[Any] | None = Field(default=None, alias="allowedValues")
