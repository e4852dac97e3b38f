"""Data model of the fake Jira: statuses, workflows, fields, projects, users, issues.

Plain dataclasses with no HTTP knowledge, so the REST layer, the control plane
and the webhook payloads all render the same state. Workflows differ per
project on purpose: a client that hard-codes a transition id or name breaks
here the way it would on a real site.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

__all__ = [
    "CATEGORIES",
    "DEFAULT_PRIORITIES",
    "FIELDS",
    "ISSUE_TYPES",
    "STATUSES",
    "WORKFLOW_TEMPLATES",
    "Category",
    "FieldDef",
    "Issue",
    "IssueType",
    "Priority",
    "Project",
    "Status",
    "Transition",
    "User",
    "Workflow",
    "account_id_for",
]


@dataclass(frozen=True)
class Category:
    """A status category; clients must compare on ``key`` (names are localised)."""

    id: int
    key: str
    name: str
    color: str


CATEGORIES: dict[str, Category] = {
    "new": Category(2, "new", "To Do", "blue-gray"),
    "indeterminate": Category(4, "indeterminate", "In Progress", "yellow"),
    "done": Category(3, "done", "Done", "green"),
}


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: str  # key into CATEGORIES

    @property
    def category_def(self) -> Category:
        return CATEGORIES[self.category]


STATUSES: dict[str, Status] = {
    s.name: s
    for s in (
        Status("10000", "To Do", "new"),
        Status("3", "In Progress", "indeterminate"),
        Status("10001", "Done", "done"),
        Status("1", "Open", "new"),
        Status("10002", "In Review", "indeterminate"),
        Status("5", "Resolved", "done"),
        Status("6", "Closed", "done"),
    )
}


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    to: str  # status name
    sources: tuple[str, ...] = ()  # status names; empty means "from any status"

    def available_from(self, status_name: str) -> bool:
        return (not self.sources or status_name in self.sources) and status_name != self.to


@dataclass(frozen=True)
class Workflow:
    """A named workflow: the statuses it uses and the transitions between them."""

    name: str
    initial: str
    transitions: tuple[Transition, ...]

    @property
    def statuses(self) -> list[Status]:
        names = [self.initial]
        for t in self.transitions:
            for n in (*t.sources, t.to):
                if n not in names:
                    names.append(n)
        return [STATUSES[n] for n in names]

    def available(self, status_name: str) -> list[Transition]:
        return [t for t in self.transitions if t.available_from(status_name)]

    def find_status(self, name_or_id: str) -> Status | None:
        wanted = name_or_id.casefold()
        for s in self.statuses:
            if s.name.casefold() == wanted or s.id == name_or_id:
                return s
        return None

    def path(self, start: str, goal: set[str]) -> list[Transition] | None:
        """Shortest transition path from ``start`` to any status in ``goal`` (BFS)."""
        if start in goal:
            return []
        queue: deque[tuple[str, list[Transition]]] = deque([(start, [])])
        seen = {start}
        while queue:
            status, trail = queue.popleft()
            for t in self.available(status):
                if t.to in seen:
                    continue
                if t.to in goal:
                    return [*trail, t]
                seen.add(t.to)
                queue.append((t.to, [*trail, t]))
        return None


WORKFLOW_TEMPLATES: dict[str, Workflow] = {
    # Team-managed style: To Do -> In Progress -> Done, "Done" straight from To Do.
    "simple": Workflow(
        name="Simplified Workflow",
        initial="To Do",
        transitions=(
            Transition("11", "Start Progress", "In Progress", ("To Do",)),
            Transition("21", "Stop Progress", "To Do", ("In Progress",)),
            Transition("31", "Done", "Done", ("To Do", "In Progress")),
            Transition("41", "Reopen", "To Do", ("Done",)),
        ),
    ),
    # Company-managed IT style: no direct "done" from Open or In Progress.
    "it": Workflow(
        name="IT Service Workflow",
        initial="Open",
        transitions=(
            Transition("11", "Start Progress", "In Progress", ("Open",)),
            Transition("21", "Submit for Review", "In Review", ("In Progress",)),
            Transition("31", "Resolve", "Resolved", ("In Review",)),
            Transition("41", "Close", "Closed", ("In Review", "Resolved")),
            Transition("51", "Reopen", "Open", ("Resolved", "Closed")),
            Transition("61", "Back to Progress", "In Progress", ("In Review",)),
        ),
    ),
}


@dataclass(frozen=True)
class Priority:
    id: str
    name: str


DEFAULT_PRIORITIES: tuple[Priority, ...] = (
    Priority("1", "Highest"),
    Priority("2", "High"),
    Priority("3", "Medium"),
    Priority("4", "Low"),
    Priority("5", "Lowest"),
)


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str
    description: str = ""
    subtask: bool = False


ISSUE_TYPES: dict[str, IssueType] = {
    t.name: t
    for t in (
        IssueType("10001", "Task", "A small, distinct piece of work."),
        IssueType("10002", "Bug", "A problem or error."),
        IssueType("10003", "Story", "A user-facing feature."),
        IssueType("10004", "Epic", "A large body of work."),
        IssueType("10005", "Onboarding", "Work to bring a new hire on board."),
    )
}


@dataclass(frozen=True)
class FieldDef:
    """A field as ``/field`` and createmeta describe it."""

    id: str
    name: str
    schema: dict[str, Any]
    custom: bool = False
    allowed_values: tuple[str, ...] | None = None  # option values of select custom fields
    settable: bool = True
    navigable: bool = True


FIELDS: dict[str, FieldDef] = {
    f.id: f
    for f in (
        FieldDef("summary", "Summary", {"type": "string", "system": "summary"}),
        FieldDef("description", "Description", {"type": "string", "system": "description"}),
        FieldDef("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}),
        FieldDef("duedate", "Due date", {"type": "date", "system": "duedate"}),
        FieldDef("assignee", "Assignee", {"type": "user", "system": "assignee"}),
        FieldDef("reporter", "Reporter", {"type": "user", "system": "reporter"}),
        FieldDef("priority", "Priority", {"type": "priority", "system": "priority"}),
        FieldDef("project", "Project", {"type": "project", "system": "project"}),
        FieldDef("issuetype", "Issue Type", {"type": "issuetype", "system": "issuetype"}),
        FieldDef("status", "Status", {"type": "status", "system": "status"}, settable=False),
        FieldDef(
            "resolution",
            "Resolution",
            {"type": "resolution", "system": "resolution"},
            settable=False,
        ),
        FieldDef(
            "resolutiondate",
            "Resolved",
            {"type": "datetime", "system": "resolutiondate"},
            settable=False,
        ),
        FieldDef("created", "Created", {"type": "datetime", "system": "created"}, settable=False),
        FieldDef("updated", "Updated", {"type": "datetime", "system": "updated"}, settable=False),
        FieldDef(
            "statuscategorychangedate",
            "Status Category Changed",
            {"type": "datetime", "system": "statuscategorychangedate"},
            settable=False,
        ),
        FieldDef(
            "customfield_10020",
            "Team",
            {
                "type": "option",
                "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
                "customId": 10020,
            },
            custom=True,
            allowed_values=("People", "Platform", "Workplace"),
        ),
        FieldDef(
            "customfield_10030",
            "Start date",
            {
                "type": "date",
                "custom": "com.atlassian.jira.plugin.system.customfieldtypes:datepicker",
                "customId": 10030,
            },
            custom=True,
        ),
    )
}

# Fields on every create/edit screen, in createmeta order.
SCREEN_FIELDS: tuple[str, ...] = (
    "project",
    "issuetype",
    "summary",
    "description",
    "labels",
    "duedate",
    "assignee",
    "reporter",
    "priority",
    "customfield_10020",
    "customfield_10030",
)
ALWAYS_REQUIRED = frozenset({"project", "issuetype", "summary"})


@dataclass
class Project:
    id: str
    key: str
    name: str
    workflow: Workflow
    issue_types: list[IssueType]
    priorities: list[Priority]
    next_number: int = 1
    required: dict[str, set[str]] = field(default_factory=dict)
    """Extra required field ids per issue type id (schema drift)."""

    def issue_type(self, name_or_id: str) -> IssueType | None:
        for t in self.issue_types:
            if t.id == name_or_id or t.name.casefold() == name_or_id.casefold():
                return t
        return None

    def is_required(self, issue_type_id: str, field_id: str) -> bool:
        return field_id in ALWAYS_REQUIRED or field_id in self.required.get(issue_type_id, set())


@dataclass(frozen=True)
class User:
    account_id: str
    email: str
    display_name: str
    active: bool = True
    account_type: str = "atlassian"
    time_zone: str = "UTC"
    email_visible: bool = True
    """False: the person's profile hides ``emailAddress`` (Jira Cloud's privacy setting)."""


def account_id_for(email: str) -> str:
    """A stable Atlassian-style account id (24 hex digits) derived from the email."""
    return hashlib.sha1(email.casefold().encode()).hexdigest()[:24]


@dataclass
class Issue:
    id: int
    key: str
    project_key: str
    issue_type_id: str
    status: str  # status name
    summary: str
    created: datetime
    updated: datetime
    status_category_changed: datetime
    description: dict[str, Any] | None = None  # ADF document
    labels: list[str] = field(default_factory=list)
    duedate: str | None = None
    assignee: str | None = None  # account id
    reporter: str | None = None  # account id
    creator: str | None = None  # account id of the creating user; never changes
    priority: str | None = None  # priority name
    resolution: str | None = None
    resolution_date: datetime | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    properties: dict[str, Any] = field(default_factory=dict)
    old_keys: list[str] = field(default_factory=list)

    def snapshot(self) -> Issue:
        """A copy that later mutations of this issue cannot reach (for the lagging index)."""
        return replace(
            self,
            labels=list(self.labels),
            custom=dict(self.custom),
            properties=dict(self.properties),
            old_keys=list(self.old_keys),
        )

    @property
    def status_def(self) -> Status:
        return STATUSES[self.status]
