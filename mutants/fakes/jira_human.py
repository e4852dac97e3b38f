"""``FakeJira``: the fake site plus what people and admins do outside the API.

Scenarios need the human side of Jira - someone closing an issue through
whatever workflow its project has, stripping a label, moving an issue to
another project, an admin making a field required - attributed to a human
user so the gateway can tell those changes from its own. The control plane
routes call these methods; tests may call them directly.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from fakes.clock import FakeClock
from fakes.jira_fields import JiraError, changelog_item
from fakes.jira_model import (
    ISSUE_TYPES,
    STATUSES,
    WORKFLOW_TEMPLATES,
    FieldDef,
    Issue,
    IssueType,
    Project,
    User,
    Workflow,
    account_id_for,
)
from fakes.jira_render import adf_from_text, adf_to_text
from fakes.jira_state import JiraSite
from fakes.jira_webhooks import WebhookDispatcher

__all__ = ["FakeJira"]


class FakeJira(JiraSite):
    """A Jira Cloud site seeded with projects ``HR`` (simple workflow) and ``IT`` (no direct
    done transition from Open/In Progress), the API user, and a few people."""

    def __init__(
        self,
        *,
        email: str = "bot@example.com",
        api_token: str = "jira-test-token",
        clock: FakeClock | None = None,
        rng: random.Random | None = None,
        base_url: str = "http://jira.test",
        index_lag: float = 0.0,
        webhooks: WebhookDispatcher | None = None,
        search_max_results: int = 100,
        seed_defaults: bool = True,
    ) -> None:
        super().__init__(
            email=email,
            api_token=api_token,
            clock=clock,
            rng=rng,
            base_url=base_url,
            index_lag=index_lag,
            webhooks=webhooks,
            search_max_results=search_max_results,
        )
        self.human = self.add_user("alice@example.com", "Alice Admin")
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

    # -- catalog ---------------------------------------------------------------

    def add_user(
        self,
        email: str,
        display_name: str | None = None,
        *,
        account_id: str | None = None,
        active: bool = True,
        account_type: str = "atlassian",
    ) -> User:
        """Seed a user (found by ``/user/search`` on email or name)."""
        user = User(
            account_id=account_id or account_id_for(email),
            email=email,
            display_name=display_name or email.split("@")[0].title(),
            active=active,
            account_type=account_type,
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

    def transition(
        self,
        id_or_key: str | int,
        name: str | None = None,
        *,
        status: str | None = None,
        to_category: str | None = None,
        as_user: str | User | None = None,
    ) -> list[str]:
        """A person moves the issue: by transition name/id, target status, or category.

        ``status``/``to_category`` walk the shortest path through the workflow, one
        transition (and one webhook) per step. Returns the transition names used.
        """
        if sum(x is not None for x in (name, status, to_category)) != 1:
            raise ValueError("give exactly one of name, status, to_category")
        with self.lock:
            issue = self.resolve(id_or_key)
            user = self._actor(as_user, self.human)
            flow = self.projects[issue.project_key].workflow
            if name is not None:
                wanted = name.casefold()
                step = next(
                    (
                        t
                        for t in flow.available(issue.status)
                        if wanted in (t.id, t.name.casefold())
                    ),
                    None,
                )
                if step is None:
                    raise JiraError(
                        400, [f"Transition '{name}' is not available from {issue.status}."]
                    )
                path = [step]
            else:
                if status is not None:
                    target = flow.find_status(status)
                    if target is None:
                        raise JiraError(400, [f"Status '{status}' is not in {flow.name}."])
                    goal = {target.name}
                else:
                    goal = {s.name for s in flow.statuses if s.category == to_category}
                found = flow.path(issue.status, goal)
                if found is None:
                    raise JiraError(
                        400, [f"No path from {issue.status} to {status or to_category}."]
                    )
                path = found
            for step in path:
                self._do_transition(issue, step, user)
            return [t.name for t in path]

    def reopen(self, id_or_key: str | int, *, as_user: str | User | None = None) -> list[str]:
        """Walk back to the workflow's initial status."""
        with self.lock:
            issue = self.resolve(id_or_key)
            initial = self.projects[issue.project_key].workflow.initial
            return self.transition(issue.id, status=initial, as_user=as_user)

    # -- human edits -----------------------------------------------------------

    def create(
        self,
        project: str,
        summary: str,
        *,
        issue_type: str = "Task",
        labels: Sequence[str] = (),
        description: str | None = None,
        properties: dict[str, Any] | None = None,
        as_user: str | User | None = None,
        **fields: Any,
    ) -> Issue:
        """A person creates an issue in the UI (no entity property unless given)."""
        body_fields: dict[str, Any] = {
            "project": {"key": project},
            "issuetype": {"name": issue_type},
            "summary": summary,
            "labels": list(labels),
            **self._human_fields(fields),
        }
        if description is not None:
            body_fields["description"] = adf_from_text(description)
        body: dict[str, Any] = {"fields": body_fields}
        if properties:
            body["properties"] = [{"key": k, "value": v} for k, v in properties.items()]
        with self.lock:
            return self.create_issue(body, actor=self._actor(as_user, self.human)).snapshot()

    def _human_fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for fid, value in fields.items():
            if fid == "description" and isinstance(value, str):
                out[fid] = adf_from_text(value)
            elif fid == "priority" and isinstance(value, str):
                out[fid] = {"name": value}
            elif fid in ("assignee", "reporter") and isinstance(value, str):
                out[fid] = {"accountId": self._actor(value, self.human).account_id}
            elif self.fields.get(fid) is not None and self.fields[fid].allowed_values:
                out[fid] = {"value": value} if isinstance(value, str) else value
            else:
                out[fid] = value
        return out

    def edit(
        self, id_or_key: str | int, *, as_user: str | User | None = None, **fields: Any
    ) -> list[dict[str, Any]]:
        """A person edits fields (plain values: description text, priority name, email)."""
        with self.lock:
            user = self._actor(as_user, self.human)
            return self.edit_issue(id_or_key, {"fields": self._human_fields(fields)}, actor=user)

    def add_labels(
        self, id_or_key: str | int, *labels: str, as_user: str | User | None = None
    ) -> list[dict[str, Any]]:
        ops = [{"add": label} for label in labels]
        with self.lock:
            user = self._actor(as_user, self.human)
            return self.edit_issue(id_or_key, {"update": {"labels": ops}}, actor=user)

    def remove_labels(
        self, id_or_key: str | int, *labels: str, as_user: str | User | None = None
    ) -> list[dict[str, Any]]:
        ops = [{"remove": label} for label in labels]
        with self.lock:
            user = self._actor(as_user, self.human)
            return self.edit_issue(id_or_key, {"update": {"labels": ops}}, actor=user)

    def move(
        self,
        id_or_key: str | int,
        project_key: str,
        *,
        issue_type: str | None = None,
        as_user: str | User | None = None,
    ) -> str:
        """Move to another project: new key, same id, old key keeps resolving."""
        with self.lock:
            issue = self.resolve(id_or_key)
            user = self._actor(as_user, self.human)
            source = self.projects[issue.project_key]
            target = self.project(project_key)
            if target.key == source.key:
                raise JiraError(400, [f"{issue.key} is already in {target.key}."])
            old_type = source.issue_type(issue.issue_type_id)
            wanted = issue_type or (old_type.name if old_type else "Task")
            itype = target.issue_type(wanted) or target.issue_types[0]
            old_status = issue.status_def
            new_status = target.workflow.find_status(old_status.name) or next(
                (s for s in target.workflow.statuses if s.category == old_status.category),
                STATUSES[target.workflow.initial],
            )
            old_key = issue.key
            issue.key = f"{target.key}-{target.next_number}"
            target.next_number += 1
            issue.old_keys.append(old_key)
            issue.project_key = target.key
            issue.issue_type_id = itype.id
            self._keys[issue.key] = issue.id
            items = [
                changelog_item(
                    self.fields["project"], source.id, target.id, source.name, target.name
                ),
                {
                    "field": "Key",
                    "fieldtype": "jira",
                    "fieldId": "issuekey",
                    "from": None,
                    "fromString": old_key,
                    "to": None,
                    "toString": issue.key,
                },
            ]
            if new_status.name != old_status.name:
                items.append(
                    changelog_item(
                        self.fields["status"],
                        old_status.id,
                        new_status.id,
                        old_status.name,
                        new_status.name,
                    )
                )
                issue.status = new_status.name
            if new_status.category != "done" and issue.resolution is not None:
                issue.resolution = None
                issue.resolution_date = None
            self._changed(issue, items, "issue_moved", user)
            return issue.key

    def delete(self, id_or_key: str | int, *, as_user: str | User | None = None) -> None:
        with self.lock:
            self.delete_issue(id_or_key, actor=self._actor(as_user, self.human))

    # -- dump ------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """Everything a scenario may want to assert on, JSON-able."""
        with self.lock:
            issues = []
            for issue in sorted(self.issues.values(), key=lambda i: i.id):
                status = issue.status_def
                itype = self.projects[issue.project_key].issue_type(issue.issue_type_id)
                issues.append(
                    {
                        "id": str(issue.id),
                        "key": issue.key,
                        "old_keys": list(issue.old_keys),
                        "project": issue.project_key,
                        "issuetype": itype.name if itype else None,
                        "summary": issue.summary,
                        "description": adf_to_text(issue.description),
                        "status": status.name,
                        "status_category": status.category,
                        "resolution": issue.resolution,
                        "labels": list(issue.labels),
                        "duedate": issue.duedate,
                        "assignee": issue.assignee,
                        "priority": issue.priority,
                        "custom": dict(issue.custom),
                        "properties": dict(issue.properties),
                        "created": issue.created.isoformat(),
                        "updated": issue.updated.isoformat(),
                    }
                )
            projects = [
                {
                    "id": p.id,
                    "key": p.key,
                    "name": p.name,
                    "workflow": p.workflow.name,
                    "issue_types": [t.name for t in p.issue_types],
                    "required": {
                        t.name: sorted(p.required.get(t.id, set())) for t in p.issue_types
                    },
                }
                for p in self.projects.values()
            ]
            users = [
                {
                    "accountId": u.account_id,
                    "email": u.email,
                    "displayName": u.display_name,
                    "active": u.active,
                }
                for u in self.users.values()
            ]
            return {
                "now": self.clock.now().isoformat(),
                "index_lag": self.index_lag,
                "projects": projects,
                "users": users,
                "issues": issues,
                "webhooks": self.webhooks.snapshot(),
            }
