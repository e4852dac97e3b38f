"""Jira webhook ingress: ``POST /api/v1/webhooks/jira``.

The raw body is read under a size limit and its signature verified before
anything parses it or touches Redis or the database. A verified
``jira:issue_updated`` for a tracked issue of a known site is deduplicated and
queued as an ARQ job; the answer is 202 only once the job is queued, so Jira
retries (5xx) whatever the gateway could not take on.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import orjson
from arq.connections import ArqRedis
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import ClientDisconnect

from gateway import metrics
from gateway.api.delivery_queue import QueuedJob, queue_delivery
from gateway.api.signature import SIGNATURE_HEADER, verify_signature
from gateway.api.sites import (
    SiteDirectory,
    SiteDomain,
    UnknownSiteThrottle,
    record_unknown_site,
    site_of_issue,
)
from gateway.jobs import ISSUE_EVENT_JOB
from gateway.settings import Settings

WEBHOOK_PATH = "/api/v1/webhooks/jira"
TRACKED_EVENT = "jira:issue_updated"
IDENTIFIER_HEADER = "X-Atlassian-Webhook-Identifier"
RETRY_HEADER = "X-Atlassian-Webhook-Retry"
DEDUPE_KEY_PREFIX = "gateway:webhook:seen:"
JOB_ID_PREFIX = "jira-event:"
INVALID_SIGNATURE = "invalid signature"
BODY_TIMEOUT = "body not received in time"

log = logging.getLogger("gateway.webhooks")

_REDIS_ERRORS = (RedisError, OSError)
_CONTENT_LENGTH = re.compile(r"[0-9]+")
_SAFE_IDENTIFIER = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ISSUE_ID = re.compile(r"[0-9]{1,19}")
_MAX_ISSUE_KEY_LENGTH = 255
_CLOSE = {"Connection": "close"}

router = APIRouter(tags=["webhooks"])


@dataclass(frozen=True, slots=True)
class IssueRef:
    """The parts of a verified ``jira:issue_updated`` payload the ingress routes on."""

    issue_id: str
    issue_key: str | None
    site: str
    labels: frozenset[str]


@dataclass
class IngressState:
    """Per-app caches of the ingress, created on first use."""

    sites: SiteDirectory = field(default_factory=SiteDirectory)
    unknown_sites: UnknownSiteThrottle = field(default_factory=UnknownSiteThrottle)


def ingress_state(app: FastAPI) -> IngressState:
    """The app's ingress caches (tests may replace them, e.g. with a fake clock)."""
    state = getattr(app.state, "jira_webhooks", None)
    if state is None:
        state = IngressState()
        app.state.jira_webhooks = state
    return state


def configured_secrets(settings: Settings) -> list[str]:
    """Current secret first, then the previous one while it is rotated out."""
    secrets = [settings.jira_webhook_secret, settings.jira_webhook_secret_previous]
    return [secret.get_secret_value() for secret in secrets if secret is not None]


def loggable(identifier: str | None) -> str:
    """The delivery identifier as it may appear in a log line (unauthenticated input)."""
    if not identifier:
        return "-"
    return "".join(c if c.isprintable() else "?" for c in identifier[:80])


def reject(
    status: int, reason: str, detail: str, identifier: str | None, *, close: bool = False
) -> HTTPException:
    metrics.WEBHOOKS_REJECTED.labels(reason=reason).inc()
    log.warning("webhook rejected: reason=%s delivery=%s", reason, loggable(identifier))
    return HTTPException(status_code=status, detail=detail, headers=_CLOSE if close else None)


async def read_body(request: Request, settings: Settings, identifier: str | None) -> bytes:
    """The raw body: 413 as soon as it is known to exceed the size limit, 408 (closing the
    connection) when it has not arrived in full in time, so a client trickling a body
    cannot hold a connection and a task for as long as it likes."""
    limit = settings.webhook_max_body_bytes
    declared = request.headers.get("content-length", "").strip()
    if _CONTENT_LENGTH.fullmatch(declared) and int(declared) > limit:
        raise reject(413, "too_large", "payload too large", identifier)
    body = bytearray()
    try:
        # asyncio's timeout costs a third of the CPU of anyio.fail_after per request
        async with asyncio.timeout(settings.webhook_body_timeout_seconds):
            async for chunk in request.stream():
                body += chunk
                if len(body) > limit:
                    raise reject(413, "too_large", "payload too large", identifier)
    except ClientDisconnect:
        raise HTTPException(status_code=400, detail="incomplete body") from None
    except TimeoutError:
        raise reject(408, "slow_body", BODY_TIMEOUT, identifier, close=True) from None
    return bytes(body)


def signature_header(request: Request) -> str | None:
    """The signature header; several are joined, which no valid signature survives."""
    return ",".join(request.headers.getlist(SIGNATURE_HEADER)) or None


