"""The issues of a fake Jira site and every operation the REST API can perform on them.

``JiraSite`` holds issues, their entity properties, the lagging search index
and the webhook dispatcher on top of its ``JiraCatalog`` (fields, users,
projects); ``FakeJira`` adds the human side. The REST routes and the control
plane are thin layers over it, and scenarios may call it directly from Python
(it locks, because the server runs on another thread). Every change goes
through ``_changed``, which stamps ``updated``, feeds the index and fires
webhooks, so no path can change an issue silently.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from fakes.clock import FakeClock
from fakes.jira.catalog import JiraCatalog
from fakes.jira.delivery import WebhookDispatcher
from fakes.jira.errors import NOT_FOUND, JiraError
from fakes.jira.fields import (
    apply_values,
    changelog_item,
    merge_update,
    parse_properties,
    property_error,
    reference,
    validate_fields,
)
from fakes.jira.jql import JqlRecord
from fakes.jira.model import STATUSES, Issue, Transition, User
from fakes.jira.render import Site, issue_json, select_fields, split_names, user_json
from fakes.jira.search import SearchIndex, SearchPage, jql_record, run_search

__all__ = ["JiraSite", "SearchPage"]


class JiraSite(JiraCatalog):
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
        seed_defaults: bool = True,
    ) -> None:
        super().__init__(email=email, seed_defaults=seed_defaults)
        self.email = email
        self.api_token = api_token
        self.clock = clock or FakeClock()
        self.rng = rng or random.Random(0)
        self.base_url = base_url.rstrip("/")
        self.index = SearchIndex(self.clock, index_lag)
        self.search_max_results = search_max_results
        self.webhooks = webhooks or WebhookDispatcher(
            rng=random.Random(self.rng.getrandbits(64)),
            now=self.clock.now,
            base_url=self.base_url,
        )
        self.issues: dict[int, Issue] = {}
        self._keys: dict[str, int] = {}
        self._next_issue_id = 10000
        self._next_changelog_id = 10000
        self.bulkfetch_errors: set[int] = set()  # ids bulkfetch lists in issueErrors

    @property
    def index_lag(self) -> float:
        """How many seconds search lags behind the issues (0: it does not)."""
        return self.index.lag

    def set_base_url(self, url: str) -> None:
        """Where ``self`` links point (e.g. the loopback URL once a server has a port)."""
        self.base_url = url.rstrip("/")
        self.webhooks.base_url = self.base_url

    def set_index_lag(self, seconds: float) -> None:
        """Search sees issues as they were ``seconds`` ago (eventual consistency)."""
        if seconds < 0:
            raise ValueError("index lag cannot be negative")
        with self.lock:
            self.index.lag = float(seconds)

    # -- lookups ---------------------------------------------------------------

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
            Site(self.base_url, self.users, self.priorities, self.fields),
            issue,
            project=self.projects[issue.project_key],
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
            props = split_names(properties)
            return self.render(
                issue, fields=names, version=version, properties=props if props else None
            )

    def record(self, issue: Issue) -> JqlRecord:
        """The issue as JQL (search and webhook filters) sees it."""
        return jql_record(issue, self.projects[issue.project_key], self.users)

    # -- change plumbing -------------------------------------------------------

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
        self.index.note(issue.id, issue)
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

    def create_issue(
        self, body: Any, *, version: str = "3", actor: str | User | None = None
    ) -> Issue:
        """``POST /issue`` semantics: validate everything, then create and fire."""
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            raise JiraError(400, ["Issue must contain 'fields'."])
        with self.lock:
            user = self._actor(actor, self.bot)
            project, itype = self._create_target(body["fields"])
            fields = merge_update([], dict(body["fields"]), body.get("update"))
            values, errors = validate_fields(
                fields,
                project=project,
                issue_type_id=itype.id,
                ctx=self.ctx,
                version=version,
                creating=True,
            )
            properties, messages = parse_properties(body.get("properties") or [])
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
                creator=user.account_id,
                priority="Medium" if "Medium" in {p.name for p in project.priorities} else None,
                properties=properties,
            )
            self._next_issue_id += 1
            project.next_number += 1
            apply_values(issue, values, self.ctx)
            self.issues[issue.id] = issue
            self._keys[issue.key] = issue.id
            self.index.note(issue.id, issue)
            self._fire(issue, None, "issue_created", user, "jira:issue_created")
            if transition is not None:
                self._do_transition(issue, transition, user)
            return issue

    def _validated(self, issue: Issue, fields: dict[str, Any], version: str) -> dict[str, Any]:
        """Values for an edit of ``issue``; one bad field fails the whole request with 400."""
        values, errors = validate_fields(
            fields,
            project=self.projects[issue.project_key],
            issue_type_id=issue.issue_type_id,
            ctx=self.ctx,
            version=version,
            creating=False,
        )
        if errors:
            raise JiraError(400, errors=errors)
        return values

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
            values = self._validated(issue, merged, version)
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
            self.index.note(issue.id, None)
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
        ref = reference(body.get("transition")) if isinstance(body, dict) else None
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
            values = self._validated(issue, fields, "3")
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
            self.index.note(issue.id, issue)
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
            self.index.note(issue.id, issue)

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
