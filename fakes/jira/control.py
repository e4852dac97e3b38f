"""``/_fake`` control plane of the fake Jira: what people and admins do in the UI.

Scenarios play the human side over HTTP (close an issue through whatever
workflow its project has, strip a label, move an issue, require a new field)
and steer webhook delivery faults, the index lag and rate limits. Each route
is a one-line call into ``FakeJira`` so Python and HTTP drive the same code.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from fakes.jira.fake import FakeJira
from fakes.jira.ratelimit import RateLimiter, RateLimits
from fakes.jira.webhooks import DEFAULT_FILTER

__all__ = ["RateLimitSettings", "control_router"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def args(self) -> dict[str, Any]:
        """The fields as keyword arguments: a body's fields are named like the parameters
        of the ``FakeJira`` method its route calls."""
        return dict(self)


class CreateBody(_Body):
    project: str
    summary: str
    issue_type: str = "Task"
    labels: list[str] = []
    description: str | None = None
    properties: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    as_user: str | None = None


class TransitionBody(_Body):
    name: str | None = Field(default=None, description="transition name or id")
    status: str | None = Field(default=None, description="target status name")
    to_category: Literal["new", "indeterminate", "done"] | None = None
    as_user: str | None = None


class ActorBody(_Body):
    as_user: str | None = None


class EditBody(_Body):
    fields: dict[str, Any]
    as_user: str | None = None


class LabelsBody(_Body):
    add: list[str] = []
    remove: list[str] = []
    as_user: str | None = None


class MoveBody(_Body):
    project: str
    issue_type: str | None = None
    as_user: str | None = None


class ProjectBody(_Body):
    key: str
    name: str | None = None
    workflow: Literal["simple", "it"] = "simple"
    issue_types: list[str] = ["Task", "Bug"]
    priorities: list[str] | None = None


class IssueTypeBody(_Body):
    name: str
    description: str = ""


class RequiredBody(_Body):
    issue_type: str
    field: str
    required: bool = True
    name: str | None = None
    allowed_values: list[str] | None = None


class UserBody(_Body):
    email: str
    display_name: str | None = None
    account_id: str | None = None
    active: bool = True
    email_visible: bool = True


class BulkErrorsBody(_Body):
    issue_ids: list[str] = Field(default_factory=list)


class LagBody(_Body):
    seconds: float = Field(ge=0)


class RateLimitSettings(_Body):
    enabled: bool | None = None
    html: bool | None = None
    read_per_second: int | None = Field(default=100, ge=1)
    write_per_second: int | None = Field(default=50, ge=1)
    issue_write_windows: list[tuple[int, float]] = [(20, 2.0), (100, 30.0)]


class WebhookBody(_Body):
    url: str
    name: str = "gateway"
    secret: str | None = None
    jql: str | None = DEFAULT_FILTER
    events: list[str] = ["jira:issue_updated"]
    exclude_body: bool = False


class WebhookFaultsBody(_Body):
    drop_rate: float | None = Field(default=None, ge=0, le=1)
    duplicate_rate: float | None = Field(default=None, ge=0, le=1)
    duplicate_count: int | None = Field(default=None, ge=1)
    delay: tuple[float, float] | None = None
    reorder: bool | None = None


class DrainBody(_Body):
    timeout: float = Field(default=30.0, gt=0)


def control_router(jira: FakeJira, limiter: RateLimiter, settings: dict[str, bool]) -> APIRouter:
    """Routes under ``/_fake``; ``settings`` holds the mutable rate-limit switches."""
    router = APIRouter(prefix="/_fake", tags=["fake control"])

    def issue_summary(id_or_key: str) -> dict[str, Any]:
        issue = jira.issue(id_or_key)
        return {
            "id": str(issue.id),
            "key": issue.key,
            "status": issue.status,
            "status_category": issue.status_def.category,
            "labels": issue.labels,
        }

    @router.get("/state")
    def state() -> dict[str, Any]:
        return jira.dump()

    @router.post("/issues", status_code=201)
    def create(body: CreateBody) -> dict[str, Any]:
        args = body.args()
        fields = args.pop("fields")
        args["properties"] = body.properties or None
        issue = jira.create(**args, **fields)
        return issue_summary(str(issue.id))

    @router.post("/issues/{id_or_key}/transition")
    def transition(id_or_key: str, body: TransitionBody) -> dict[str, Any]:
        used = jira.transition(id_or_key, **body.args())
        return {"transitions": used, "issue": issue_summary(id_or_key)}

    @router.post("/issues/{id_or_key}/reopen")
    def reopen(id_or_key: str, body: ActorBody | None = None) -> dict[str, Any]:
        used = jira.reopen(id_or_key, as_user=body.as_user if body else None)
        return {"transitions": used, "issue": issue_summary(id_or_key)}

    @router.post("/issues/{id_or_key}/edit")
    def edit(id_or_key: str, body: EditBody) -> dict[str, Any]:
        items = jira.edit(id_or_key, as_user=body.as_user, **body.fields)
        return {"changelog": items, "issue": issue_summary(id_or_key)}

    @router.post("/issues/{id_or_key}/labels")
    def labels(id_or_key: str, body: LabelsBody) -> dict[str, Any]:
        items = jira.edit_labels(id_or_key, **body.args())
        return {"changelog": items, "issue": issue_summary(id_or_key)}

    @router.post("/issues/{id_or_key}/move")
    def move(id_or_key: str, body: MoveBody) -> dict[str, Any]:
        new_key = jira.move(
            id_or_key, body.project, issue_type=body.issue_type, as_user=body.as_user
        )
        return issue_summary(new_key)

    @router.delete("/issues/{id_or_key}")
    def delete(id_or_key: str, as_user: str | None = None) -> Response:
        jira.delete(id_or_key, as_user=as_user)
        return Response(status_code=204)

    @router.post("/projects", status_code=201)
    def add_project(body: ProjectBody) -> dict[str, Any]:
        p = jira.add_project(**body.args())
        return {"id": p.id, "key": p.key, "name": p.name, "workflow": p.workflow.name}

    @router.post("/projects/{key}/issuetypes", status_code=201)
    def add_issue_type(key: str, body: IssueTypeBody) -> dict[str, Any]:
        t = jira.add_issue_type(key, body.name, body.description)
        return {"id": t.id, "name": t.name}

    @router.post("/projects/{key}/required")
    def require_field(key: str, body: RequiredBody) -> dict[str, Any]:
        fdef = jira.require_field(
            key,
            body.issue_type,
            body.field,
            required=body.required,
            name=body.name,
            allowed_values=body.allowed_values,
        )
        return {"field": fdef.id, "name": fdef.name, "required": body.required}

    @router.post("/users", status_code=201)
    def add_user(body: UserBody) -> dict[str, Any]:
        u = jira.add_user(
            body.email,
            body.display_name,
            account_id=body.account_id,
            active=body.active,
            email_visible=body.email_visible,
        )
        return {"accountId": u.account_id, "email": u.email, "displayName": u.display_name}

    @router.put("/bulkfetch-errors")
    def bulkfetch_errors(body: BulkErrorsBody) -> dict[str, Any]:
        """The issue ids bulkfetch answers in ``issueErrors`` from now on (empty: none)."""
        with jira.lock:
            jira.bulkfetch_errors = {int(i) for i in body.issue_ids}
        return {"issue_ids": sorted(str(i) for i in jira.bulkfetch_errors)}

    @router.post("/index-lag")
    def index_lag(body: LagBody) -> dict[str, Any]:
        jira.set_index_lag(body.seconds)
        return {"index_lag": jira.index_lag}

    def limits_state() -> dict[str, Any]:
        return {**settings, **asdict(limiter.limits)}

    @router.get("/rate-limits")
    def get_rate_limits() -> dict[str, Any]:
        return limits_state()

    @router.post("/rate-limits")
    def set_rate_limits(body: RateLimitSettings) -> dict[str, Any]:
        if body.enabled is not None:
            settings["enabled"] = body.enabled
        if body.html is not None:
            settings["html"] = body.html
        limiter.configure(
            RateLimits(
                read_per_second=body.read_per_second,
                write_per_second=body.write_per_second,
                issue_write_windows=tuple(body.issue_write_windows),
            )
        )
        return limits_state()

    @router.get("/webhooks")
    def webhooks() -> dict[str, Any]:
        return jira.webhooks.snapshot()

    @router.post("/webhooks", status_code=201)
    def add_webhook(body: WebhookBody) -> dict[str, Any]:
        hook = jira.webhooks.register(
            body.url,
            name=body.name,
            events=body.events,
            jql=body.jql,
            secret=body.secret,
            exclude_body=body.exclude_body,
        )
        return hook.to_json(jira.base_url)

    @router.delete("/webhooks/{hook_id:int}")
    def delete_webhook(hook_id: int) -> Response:
        jira.webhooks.unregister(hook_id)
        return Response(status_code=204)

    @router.post("/webhooks/faults")
    def webhook_faults(body: WebhookFaultsBody) -> dict[str, Any]:
        changes = body.model_dump(exclude_none=True)
        return asdict(jira.webhooks.set_faults(**changes))

    @router.delete("/webhooks/faults")
    def clear_webhook_faults() -> dict[str, Any]:
        jira.webhooks.clear_faults()
        return asdict(jira.webhooks.faults)

    @router.get("/webhooks/log")
    def webhook_log() -> dict[str, Any]:
        return {
            "deliveries": [asdict(r) for r in jira.webhooks.log],
            "counters": jira.webhooks.counters(),
        }

    @router.delete("/webhooks/log")
    def clear_webhook_log() -> Response:
        jira.webhooks.reset_log()
        return Response(status_code=204)

    @router.post("/webhooks/drain")
    async def drain(body: DrainBody | None = None) -> dict[str, Any]:
        await jira.webhooks.drain(timeout=body.timeout if body else 30.0)
        return jira.webhooks.counters()

    return router