async def verified_body(request: Request) -> bytes:
    """The raw body of a delivery whose size and signature are acceptable (else 413/401)."""
    settings: Settings = request.app.state.settings
    identifier = request.headers.get(IDENTIFIER_HEADER)
    body = await read_body(request, settings, identifier)
    header = signature_header(request)
    check = verify_signature(body=body, header=header, secrets=configured_secrets(settings))
    if check.failure is not None:
        raise reject(401, check.failure.value, INVALID_SIGNATURE, identifier)
    if check.secret_index:
        log.info("webhook signed with the previous secret: delivery=%s", loggable(identifier))
    return body


def decode_json(body: bytes) -> Any:
    """The body decoded by orjson, several times faster than the standard library.

    orjson reads strict UTF-8 JSON only; a body it refuses (NaN, an integer beyond
    64 bits, UTF-16, a byte order mark, nesting beyond its limit) is decoded by the
    standard library, so exactly the bodies ``json.loads`` accepts are accepted.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _load_object(body: bytes, identifier: str | None) -> dict[str, Any]:
    try:
        payload = decode_json(body)
    except (ValueError, RecursionError):
        raise reject(400, "bad_payload", "body is not JSON", identifier) from None
    if not isinstance(payload, dict):
        raise reject(400, "bad_payload", "body is not a JSON object", identifier)
    return payload


def _read_issue(payload: dict[str, Any], identifier: str | None) -> IssueRef:
    """The issue reference, or 400 when the payload lacks what routing needs."""
    issue = payload.get("issue")
    if not isinstance(issue, dict):
        raise reject(400, "bad_payload", "payload has no issue", identifier)
    raw_id = issue.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool) and raw_id >= 0:
        raw_id = str(raw_id)
    if not isinstance(raw_id, str) or not _ISSUE_ID.fullmatch(raw_id):
        raise reject(400, "bad_payload", "payload has no valid issue.id", identifier)
    issue_url = issue.get("self")
    site = site_of_issue(issue_url, raw_id) if isinstance(issue_url, str) else None
    if site is None:
        raise reject(400, "bad_payload", "payload has no valid issue.self", identifier)
    key = issue.get("key")
    fields = issue.get("fields")
    labels = fields.get("labels") if isinstance(fields, dict) else None
    if not isinstance(labels, list):
        labels = []
    return IssueRef(
        issue_id=raw_id,
        issue_key=key if isinstance(key, str) and len(key) <= _MAX_ISSUE_KEY_LENGTH else None,
        site=site,
        labels=frozenset(label for label in labels if isinstance(label, str)),
    )


def parse_issue_event(body: bytes, identifier: str | None) -> IssueRef | None:
    """The issue of a verified ``jira:issue_updated``; None for another event type (which
    the gateway does not act on); 400 when the body is not a usable event."""
    payload = _load_object(body, identifier)
    event = payload.get("webhookEvent")
    if not isinstance(event, str):
        raise reject(400, "bad_payload", "payload has no webhookEvent", identifier)
    if event != TRACKED_EVENT:
        return None
    return _read_issue(payload, identifier)


def delivery_token(identifier: str | None, body: bytes) -> str:
    """What identifies a delivery across Jira's retries, safe in a Redis key and a job id.

    Jira's identifier when sent (hashed if unusual), else a digest of the body.
    """
    if identifier:
        if _SAFE_IDENTIFIER.fullmatch(identifier):
            return identifier
        return "id-" + hashlib.sha256(identifier.encode()).hexdigest()
    return "body-" + hashlib.sha256(body).hexdigest()


def dedupe_key(site: str, token: str) -> str:
    """Identifiers are unique per Jira tenant, so the key is scoped to the site."""
    return f"{DEDUPE_KEY_PREFIX}{hashlib.sha256(site.encode()).hexdigest()[:16]}:{token}"


def job_id(domain_id: int, issue_id: str, token: str) -> str:
    """Distinct per delivery, so a second event never folds into a job already running."""
    return f"{JOB_ID_PREFIX}{domain_id}:{issue_id}:{token}"


@functools.cache
def _status_body(status: str, reason: str | None) -> bytes:
    content = {"status": status} if reason is None else {"status": status, "reason": reason}
    return bytes(JSONResponse(content).body)


def status_answer(status_code: int, status: str, reason: str | None = None) -> Response:
    """``{"status": ..., "reason": ...}`` as JSONResponse renders it, rendered once."""
    return Response(
        _status_body(status, reason), status_code=status_code, media_type="application/json"
    )


def ignored(reason: str) -> Response:
    metrics.WEBHOOKS_IGNORED.labels(reason=reason).inc()
    return status_answer(200, "ignored", reason)


def _queue_unavailable(error: Exception, identifier: str | None) -> HTTPException:
    metrics.WEBHOOKS_ENQUEUE_FAILURES.inc()
    log.error(
        "webhook not queued, Redis unavailable: delivery=%s error=%s",
        loggable(identifier),
        type(error).__name__,
    )
    return HTTPException(status_code=503, detail="queue unavailable")


async def _record_unknown(app: FastAPI, state: IngressState, issue: IssueRef) -> None:
    if not state.unknown_sites.allow(issue.site):
        return
    try:
        await anyio.to_thread.run_sync(
            lambda: record_unknown_site(
                app.state.engine,
                site=issue.site,
                issue_id=issue.issue_id,
                issue_key=issue.issue_key,
            )
        )
    except SQLAlchemyError as error:
        log.warning("could not record a delivery from an unknown site: %s", type(error).__name__)


async def enqueue(
    redis: ArqRedis,
    *,
    settings: Settings,
    issue: IssueRef,
    domains: list[SiteDomain],
    token: str,
    identifier: str | None,
    directory: tuple[str, str] = ("", ""),
) -> Response:
    """Dedupe, then queue one job per domain, atomically; 202 only once they are queued."""
    jobs = [
        QueuedJob(
            ISSUE_EVENT_JOB,
            (domain.id, issue.issue_id),
            job_id(domain.id, issue.issue_id, token),
        )
        for domain in domains
    ]
    try:
        # With Sentinel, this also waits until a replica holds the delivery.
        queued = await queue_delivery(
            redis,
            dedupe_key=dedupe_key(issue.site, token),
            dedupe_ttl_seconds=settings.webhook_dedupe_ttl_seconds,
            jobs=jobs,
            directory=directory,
        )
    except _REDIS_ERRORS as error:
        raise _queue_unavailable(error, identifier) from None
    if not queued:
        metrics.WEBHOOK_DUPLICATES.inc()
        return status_answer(200, "duplicate")
    metrics.WEBHOOKS_ACCEPTED.inc()
    # DEBUG: the access log already has a line per request (with the same request and
    # trace ids); this one adds Jira's delivery identifier when debugging. Checked
    # first, so the identifier is not made loggable for a line nobody writes.
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "webhook queued: delivery=%s issue=%s jobs=%d",
            loggable(identifier),
            issue.issue_id,
            len(jobs),
        )
    return status_answer(202, "queued")


_STATUS_SCHEMA = {
    "type": "object",
    "properties": {"status": {"type": "string"}, "reason": {"type": "string"}},
}
_DETAIL_SCHEMA = {"type": "object", "properties": {"detail": {"type": "string"}}}


def _described(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: _described("Duplicate, or an event the gateway does not act on", _STATUS_SCHEMA),
    202: _described("Verified and queued", _STATUS_SCHEMA),
    400: _described("Signed, but not a usable issue event", _DETAIL_SCHEMA),
    401: _described("Missing or invalid signature", _DETAIL_SCHEMA),
    413: _described("Body larger than the configured limit", _DETAIL_SCHEMA),
    503: _described("Queue or database unavailable; Jira retries", _DETAIL_SCHEMA),
}
OPENAPI_EXTRA: dict[str, Any] = {
    "parameters": [
        {"name": SIGNATURE_HEADER, "in": "header", "schema": {"type": "string"}},
        {"name": IDENTIFIER_HEADER, "in": "header", "schema": {"type": "string"}},
        {"name": RETRY_HEADER, "in": "header", "schema": {"type": "string"}},
    ],
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
}


@router.post(
    WEBHOOK_PATH,
    status_code=202,
    summary="Receive a Jira admin webhook (the global secret, single-tenant installs)",
    responses=RESPONSES,
    openapi_extra=OPENAPI_EXTRA,
)
async def receive_jira_webhook(request: Request) -> Response:
    """Route a verified delivery: ignore it, or dedupe and queue it for a worker.

    A plain function of the request (no dependencies to resolve), so the app's
    fast path (``gateway.api.fast_ingress``) calls it without FastAPI's routing.
    """
    body = await verified_body(request)
    identifier = request.headers.get(IDENTIFIER_HEADER)
    issue = parse_issue_event(body, identifier)
    if issue is None:
        return ignored("event_type")

    app: FastAPI = request.app
    state = ingress_state(app)
    try:
        domains = await state.sites.lookup(app.state.engine, issue.site, app.state.redis)
    except SQLAlchemyError as error:
        log.error("webhook not routed, database unavailable: %s", type(error).__name__)
        raise HTTPException(status_code=503, detail="database unavailable") from None
    if not domains:
        await _record_unknown(app, state, issue)
        return ignored("unknown_site")
    tracked = [domain for domain in domains if domain.tracking_label in issue.labels]
    if not tracked:
        return ignored("untracked_label")
    return await enqueue(
        app.state.redis,
        settings=app.state.settings,
        issue=issue,
        domains=tracked,
        token=delivery_token(identifier, body),
        identifier=identifier,
    )
