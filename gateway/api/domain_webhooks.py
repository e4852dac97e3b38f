"""Per-domain Jira webhook ingress: ``POST /api/v1/webhooks/jira/{public id}``.

A multi-tenant gateway gives each domain its own URL and secret, so one Jira
site's secret can be issued, rotated or leaked without touching the others. The
path names the domain, which picks the secrets; the signature is then verified
on the raw bytes before anything parses the body, exactly as on the global URL.
A verified delivery must be about the domain's own Jira site and carry its
tracking label: one domain's secret cannot speak for another domain's issues.
"""

from __future__ import annotations

import re
from typing import Annotated

import anyio.from_thread
from fastapi import APIRouter, FastAPI, HTTPException, Path, Request
from fastapi.responses import Response
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from gateway.admin.webhook_secrets import DOMAIN_WEBHOOK_PREFIX
from gateway.api.delivery_queue import StaleDirectory
from gateway.api.signature import SignatureCheck, header_failure, verify_signature
from gateway.api.sites import (
    DIRECTORY_VERSION_KEY,
    MIN_RELOAD_INTERVAL_SECONDS,
    SITE_CACHE_TTL_SECONDS,
    Directory,
    DomainHook,
    SiteDomain,
    announce_directory_change,
)
from gateway.api.webhooks import (
    IDENTIFIER_HEADER,
    INVALID_SIGNATURE,
    OPENAPI_EXTRA,
    RESPONSES,
    IssueRef,
    delivery_token,
    enqueue,
    ignored,
    ingress_state,
    log,
    loggable,
    parse_issue_event,
    read_body,
    reject,
    signature_header,
)

DOMAIN_WEBHOOK_PATH = DOMAIN_WEBHOOK_PREFIX + "{public_id}"
NOT_THIS_DOMAIN = "delivery does not belong to this domain"

_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

router = APIRouter(tags=["webhooks"])
PublicId = Annotated[str, Path(description="The domain's public id, from its admin page.")]
Checked = tuple[DomainHook | None, SignatureCheck, str]
Verified = tuple[DomainHook, str]


def announce_secret_change(app: FastAPI) -> None:
    """After a committed rotation, from a route's worker thread: this process forgets its
    snapshot, and every other API process sees its own stale at its next delivery."""
    ingress_state(app).sites.forget()
    try:
        anyio.from_thread.run(announce_directory_change, app.state.redis)
    except (RedisError, OSError) as error:
        log.warning(
            "webhook secret rotated, but Redis could not tell the other API processes "
            "(%s); they accept the retired secret for up to %.0f s",
            type(error).__name__,
            SITE_CACHE_TTL_SECONDS,
        )


def _database_unavailable(error: Exception) -> HTTPException:
    log.error("webhook not verified, database unavailable: %s", type(error).__name__)
    return HTTPException(status_code=503, detail="database unavailable")


async def _snapshot(app: FastAPI, *, stale: str | None = None) -> Directory:
    """The in-process snapshot of the domains, loaded again first if it is still the one
    stamped with the ``stale`` version."""
    sites = ingress_state(app).sites
    if stale is not None:
        sites.forget(stale)
    try:
        return await sites.snapshot(app.state.engine, app.state.redis)
    except SQLAlchemyError as error:
        raise _database_unavailable(error) from None


async def _reloaded(app: FastAPI) -> bool:
    """Read the domains again unless the snapshot is under a second old; True if it was.

    A domain added since the snapshot is then seen at once.
    """
    try:
        return await ingress_state(app).sites.reload_if_older(
            app.state.engine, MIN_RELOAD_INTERVAL_SECONDS, app.state.redis
        )
    except SQLAlchemyError as error:
        raise _database_unavailable(error) from None


def _check(directory: Directory, public_id: str, body: bytes, header: str | None) -> Checked:
    hook = directory.hooks.get(public_id)
    check = verify_signature(body=body, header=header, secrets=hook.secrets if hook else ())
    return hook, check, directory.version


async def _verify(
    request: Request, public_id: str, body: bytes, *, stale: str | None = None
) -> Verified:
    """The domain whose secret signed ``body``, and the directory version that said so.

    The header's form first (401), so garbage never reaches the directory. Then the
    domain's secrets, current and previous, from the in-process snapshot; a failure
    may retry once against a fresh snapshot, at most once a second per process.
    """
    identifier = request.headers.get(IDENTIFIER_HEADER)
    header = signature_header(request)
    failure = header_failure(header)
    if failure is not None:
        raise reject(401, failure.value, INVALID_SIGNATURE, identifier)
    if not _PUBLIC_ID.fullmatch(public_id):
        raise reject(401, "unknown_domain", INVALID_SIGNATURE, identifier)
    hook, check, version = _check(
        await _snapshot(request.app, stale=stale), public_id, body, header
    )
    if not check.valid and await _reloaded(request.app):
        hook, check, version = _check(await _snapshot(request.app), public_id, body, header)
    if hook is None:
        raise reject(401, "unknown_domain", INVALID_SIGNATURE, identifier)
    if check.failure is not None:
        raise reject(401, check.failure.value, INVALID_SIGNATURE, identifier)
    if check.secret_index:
        log.info(
            "webhook signed with the domain's previous secret: domain=%s delivery=%s",
            hook.id,
            loggable(identifier),
        )
    return hook, version


async def _queue(
    app: FastAPI,
    hook: DomainHook,
    issue: IssueRef,
    body: bytes,
    identifier: str | None,
    version: str,
) -> Response:
    """Queue the delivery if it is about the domain's site and label, and only while the
    directory version it was verified under is current (else StaleDirectory)."""
    if issue.site != hook.site:
        raise reject(403, "other_site", NOT_THIS_DOMAIN, identifier)
    if hook.tracking_label not in issue.labels:
        raise reject(403, "other_label", NOT_THIS_DOMAIN, identifier)
    return await enqueue(
        app.state.redis,
        settings=app.state.settings,
        issue=issue,
        domains=[SiteDomain(id=hook.id, tracking_label=hook.tracking_label)],
        token=delivery_token(identifier, body),
        identifier=identifier,
        directory=(DIRECTORY_VERSION_KEY, version),
    )


@router.post(
    DOMAIN_WEBHOOK_PATH,
    status_code=202,
    summary="Receive a Jira admin webhook for one domain (its own secret)",
    responses={
        **RESPONSES,
        403: {"description": "Signed, but about another Jira site or without the label"},
    },
    openapi_extra=OPENAPI_EXTRA,
)
async def receive_domain_webhook(request: Request, public_id: PublicId) -> Response:
    """Queue a verified delivery for its domain, refusing one about another site or label.

    Called by FastAPI's router and, with the id cut from the path, by the app's fast
    path (``gateway.api.fast_ingress``): the verification is a plain call, not a
    dependency to resolve. A delivery verified against a snapshot older than a secret
    rotation is verified again against a fresh one, so a retired secret is refused at
    once in every API process; a second rotation meanwhile answers 503 (Jira retries).
    """
    app: FastAPI = request.app
    identifier = request.headers.get(IDENTIFIER_HEADER)
    body = await read_body(request, app.state.settings, identifier)
    hook, version = await _verify(request, public_id, body)
    issue = parse_issue_event(body, identifier)
    if issue is None:
        return ignored("event_type")
    try:
        return await _queue(app, hook, issue, body, identifier, version)
    except StaleDirectory:
        hook, version = await _verify(request, public_id, body, stale=version)
    try:
        return await _queue(app, hook, issue, body, identifier, version)
    except StaleDirectory:
        raise HTTPException(status_code=503, detail="domains changed; retry") from None
