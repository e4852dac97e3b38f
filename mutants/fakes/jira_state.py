"""State of the fake Jira site and every operation the REST API can perform on it.

One ``JiraSite`` (``FakeJira`` adds the human side) holds projects, users,
issues, entity properties and the lagging search index. The REST routes and
the control plane are thin layers over it, and scenarios may call it directly
from Python (it locks, because the server runs on another thread). Every
change goes through ``_changed``, which stamps ``updated``, feeds the index and
fires webhooks, so no path can change an issue silently.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from fakes.clock import FakeClock
from fakes.jira_fields import (
    FieldContext,
    JiraError,
    apply_values,
    changelog_item,
    merge_update,
    property_error,
    validate_fields,
)
from fakes.jira_model import (
    DEFAULT_PRIORITIES,
    FIELDS,
    SCREEN_FIELDS,
    STATUSES,
    FieldDef,
    Issue,
    Project,
    Transition,
    User,
    account_id_for,
)
from fakes.jira_render import (
    issue_json,
    select_fields,
    user_json,
)
from fakes.jira_search import SearchPage, run_search
from fakes.jira_webhooks import WebhookDispatcher
from fakes.jql import JqlRecord

__all__ = ["NOT_FOUND", "JiraError", "JiraSite", "SearchPage"]

NOT_FOUND = "Issue does not exist or you do not have permission to see it."


def _ref(value: Any) -> str | None:
    """``{"key": ...}``/``{"id": ...}``/``{"name": ...}`` (or a bare string) to a string."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        for k in ("key", "id", "name"):
            if isinstance(value.get(k), str | int):
                return str(value[k])
    return None


