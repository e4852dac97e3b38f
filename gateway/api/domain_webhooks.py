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

from fastapi import APIRouter, FastAPI, HTTPException, Path, Request
from fastapi.responses import Response
from sqlalchemy.exc import SQLAlchemyError

from gateway.admin.webhook_secrets import DOMAIN_WEBHOOK_PREFIX
from gateway.api.signature import header_failure, verify_signature
from gateway.api.sites import MIN_RELOAD_INTERVAL_SECONDS, DomainHook, SiteDomain
from gateway.api.webhooks import (
    IDENTIFIER_HEADER,
    INVALID_SIGNATURE,
    OPENAPI_EXTRA,
    RESPONSES,
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
from gateway.settings import Settings

DOMAIN_WEBHOOK_PATH = DOMAIN_WEBHOOK_PREFIX + "{public_id}"
NOT_THIS_DOMAIN = "delivery does not belong to this domain"

_PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

router = APIRouter(tags=["webhooks"])
PublicId = Annotated[str, Path(description="The domain's public id, from its admin page.")]


def _database_unavailable(error: Exception) -> HTTPException:
    log.error("webhook not verified, database unavailable: %s", type(error).__name__)
    return HTTPException(status_code=503, detail="database unavailable")


async def _find_hook(app: FastAPI, public_id: str) -> DomainHook | None:
    """The domain the path names, from the in-process snapshot."""
    try:
        return await ingress_state(app).sites.hook(app.state.engine, public_id)
    except SQLAlchemyError as error:
        raise _database_unavailable(error) from None


async def _reloaded(app: FastAPI) -> bool:
    """Read the domains again unless the snapshot is under a second old; True if it was.

    A secret rotated or a domain added since the snapshot is then seen at once.
    """
    try:
        return await ingress_state(app).sites.reload_if_older(
            app.state.engine, MIN_RELOAD_INTERVAL_SECONDS
        )
    except SQLAlchemyError as error:
        raise _database_unavailable(error) from None


async def domain_verified_body(request: Request, public_id: str) -> tuple[bytes, DomainHook]:
    """The raw body and the domain of a delivery signed with that domain's secret.

    Size first (413), then the header's form (401): neither needs to know the
    domain, so garbage never reaches the directory. Then the domain's secrets,
    current and previous, from the in-process snapshot; a failure may retry once
    against a fresh snapshot, at most once a second per process.
    """
    settings: Settings = request.app.state.settings
    identifier = request.headers.get(IDENTIFIER_HEADER)
    body = await read_body(request, settings, identifier)
    header = signature_header(request)
    failure = header_failure(header)
    if failure is not None:
        raise reject(401, failure.value, INVALID_SIGNATURE, identifier)
    if not _PUBLIC_ID.fullmatch(public_id):
        raise reject(401, "unknown_domain", INVALID_SIGNATURE, identifier)
    hook = await _find_hook(request.app, public_id)
    check = verify_signature(body=body, header=header, secrets=hook.secrets if hook else ())
    if not check.valid and await _reloaded(request.app):
        hook = await _find_hook(request.app, public_id)
        check = verify_signature(body=body, header=header, secrets=hook.secrets if hook else ())
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
    return body, hook


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
    dependency to resolve.
    """
    body, hook = await domain_verified_body(request, public_id)
    identifier = request.headers.get(IDENTIFIER_HEADER)
    issue = parse_issue_event(body, identifier)
    if issue is None:
        return ignored("event_type")
    if issue.site != hook.site:
        raise reject(403, "other_site", NOT_THIS_DOMAIN, identifier)
    if hook.tracking_label not in issue.labels:
        raise reject(403, "other_label", NOT_THIS_DOMAIN, identifier)
    app: FastAPI = request.app
    return await enqueue(
        app.state.redis,
        settings=app.state.settings,
        issue=issue,
        domains=[SiteDomain(id=hook.id, tracking_label=hook.tracking_label)],
        token=delivery_token(identifier, body),
        identifier=identifier,
    )
