"""``/_fake`` routes of the OIDC provider: register clients, tamper with the next id token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from fakes.oidc.state import FakeOidc

router = APIRouter(prefix="/_fake")


class ClientIn(BaseModel):
    client_id: str
    client_secret: str
    redirect_uris: list[str]


def _fake(request: Request) -> FakeOidc:
    return request.app.state.oidc


@router.post("/clients")
def register(request: Request, body: ClientIn) -> dict[str, str]:
    _fake(request).register(body.client_id, body.client_secret, *body.redirect_uris)
    return {"client_id": body.client_id}


@router.post("/tamper")
def tamper(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Claims (and ``foreign_key``) overridden in the next id token only."""
    _fake(request).tamper = dict(body)
    return {"next_id_token": body}


@router.get("/state")
def state(request: Request) -> dict[str, Any]:
    fake = _fake(request)
    return {
        "clients": sorted(fake.clients),
        "pending_codes": len(fake.codes),
        "token_requests": fake.token_requests,
    }