class JiraSite:
    """A Jira Cloud site in memory: what the REST API can see and do."""

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
    ) -> None:
        self.email = email
        self.api_token = api_token
        self.clock = clock or FakeClock()
        self.rng = rng or random.Random(0)
        self.base_url = base_url.rstrip("/")
        self.index_lag = float(index_lag)
        self.search_max_results = search_max_results
        self.webhooks = webhooks or WebhookDispatcher(
            rng=random.Random(self.rng.getrandbits(64)),
            now=self.clock.now,
            base_url=self.base_url,
        )
        self.lock = threading.RLock()
        self.fields: dict[str, FieldDef] = dict(FIELDS)
        self.priorities = {p.name: p for p in DEFAULT_PRIORITIES}
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self.issues: dict[int, Issue] = {}
        self._keys: dict[str, int] = {}
        self.history: dict[int, list[tuple[float, Issue | None]]] = {}
        """Per issue: (timestamp, snapshot or None when deleted), pruned to the index lag."""
        self._next_issue_id = 10000
        self._next_project_id = 10000
        self._next_changelog_id = 10000
        self._next_issue_type_id = 10100
        self.bot = User(account_id_for(email), email, "Sync Bot", account_type="app")
        self.users[self.bot.account_id] = self.bot
        self.human = self.bot
        """Who control-plane actions are attributed to unless ``as_user`` says otherwise."""

    @property
    def ctx(self) -> FieldContext:
        return FieldContext(fields=self.fields, users=self.users)

    def screen_fields(self) -> list[str]:
        extra = [f for f in self.fields if f not in SCREEN_FIELDS and self.fields[f].custom]
        return [*SCREEN_FIELDS, *extra]

    def navigable_fields(self) -> list[str]:
        return [f for f, d in self.fields.items() if d.navigable]

    def set_base_url(self, url: str) -> None:
        """Where ``self`` links point (e.g. the loopback URL once a server has a port)."""
        self.base_url = url.rstrip("/")
        self.webhooks.base_url = self.base_url

    def set_index_lag(self, seconds: float) -> None:
        """Search sees issues as they were ``seconds`` ago (eventual consistency)."""
        if seconds < 0:
            raise ValueError("index lag cannot be negative")
        with self.lock:
            self.index_lag = float(seconds)

    # -- lookups ---------------------------------------------------------------

    def project(self, id_or_key: str) -> Project:
        with self.lock:
            found = self.projects.get(id_or_key.upper())
            if found is None:
                found = next((p for p in self.projects.values() if p.id == id_or_key), None)
            if found is None:
                raise JiraError(404, [f"No project could be found with key '{id_or_key}'."])
            return found

    def resolve(self, id_or_key: str | int) -> Issue:
        """The live issue for an id, key or former key; 404 otherwise."""
        text = str(id_or_key).strip()
        with self.lock:
            issue_id = int(text) if text.isdigit() else self._keys.get(text.upper())
            issue = self.issues.get(issue_id) if issue_id is not None else None
            if issue is None:
                raise JiraError(404, [NOT_FOUND])
            return issue

    def issue(self, id_or_key: str | int) -> Issue:
        """A detached copy of an issue, for assertions."""
        with self.lock:
            return self.resolve(id_or_key).snapshot()

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

    # -- rendering -------------------------------------------------------------

    def render(
        self,
        issue: Issue,
        *,
        fields: list[str],
        version: str = "3",
        properties: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        props = None
        if properties is not None:
            wanted = set(properties)
            everything = "*all" in wanted
            props = {k: v for k, v in issue.properties.items() if everything or k in wanted}
        return issue_json(
            self.base_url,
            issue,
            project=self.projects[issue.project_key],
            users=self.users,
            priorities=self.priorities,
            field_defs=self.fields,
            fields=fields,
            version=version,
            properties=props,
        )

    def get_issue_json(
        self,
        id_or_key: str,
        *,
        fields: Sequence[str] | None = None,
        properties: Sequence[str] | None = None,
        version: str = "3",
    ) -> dict[str, Any]:
        with self.lock:
            issue = self.resolve(id_or_key)
            names = select_fields(fields, navigable=self.navigable_fields(), default_all=True)
            props = [p.strip() for item in properties or [] for p in item.split(",") if p.strip()]
            return self.render(
                issue, fields=names, version=version, properties=props if props else None
            )

    def record(self, issue: Issue) -> JqlRecord:
        """The issue as JQL sees it."""
        project = self.projects[issue.project_key]
        status = issue.status_def
        category = status.category_def
        assignee: tuple[str, ...] = ()
        if issue.assignee and issue.assignee in self.users:
            assignee = (issue.assignee, self.users[issue.assignee].email)
        itype = project.issue_type(issue.issue_type_id)
        return JqlRecord(
            id=issue.id,
            key=issue.key,
            keys=(issue.key, *issue.old_keys),
            project_key=project.key,
            project_id=project.id,
            project_name=project.name,
            issue_type=itype.name if itype else "",
            status=status.name,
            status_id=status.id,
            category_key=category.key,
            category_name=category.name,
            category_id=category.id,
            created=issue.created,
            updated=issue.updated,
            labels=tuple(issue.labels),
            duedate=None if issue.duedate is None else date.fromisoformat(issue.duedate),
            assignee=assignee,
            resolution=issue.resolution,
        )

    # -- change plumbing -------------------------------------------------------

    def _index(self, issue_id: int, issue: Issue | None) -> None:
        now = self.clock.timestamp()
        history = self.history.setdefault(issue_id, [])
        history.append((now, issue.snapshot() if issue is not None else None))
        cutoff = now - self.index_lag
        settled = [i for i, (at, _) in enumerate(history) if at <= cutoff]
        if settled and settled[-1] > 0:
            del history[: settled[-1]]
        if len(history) == 1 and history[0][1] is None and history[0][0] <= cutoff:
            del self.history[issue_id]

    def _changed(
        self,
        issue: Issue,
        items: list[dict[str, Any]],
        event_type: str,
        actor: User,
        *,
        webhook_event: str = "jira:issue_updated",
    ) -> None:
        now = self.clock.now()
        issue.updated = now
        self._index(issue.id, issue)
        self._fire(issue, items, event_type, actor, webhook_event)

    def _fire(
        self,
        issue: Issue,
        items: list[dict[str, Any]] | None,
        event_type: str,
        actor: User,
        webhook_event: str,
    ) -> None:
        now = self.clock.now()
        payload: dict[str, Any] = {
            "timestamp": int(now.timestamp() * 1000),
            "webhookEvent": webhook_event,
            "issue_event_type_name": event_type,
            "user": user_json(self.base_url, actor, "2", with_email=False),
            "issue": self.render(issue, fields=self.navigable_fields(), version="2"),
        }
        if items is not None:
            payload["changelog"] = {"id": str(self._next_changelog_id), "items": items}
            self._next_changelog_id += 1
        self.webhooks.fire(webhook_event, self.record(issue), payload, now)

    # -- create / edit ---------------------------------------------------------

    def create_issue(
        self, body: Any, *, version: str = "3", actor: str | User | None = None
    ) -> Issue:
        """``POST /issue`` semantics: validate everything, then create and fire."""
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            raise JiraError(400, ["Issue must contain 'fields'."])
        fields: dict[str, Any] = dict(body["fields"])
        with self.lock:
            user = self._actor(actor, self.bot)
            project_ref = _ref(fields.get("project"))
            if project_ref is None:
                raise JiraError(400, errors={"project": "Specify a valid project ID or key"})
            try:
                project = self.project(project_ref)
            except JiraError:
                raise JiraError(400, errors={"project": "valid project is required"}) from None
            type_ref = _ref(fields.get("issuetype"))
            itype = project.issue_type(type_ref) if type_ref else None
            if itype is None:
                message = "Specify an issue type" if type_ref is None else None
                raise JiraError(
                    400, errors={"issuetype": message or "The issue type selected is invalid."}
                )
            fields = merge_update([], fields, body.get("update"))
            values, errors = validate_fields(
                fields,
                project=project,
                issue_type_id=itype.id,
                ctx=self.ctx,
                version=version,
                creating=True,
            )
            messages: list[str] = []
            properties: dict[str, Any] = {}
            raw_props = body.get("properties") or []
            if not isinstance(raw_props, list):
                messages.append("'properties' must be a list of {key, value}.")
                raw_props = []
            for prop in raw_props:
                if not isinstance(prop, dict):
                    messages.append("Each property must be an object with 'key' and 'value'.")
                    continue
                error = property_error(prop.get("key"), prop.get("value"))
                if error:
                    messages.append(error)
                else:
                    properties[prop["key"]] = prop["value"]
            transition = self._create_transition(project, body.get("transition"), messages)
            if errors or messages:
                raise JiraError(400, messages, errors)
            now = self.clock.now()
            issue = Issue(
                id=self._next_issue_id,
                key=f"{project.key}-{project.next_number}",
                project_key=project.key,
                issue_type_id=itype.id,
                status=project.workflow.initial,
                summary=values.pop("summary"),
                created=now,
                updated=now,
                status_category_changed=now,
                reporter=user.account_id,
                priority="Medium" if "Medium" in {p.name for p in project.priorities} else None,
                properties=properties,
            )
            self._next_issue_id += 1
            project.next_number += 1
            apply_values(issue, values, self.ctx)
            self.issues[issue.id] = issue
            self._keys[issue.key] = issue.id
            self._index(issue.id, issue)
            self._fire(issue, None, "issue_created", user, "jira:issue_created")
            if transition is not None:
                self._do_transition(issue, transition, user)
            return issue

    def _create_transition(
        self, project: Project, raw: Any, messages: list[str]
    ) -> Transition | None:
        if raw is None:
            return None
        ref = _ref(raw)
        for t in project.workflow.available(project.workflow.initial):
            if ref in (t.id, t.name):
                return t
        messages.append(f"Transition id '{ref}' is not valid for this issue.")
        return None

    def edit_issue(
        self,
        id_or_key: str | int,
        body: Any,
        *,
        version: str = "3",
        actor: str | User | None = None,
    ) -> list[dict[str, Any]]:
        """``PUT /issue``: ``fields`` and/or ``update``; a ``transition`` key is ignored."""
        if not isinstance(body, dict):
            raise JiraError(400, ["The request body must be an object."])
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            raise JiraError(400, ["'fields' must be an object."])
        with self.lock:
            issue = self.resolve(id_or_key)
            user = self._actor(actor, self.bot)
            merged = merge_update(issue.labels, fields, body.get("update"))
            project = self.projects[issue.project_key]
            values, errors = validate_fields(
                merged,
                project=project,
                issue_type_id=issue.issue_type_id,
                ctx=self.ctx,
                version=version,
                creating=False,
            )
            if errors:
                raise JiraError(400, errors=errors)
            items = apply_values(issue, values, self.ctx)
            if items:
                self._changed(issue, items, "issue_updated", user)
            return items

    def delete_issue(self, id_or_key: str | int, *, actor: str | User | None = None) -> None:
        with self.lock:
            issue = self.resolve(id_or_key)
            user = self._actor(actor, self.bot)
            del self.issues[issue.id]
            for key in (issue.key, *issue.old_keys):
                self._keys.pop(key, None)
            self._index(issue.id, None)
            self._fire(issue, None, "issue_deleted", user, "jira:issue_deleted")

    # -- transitions -----------------------------------------------------------

    def available_transitions(self, id_or_key: str | int) -> list[Transition]:
        with self.lock:
            issue = self.resolve(id_or_key)
            return self.projects[issue.project_key].workflow.available(issue.status)

    def apply_transition(
        self, id_or_key: str | int, body: Any, *, actor: str | User | None = None
    ) -> None:
        """``POST /issue/{id}/transitions``; 400 unless available from the current status."""
        ref = _ref(body.get("transition")) if isinstance(body, dict) else None
        if ref is None:
            raise JiraError(400, ["Missing 'transition' identifier."])
        with self.lock:
            issue = self.resolve(id_or_key)
            user = self._actor(actor, self.bot)
            chosen = next((t for t in self.available_transitions(issue.id) if t.id == ref), None)
            if chosen is None:
                raise JiraError(400, [f"Transition id '{ref}' is not valid for this issue."])
            fields = body.get("fields") or {}
            fields = {k: v for k, v in fields.items() if k != "resolution"}
            project = self.projects[issue.project_key]
            values, errors = validate_fields(
                fields,
                project=project,
                issue_type_id=issue.issue_type_id,
                ctx=self.ctx,
                version="3",
                creating=False,
            )
            if errors:
                raise JiraError(400, errors=errors)
            items = apply_values(issue, values, self.ctx)
            self._do_transition(issue, chosen, user, extra_items=items)

    def _do_transition(
        self,
        issue: Issue,
        transition: Transition,
        actor: User,
        *,
        extra_items: list[dict[str, Any]] | None = None,
    ) -> None:
        old = issue.status_def
        new = STATUSES[transition.to]
        now = self.clock.now()
        items = list(extra_items or [])
        items.append(changelog_item(self.fields["status"], old.id, new.id, old.name, new.name))
        issue.status = new.name
        if old.category != new.category:
            issue.status_category_changed = now
        if new.category == "done" and issue.resolution is None:
            issue.resolution = "Done"
            issue.resolution_date = now
            items.append(changelog_item(self.fields["resolution"], None, "10000", None, "Done"))
        elif new.category != "done" and issue.resolution is not None:
            items.append(
                changelog_item(self.fields["resolution"], "10000", None, issue.resolution, None)
            )
            issue.resolution = None
            issue.resolution_date = None
        self._changed(issue, items, "issue_generic", actor)

    # -- entity properties -----------------------------------------------------

    def set_property(self, id_or_key: str | int, key: str, value: Any) -> bool:
        """Store a property; True when it was created. Does not touch ``updated``."""
        error = property_error(key, value)
        if error:
            raise JiraError(400, [error])
        with self.lock:
            issue = self.resolve(id_or_key)
            created = key not in issue.properties
            issue.properties[key] = value
            self._index(issue.id, issue)
            return created

    def get_property(self, id_or_key: str | int, key: str) -> Any:
        with self.lock:
            issue = self.resolve(id_or_key)
            if key not in issue.properties:
                raise JiraError(404, [f"The property with key '{key}' does not exist."])
            return issue.properties[key]

    def property_keys(self, id_or_key: str | int) -> list[str]:
        with self.lock:
            return list(self.resolve(id_or_key).properties)

    def delete_property(self, id_or_key: str | int, key: str) -> None:
        with self.lock:
            issue = self.resolve(id_or_key)
            if issue.properties.pop(key, None) is None:
                raise JiraError(404, [f"The property with key '{key}' does not exist."])
            self._index(issue.id, issue)

    # -- search ----------------------------------------------------------------

    def search(
        self,
        jql: str | None,
        *,
        next_page_token: str | None = None,
        max_results: int | None = None,
        fields: Sequence[str] | None = None,
        properties: Sequence[str] | None = None,
        reconcile: Iterable[int] = (),
        version: str = "3",
    ) -> SearchPage:
        """Enhanced search: token paging, no total, default fields ``id`` only."""
        return run_search(
            self,
            jql,
            next_page_token=next_page_token,
            max_results=max_results,
            fields=fields,
            properties=properties,
            reconcile=set(reconcile),
            version=version,
        )
