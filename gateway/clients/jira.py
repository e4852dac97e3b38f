"""Jira Cloud REST v3 client (see shared/api/jira.md).

Only the calls the gateway needs. Issues are addressed by their stable id when the
caller has it (keys change when an issue moves project). Creates are never retried
because Jira has no idempotency key; everything else is safe to repeat.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from typing import Any, Required, TypedDict, Unpack
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from gateway.clients.errors import (
    NotFoundError,
    PermanentUpstreamError,
    PropertyTooLargeError,
    TransitionPathError,
    UpstreamProtocolError,
)
from gateway.clients.jira_bulk import JiraBulkReads
from gateway.clients.jira_edits import JiraEdits
from gateway.clients.jira_paging import log_search_stop, offset_pages, search_stop_reason
from gateway.clients.jira_workflow import DONE, done_preference, step_preference
from gateway.clients.models import (
    CreatedIssue,
    FieldMeta,
    IssueTypeMeta,
    JiraIssue,
    JiraProject,
    JiraUser,
    SearchPage,
    Transition,
)
from gateway.clients.rate_window import RateWindow
from gateway.clients.retry import RetryPolicy
from gateway.clients.transport import (
    ModelT,
    Timeout,
    Transport,
    protocol_error,
    reveal,
    summarise_validation_error,
)

log = logging.getLogger("gateway.clients")


class SearchOptions(TypedDict, total=False):
    """The keyword arguments of ``JiraClient.iter_search_pages`` after ``jql``."""

    fields: Required[Sequence[str]]
    properties: Sequence[str] | None
    max_results: int
    max_pages: int


ISSUE_PATH = "/rest/api/3/issue"
ISSUE_ITEM_PATH = "/rest/api/3/issue/{issue}"
TRANSITIONS_PATH = "/rest/api/3/issue/{issue}/transitions"
PROPERTY_PATH = "/rest/api/3/issue/{issue}/properties/{key}"
SEARCH_JQL_PATH = "/rest/api/3/search/jql"
CREATEMETA_ISSUE_TYPES_PATH = "/rest/api/3/issue/createmeta/{project}/issuetypes"
CREATEMETA_FIELDS_PATH = "/rest/api/3/issue/createmeta/{project}/issuetypes/{issue_type}"
PROJECT_SEARCH_PATH = "/rest/api/3/project/search"
USER_SEARCH_PATH = "/rest/api/3/user/search"
MYSELF_PATH = "/rest/api/3/myself"

MAX_PROPERTY_BYTES = 32_768
MAX_PROPERTY_KEY_CHARS = 255
DEFAULT_TRANSITION_STEPS = 4


def _segment(value: str | int) -> str:
    return quote(str(value), safe="")


def encode_property(value: Any) -> bytes:
    """The exact bytes sent for an entity property, checked against Jira's size limit."""
    body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(body) > MAX_PROPERTY_BYTES:
        raise PropertyTooLargeError(
            f"entity property is {len(body)} bytes; Jira accepts at most {MAX_PROPERTY_BYTES}"
        )
    return body


def _check_property_key(key: str) -> None:
    if not key or len(key) > MAX_PROPERTY_KEY_CHARS:
        raise ValueError(f"entity property key must be 1-{MAX_PROPERTY_KEY_CHARS} characters")


