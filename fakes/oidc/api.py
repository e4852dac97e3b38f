"""The provider's routes: discovery, authorize (with a consent page), token, JWKS, userinfo."""

from __future__ import annotations

import base64
from html import escape
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from fakes.oidc.state import FakeOidc, OidcError

router = APIRouter()

# What the authorization request carries through the consent page.
_AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)


def _fake(request: Request) -> FakeOidc:
    return request.app.state.oidc


def _error(error: OidcError) -> JSONResponse:
    body = {"error": error.error, "error_description": error.description}
    return JSONResponse(body, status_code=error.status)


@router.get("/.well-known/openid-configuration")
def discovery(request: Request) -> dict[str, Any]:
    return _fake(request).discovery()


@router.get("/jwks")
def jwks(request: Request) -> dict[str, Any]:
    return _fake(request).jwks()


def _consent_page(params: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{escape(params.get(name, ""))}">'
        for name in _AUTHORIZE_PARAMS
        if name in params
    )
    return (
        "<!doctype html><html><head><title>Fake OIDC sign-in</title></head><body>"
        "<h1>Fake OIDC provider</h1>"
        f"<p>{escape(params.get('client_id', ''))} asks who you are.</p>"
        '<form method="post" action="authorize">'
        f"{hidden}"
        '<label for="email">Email</label> '
        '<input id="email" name="email" type="email" required autofocus> '
        '<button type="submit" name="decision" value="allow">Sign in</button> '
        '<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>'
        "</form></body></html>"
    )


@router.get("/authorize")
def authorize_page(request: Request) -> Response:
    """The consent page where the tester types which email signs in."""
    params = dict(request.query_params)
    try:
        _fake(request).check_authorization(params)
    except OidcError as error:
        return _error(error)
    return HTMLResponse(_consent_page(params))


def _back_to_client(redirect_uri: str, **params: str | None) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=303)


@router.post("/authorize")
async def authorize(request: Request) -> Response:
    """Issue a code for the email typed (or report the denial) back to the client."""
    form = {key: str(value) for key, value in (await request.form()).items()}
    fake = _fake(request)
    try:
        fake.check_authorization(form)
    except OidcError as error:
        return _error(error)
    state = form.get("state")
    if form.get("decision") == "deny":
        return _back_to_client(form["redirect_uri"], error="access_denied", state=state)
    code = fake.issue_code(form, form.get("email", ""))
    return _back_to_client(form["redirect_uri"], code=code, state=state)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """client_secret_basic, else client_secret_post."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


@router.post("/token")
async def token(request: Request) -> Response:
    form = {key: str(value) for key, value in (await request.form()).items()}
    client_id, secret = _client_credentials(request, form)
    try:
        answer = _fake(request).redeem(form, client_id, secret)
    except OidcError as error:
        return _error(error)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.get("/userinfo")
def userinfo(request: Request) -> Response:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return _error(OidcError("invalid_token", "bearer token required", status=401))
    try:
        return JSONResponse(_fake(request).userinfo(header[7:].strip()))
    except OidcError as error:
        return _error(error)
