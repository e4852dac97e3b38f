"""Issue or rotate a domain's webhook secret: JSON API and admin UI.

The secret is in the response body once and nowhere else: the JSON answer and
the page that shows it are never cached, and nothing logs it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict

from gateway.admin.webhook_secrets import IssuedWebhookSecret, issue_webhook_secret
from gateway.api.admin.deps import DomainDep, FormDep, PageWriter, SessionDep, Writer
from gateway.api.admin.json_api import PREFIX
from gateway.api.admin.templating import render
from gateway.api.domain_webhooks import announce_secret_change

api_router = APIRouter(prefix=PREFIX, tags=["admin"])
page_router = APIRouter(include_in_schema=False)


class WebhookSecretRequest(BaseModel):
    """``rotate``: replace a current secret (kept as the previous one until the next rotation)."""

    model_config = ConfigDict(extra="forbid")

    rotate: bool = False


@api_router.post("/domains/{domain}/webhook-secret", response_model=IssuedWebhookSecret)
def issue_secret(
    request: Request,
    _: Writer,
    domain: DomainDep,
    db: SessionDep,
    body: WebhookSecretRequest | None = None,
) -> JSONResponse:
    """Generate the domain's webhook secret and return it, this once (409 when one is set
    and ``rotate`` is false; no body means ``{"rotate": false}``). Prefix ``webhook_path``
    with the gateway's https origin."""
    issued = issue_webhook_secret(db, domain, rotate=body is not None and body.rotate)
    db.commit()  # before the announcement: a process reloading then sees the new secrets
    announce_secret_change(request.app)
    return JSONResponse(issued.model_dump(), headers={"Cache-Control": "no-store"})


@page_router.post("/admin/domains/{domain}/webhook-secret")
def issue_secret_page(
    request: Request, principal: PageWriter, domain: DomainDep, form: FormDep, db: SessionDep
) -> HTMLResponse:
    """The new secret on a page of its own, with where to paste it in Jira."""
    issued = issue_webhook_secret(db, domain, rotate=form.get("rotate") == "1")
    db.commit()  # before the announcement: a process reloading then sees the new secrets
    announce_secret_change(request.app)
    origin = str(request.base_url).rstrip("/")
    return render(
        request,
        "webhook_secret.html",
        {
            "issued": issued,
            "webhook_url": origin + issued.webhook_path,
            "label": domain.tracking_label,
            "nav": "domains",
        },
        principal=principal,
    )