class JiraClient(JiraBulkReads, JiraEdits):
    """One Jira Cloud site, reached through the shared HTTP client (bulk reads: jira_bulk;
    edits: jira_edits)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        email: str | None = None,
        api_token: SecretStr | str | None = None,
        *,
        auth: httpx.Auth | None = None,
        policy: RetryPolicy | None = None,
        timeout: Timeout = None,
        window: RateWindow | None = None,
    ) -> None:
        token = reveal(api_token)
        secrets: tuple[str, ...] = ()
        if auth is None:
            if not email or not token:
                raise ValueError("JiraClient needs email and api_token, or an httpx.Auth")
            auth = httpx.BasicAuth(email, token)
            basic = base64.b64encode(f"{email}:{token}".encode()).decode()
            secrets = (token, basic)
        self._transport = Transport(
            service="jira",
            http=http,
            base_url=base_url,
            policy=policy or RetryPolicy(),
            headers={"Accept": "application/json"},
            auth=auth,
            timeout=timeout,
            secrets=secrets,
            window=window,
        )

    def __repr__(self) -> str:
        return f"JiraClient(base_url={self._transport.base_url!r})"

    # --- issues ------------------------------------------------------------------------

    async def create_issue(
        self, fields: dict[str, Any], properties: Sequence[dict[str, Any]] = ()
    ) -> CreatedIssue:
        """Create an issue with its entity properties in one request. Never retried."""
        for prop in properties:
            _check_property_key(str(prop.get("key", "")))
            encode_property(prop.get("value"))
        body: dict[str, Any] = {"fields": fields}
        if properties:
            body["properties"] = list(properties)
        response = await self._transport.request(
            "POST", ISSUE_PATH, idempotent=False, json_body=body
        )
        return self._transport.parse(
            CreatedIssue, self._transport.json(response), response, "created issue"
        )

    async def get_issue(
        self,
        id_or_key: str,
        *,
        fields: Sequence[str] | None = None,
        properties: Sequence[str] | None = None,
    ) -> JiraIssue:
        """Current state of an issue; NotFoundError when deleted or not visible."""
        params: dict[str, str] = {}
        if fields is not None:
            params["fields"] = ",".join(fields)
        if properties:
            params["properties"] = ",".join(properties)
        path = ISSUE_ITEM_PATH.format(issue=_segment(id_or_key))
        response = await self._transport.request("GET", path, idempotent=True, params=params)
        return self._transport.parse(JiraIssue, self._transport.json(response), response, "issue")

    async def get_transitions(self, id_or_key: str) -> list[Transition]:
        path = TRANSITIONS_PATH.format(issue=_segment(id_or_key))
        response = await self._transport.request("GET", path, idempotent=True)
        body = self._transport.json(response)
        items = body.get("transitions") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise protocol_error("jira", response, "transitions: no 'transitions' list")
        return [self._transport.parse(Transition, item, response, "transition") for item in items]

    async def transition_issue(self, id_or_key: str, transition_id: str) -> None:
        path = TRANSITIONS_PATH.format(issue=_segment(id_or_key))
        body = {"transition": {"id": str(transition_id)}}
        await self._transport.request("POST", path, idempotent=True, json_body=body)

    async def transition_to_done(
        self, id_or_key: str, *, max_steps: int = DEFAULT_TRANSITION_STEPS
    ) -> Transition | None:
        """Move the issue into the ``done`` category, whatever the project's workflow.

        Takes a done transition when one is available, otherwise walks through
        intermediate statuses (In Progress first), never revisiting a status, for at
        most ``max_steps`` transitions. Returns None when the issue is already done.
        """
        issue = await self.get_issue(id_or_key, fields=["status"])
        if issue.is_done:
            return None
        status = issue.status
        visited = {status.id} if status and status.id else set()
        for _ in range(max_steps):
            available = [t for t in await self.get_transitions(id_or_key) if t.is_available]
            done = [t for t in available if t.target_category == DONE]
            if done:
                chosen = min(done, key=done_preference)
                if not await self._apply_transition(id_or_key, chosen):
                    return None
                return chosen
            steps = [t for t in available if t.target_status_id not in visited]
            if not steps:
                break
            step = min(steps, key=step_preference)
            log.info(
                "jira issue %s: no direct done transition; stepping through %r",
                id_or_key,
                step.name,
                extra={"issue_id": id_or_key},
            )
            if not await self._apply_transition(id_or_key, step):
                return None
            if step.target_status_id:
                visited.add(step.target_status_id)
        raise TransitionPathError(
            service="jira",
            status=None,
            message=f"no transition path to a done status within {max_steps} steps",
            method="POST",
            url=self._transport.url(TRANSITIONS_PATH.format(issue=_segment(id_or_key))),
        )

    async def _apply_transition(self, id_or_key: str, transition: Transition) -> bool:
        """Apply one transition; False when it failed because the issue is already done.

        A retried POST whose first attempt landed, or a concurrent user, makes the
        transition unavailable (400/409): re-read the state rather than fail.
        """
        try:
            await self.transition_issue(id_or_key, transition.id)
        except PermanentUpstreamError as error:
            if error.status not in (400, 409):
                raise
            current = await self.get_issue(id_or_key, fields=["status"])
            if current.is_done:
                return False
            raise
        return True

    async def set_property(self, id_or_key: str, key: str, value: Any) -> None:
        """Write an entity property; over 32 768 bytes raises PropertyTooLargeError locally."""
        _check_property_key(key)
        body = encode_property(value)
        path = PROPERTY_PATH.format(issue=_segment(id_or_key), key=_segment(key))
        await self._transport.request("PUT", path, idempotent=True, content=body)

    async def get_property(self, id_or_key: str, key: str) -> Any | None:
        """The property's value, or None on 404 (property or issue missing)."""
        path = PROPERTY_PATH.format(issue=_segment(id_or_key), key=_segment(key))
        try:
            response = await self._transport.request("GET", path, idempotent=True)
        except NotFoundError:
            return None
        body = self._transport.json(response)
        if not isinstance(body, dict) or "value" not in body:
            raise protocol_error("jira", response, "entity property: no 'value'")
        return body["value"]

    # --- search ------------------------------------------------------------------------

    async def iter_search_pages(
        self,
        jql: str,
        *,
        fields: Sequence[str],
        properties: Sequence[str] | None = None,
        max_results: int = 100,
        max_pages: int = 100,
    ) -> AsyncGenerator[SearchPage, None]:
        """Pages of the enhanced search; the last one yielded carries ``stop_reason``.

        Guards against the token-pagination failure modes seen in the wild: a missing
        or repeated token, an empty page without ``isLast``, and unbounded paging.
        """
        token: str | None = None
        seen: set[str] = set()
        page_number = 0
        while True:
            page_number += 1
            body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": max_results}
            if properties:
                body["properties"] = list(properties)
            if token is not None:
                body["nextPageToken"] = token
            response = await self._transport.request(
                "POST", SEARCH_JQL_PATH, idempotent=True, json_body=body
            )
            page = self._transport.parse(
                SearchPage, self._transport.json(response), response, "search page"
            )
            next_token = page.next_page_token
            reason = search_stop_reason(page, token, seen, page_number, max_pages)
            if reason is None:
                yield page
                if token is not None:
                    seen.add(token)
                token = next_token
                continue
            log_search_stop(page_number, reason, page.is_last)
            yield page.model_copy(update={"stop_reason": reason})
            return

    async def search_jql(
        self, jql: str, **options: Unpack[SearchOptions]
    ) -> AsyncGenerator[JiraIssue, None]:
        """Every issue matching ``jql`` (``POST /rest/api/3/search/jql``, token paging);
        ``options`` are those of ``iter_search_pages``."""
        pages = self.iter_search_pages(jql, **options)
        async with aclosing(pages):
            async for page in pages:
                for issue in page.issues:
                    yield issue

    # --- metadata used to validate routing rules ---------------------------------------

    async def get_createmeta_issue_types(self, project: str) -> list[IssueTypeMeta]:
        path = CREATEMETA_ISSUE_TYPES_PATH.format(project=_segment(project))
        items = await offset_pages(
            self._transport, path, ("issueTypes", "values"), "createmeta issue types"
        )
        return [self._parse_item(IssueTypeMeta, item, path) for item in items]

    async def get_createmeta_fields(self, project: str, issue_type_id: str) -> list[FieldMeta]:
        path = CREATEMETA_FIELDS_PATH.format(
            project=_segment(project), issue_type=_segment(issue_type_id)
        )
        items = await offset_pages(self._transport, path, ("fields", "values"), "createmeta fields")
        return [self._parse_item(FieldMeta, item, path) for item in items]

    async def list_projects(self) -> list[JiraProject]:
        items = await offset_pages(
            self._transport, PROJECT_SEARCH_PATH, ("values",), "project search"
        )
        return [self._parse_item(JiraProject, item, PROJECT_SEARCH_PATH) for item in items]

    async def check_access(self) -> None:
        """One cheap authenticated read (``GET /myself``): raises if the credential is refused.

        The circuit breaker's probe: it answers whether the site accepts the token again.
        """
        await self._transport.request("GET", MYSELF_PATH, idempotent=True)

    async def find_account_id(self, email: str) -> str | None:
        """The account for a PeopleForce assignee's email; None when not exactly one fits.

        Jira hides ``emailAddress`` under some privacy settings, so a single active
        human user answered for the query is accepted when no address can be compared.
        """
        wanted = email.strip().casefold()
        if not wanted:
            return None
        response = await self._transport.request(
            "GET", USER_SEARCH_PATH, idempotent=True, params={"query": email.strip()}
        )
        body = self._transport.json(response)
        if not isinstance(body, list):
            raise protocol_error("jira", response, "user search: body is not a list")
        users = [self._transport.parse(JiraUser, item, response, "user") for item in body]
        humans = [u for u in users if u.active and u.account_type in (None, "atlassian")]
        exact = [u for u in humans if (u.email_address or "").strip().casefold() == wanted]
        if len(exact) == 1:
            return exact[0].account_id
        if not exact and len(humans) == 1 and humans[0].email_address is None:
            return humans[0].account_id
        return None

    def _parse_item(self, model: type[ModelT], item: dict[str, Any], path: str) -> ModelT:
        try:
            return model.model_validate(item)
        except ValidationError as exc:
            raise UpstreamProtocolError(
                service="jira",
                status=None,
                message=f"unexpected item from {path}: {summarise_validation_error(exc)}",
                method="GET",
                url=self._transport.url(path),
            ) from None
