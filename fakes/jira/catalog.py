"""What a fake Jira site is configured with: fields, priorities, users, projects, issue types.

Issues rest on this catalog - every create and edit is checked against the
project's issue types, its workflow and the fields an admin made required -
so it is set up before any issue exists, and admins change it behind the
gateway's back (a new required field is schema drift the gateway must
dead-letter, not loop on). ``JiraSite`` (``fakes.jira.state``) builds on it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from fakes.jira.errors import JiraError
from fakes.jira.fields import FieldContext, reference
from fakes.jira.model import (
    DEFAULT_PRIORITIES,
    FIELDS,
    ISSUE_TYPES,
    SCREEN_FIELDS,
    WORKFLOW_TEMPLATES,
    FieldDef,
    IssueType,
    Project,
    Transition,
    User,
    Workflow,
    account_id_for,
)

__all__ = ["JiraCatalog"]


class JiraCatalog:
    """The configuration of one site, the lookups over it and the admin actions on it.

    With ``seed_defaults`` it holds projects ``HR`` (simple workflow) and ``IT``
    (no direct done transition from Open/In Progress), and a few people besides
    the API user and Alice, to whom human actions are attributed by default.
    """

    def __init__(self, *, email: str, seed_defaults: bool = True) -> None:
        self.lock = threading.RLock()
        self.fields: dict[str, FieldDef] = dict(FIELDS)
        self.priorities = {p.name: p for p in DEFAULT_PRIORITIES}
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self._next_project_id = 10000
        self._next_issue_type_id = 10100
        self.bot = User(account_id_for(email), email, "Sync Bot", account_type="app")
        self.users[self.bot.account_id] = self.bot
        self.human = self.add_user("alice@example.com", "Alice Admin")
        """Who control-plane actions are attributed to unless ``as_user`` says otherwise."""
        if seed_defaults:
            self.add_user("bob@example.com", "Bob Builder")
            self.add_user("carol@example.com", "Carol Gone", active=False)
            self.add_project("HR", "Human Resources", workflow="simple")
            self.add_project(
                "IT",
                "IT Operations",
                workflow="it",
                issue_types=("Task", "Bug", "Onboarding"),
                priorities=("High", "Medium", "Low"),
            )

    @property
    def ctx(self) -> FieldContext:
        return FieldContext(fields=self.fields, users=self.users)

    def screen_fields(self) -> list[str]:
        extra = [f for f in self.fields if f not in SCREEN_FIELDS and self.fields[f].custom]
        return [*SCREEN_FIELDS, *extra]

    def navigable_fields(self) -> list[str]:
        return [f for f, d in self.fields.items() if d.navigable]

    # -- lookups ---------------------------------------------------------------

    def project(self, id_or_key: str) -> Project:
        with self.lock:
            found = self.projects.get(id_or_key.upper())
            if found is None:
                found = next((p for p in self.projects.values() if p.id == id_or_key), None)
            if found is None:
                raise JiraError(404, [f"No project could be found with key '{id_or_key}'."])
            return found

    def find_user(self, query: str) -> list[User]:
        """Users whose email, display name or account id matches (case-insensitive prefix)."""
        q = query.strip().casefold()
        if not q:
            return []
        with self.lock:
            return [
                u
                for u in self.users.values()
                if u.email.casefold().startswith(q)
                or u.account_id == query
                or any(part.startswith(q) for part in u.display_name.casefold().split())
                or u.display_name.casefold().startswith(q)
            ]

    def _actor(self, as_user: str | User | None, default: User) -> User:
        if isinstance(as_user, User):
            return as_user
        if as_user is None:
            return default
        if as_user in self.users:
            return self.users[as_user]
        matches = [u for u in self.users.values() if u.email.casefold() == as_user.casefold()]
        if not matches:
            raise JiraError(404, [f"No user '{as_user}'."])
        return matches[0]

    def _create_target(self, fields: dict[str, Any]) -> tuple[Project, IssueType]:
        """The project and issue type a create names; Jira checks these before any field."""
        project_ref = reference(fields.get("project"))
        if project_ref is None:
            raise JiraError(400, errors={"project": "Specify a valid project ID or key"})
        try:
            project = self.project(project_ref)
        except JiraError:
            raise JiraError(400, errors={"project": "valid project is required"}) from None
        type_ref = reference(fields.get("issuetype"))
        itype = project.issue_type(type_ref) if type_ref else None
        if itype is None:
            message = "Specify an issue type" if type_ref is None else None
            raise JiraError(
                400, errors={"issuetype": message or "The issue type selected is invalid."}
            )
        return project, itype

    def _create_transition(
        self, project: Project, raw: Any, messages: list[str]
    ) -> Transition | None:
        """The transition a create asks to make at once; a wrong one joins ``messages``."""
        if raw is None:
            return None
        ref = reference(raw)
        for t in project.workflow.available(project.workflow.initial):
            if ref in (t.id, t.name):
                return t
        messages.append(f"Transition id '{ref}' is not valid for this issue.")
        return None

    # -- admin actions ---------------------------------------------------------

    def add_user(
        self,
        email: str,
        display_name: str | None = None,
        *,
        account_id: str | None = None,
        active: bool = True,
        account_type: str = "atlassian",
        email_visible: bool = True,
    ) -> User:
        """Seed a user (found by ``/user/search`` on email or name, even when the email is
        hidden: Jira matches on it but leaves ``emailAddress`` out of the answer)."""
        user = User(
            account_id=account_id or account_id_for(email),
            email=email,
            display_name=display_name or email.split("@")[0].title(),
            active=active,
            account_type=account_type,
            email_visible=email_visible,
        )
        with self.lock:
            self.users[user.account_id] = user
        return user

    def add_project(
        self,
        key: str,
        name: str | None = None,
        *,
        workflow: str | Workflow = "simple",
        issue_types: Iterable[str] = ("Task", "Bug"),
        priorities: Iterable[str] | None = None,
    ) -> Project:
        """Add a project using a workflow template (``simple``/``it``) or a custom one."""
        key = key.upper()
        flow = WORKFLOW_TEMPLATES[workflow] if isinstance(workflow, str) else workflow
        with self.lock:
            if key in self.projects:
                raise JiraError(400, errors={"projectKey": f"Project '{key}' already exists."})
            types = [ISSUE_TYPES.get(n) or self._new_issue_type(n) for n in issue_types]
            chosen = [self.priorities[p] for p in priorities] if priorities else None
            project = Project(
                id=str(self._next_project_id),
                key=key,
                name=name or key,
                workflow=flow,
                issue_types=types,
                priorities=chosen or list(self.priorities.values()),
            )
            self._next_project_id += 1
            self.projects[key] = project
        return project

    def _new_issue_type(self, name: str, description: str = "") -> IssueType:
        itype = IssueType(str(self._next_issue_type_id), name, description)
        self._next_issue_type_id += 1
        return itype

    def add_issue_type(self, project_key: str, name: str, description: str = "") -> IssueType:
        with self.lock:
            project = self.project(project_key)
            existing = project.issue_type(name)
            if existing is not None:
                return existing
            itype = ISSUE_TYPES.get(name) or self._new_issue_type(name, description)
            project.issue_types.append(itype)
            return itype

    def require_field(
        self,
        project_key: str,
        issue_type: str,
        field_id: str,
        *,
        required: bool = True,
        name: str | None = None,
        allowed_values: Sequence[str] | None = None,
    ) -> FieldDef:
        """Schema drift: make ``field_id`` required (creating a custom field if unknown)."""
        with self.lock:
            project = self.project(project_key)
            itype = project.issue_type(issue_type)
            if itype is None:
                raise JiraError(
                    404, [f"Issue type '{issue_type}' is not in project {project.key}."]
                )
            fdef = self.fields.get(field_id)
            if fdef is None:
                custom_id = field_id.rsplit("_", 1)[-1]
                schema: dict[str, Any] = {
                    "type": "option" if allowed_values else "string",
                    "custom": "com.atlassian.jira.plugin.system.customfieldtypes:"
                    + ("select" if allowed_values else "textfield"),
                    "customId": int(custom_id) if custom_id.isdigit() else 0,
                }
                fdef = FieldDef(
                    field_id,
                    name or field_id,
                    schema,
                    custom=True,
                    allowed_values=tuple(allowed_values) if allowed_values else None,
                )
                self.fields[field_id] = fdef
            required_set = project.required.setdefault(itype.id, set())
            if required:
                required_set.add(field_id)
            else:
                required_set.discard(field_id)
            return fdef
