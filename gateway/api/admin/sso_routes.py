"""Sign-in with SSO: ``/login/sso`` sends the browser to the issuer, ``/login/sso/callback``
brings it back and starts an ordinary admin session.

Between the two, the flow's state, nonce and PKCE verifier live in a signed,
HttpOnly, ten-minute cookie scoped to these paths, so the callback only
completes in the browser that started the sign-in.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from gateway.admin.offload import run_in_thread
from gateway.api.admin.deps import EngineDep, SettingsDep, get_session_codec
from gateway.api.admin.login import LOGIN_PATH, safe_next
from gateway.api.admin.sessions import SessionData
from gateway.api.admin.templating import render
from gateway.settings import Settings
from gateway.sso.accounts import sso_account
from gateway.sso.oidc import PendingLogin, RelyingParty, SsoRefused
from gateway.sso.policy import sso_access

log = logging.getLogger("gateway.admin")
router = APIRouter(include_in_schema=False)

SSO_PATH = f"{LOGIN_PATH}/sso"
CALLBACK_PATH = f"{SSO_PATH}/callback"
PENDING_COOKIE = "gw_sso"
PENDING_MAX_AGE_SECONDS = 600
_SALT = "gateway.admin.sso"


class SsoFlow:
    """The app's relying party and the signer of the pending-login cookie."""

    def __init__(self, settings: Settings, secret_key: str) -> None:
        self.party = RelyingParty(settings)
        self.redirect_url = settings.oidc_redirect_url
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)

    def redirect_uri(self, request: Request) -> str:
        """The registered callback URL, or this server's own when none is configured."""
        return self.redirect_url or str(request.url_for("sso_callback"))

    def dump(self, pending: PendingLogin) -> str:
        return self._serializer.dumps(pending.__dict__)

    def load(self, request: Request) -> PendingLogin | None:
        raw = request.cookies.get(PENDING_COOKIE)
        if not raw:
            return None
        try:
            data: Any = self._serializer.loads(raw, max_age=PENDING_MAX_AGE_SECONDS)
            return PendingLogin(**data)
        except (BadSignature, TypeError):
            return None


def install_sso(app: FastAPI, settings: Settings, secret_key: str) -> None:
    """Serve the SSO routes when an issuer is configured (the login page then offers them)."""
    if not settings.sso_enabled:
        return
    app.state.sso = SsoFlow(settings, secret_key)
    app.include_router(router)


def _flow(request: Request) -> SsoFlow:
    flow = getattr(request.app.state, "sso", None)
    if flow is None:
        raise HTTPException(status_code=404)
    return flow


def _refused(request: Request, error: SsoRefused, status_code: int = 403) -> Response:
    log.warning("SSO sign-in refused: reason=%s", error.reason, extra={"reason": error.reason})
    session = SessionData.fresh()  # the password form on this page must still work
    response = render(
        request,
        "login.html",
        {"csrf_token": session.csrf, "next": "/admin", "error": error.message, "username": ""},
        status_code=status_code,
    )
    get_session_codec(request).write(request, response, session)
    response.delete_cookie(PENDING_COOKIE, path=SSO_PATH)
    return response


@router.get(SSO_PATH)
async def sso_start(request: Request, next: str | None = None) -> Response:
    """Send the browser to the issuer's sign-in page."""
    flow = _flow(request)
    try:
        url, pending = await flow.party.start(flow.redirect_uri(request), safe_next(next))
    except SsoRefused as error:
        return _refused(request, error, status_code=503)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        flow.dump(pending),
        max_age=PENDING_MAX_AGE_SECONDS,
        path=SSO_PATH,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get(CALLBACK_PATH, name="sso_callback")
async def sso_callback(request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    """Verify what the issuer sent back and start an admin session for an allowed address."""
    flow = _flow(request)
    pending = flow.load(request)
    try:
        if pending is None:
            raise SsoRefused("no_pending_login", "The sign-in expired; please start again.")
        identity = await flow.party.finish(pending, dict(request.query_params))
        role = sso_access(settings, identity.email)
        if role is None:
            raise SsoRefused("not_allowed", "This address may not sign in to the gateway.")
        owner = await run_in_thread(
            sso_account, engine, str(settings.oidc_issuer), identity.email, role
        )
    except SsoRefused as error:
        return _refused(request, error)
    response = RedirectResponse(pending.next_path, status_code=303)
    response.delete_cookie(PENDING_COOKIE, path=SSO_PATH)
    # A fresh session id and CSRF token, as for a password sign-in.
    get_session_codec(request).write(request, response, SessionData.fresh(owner))
    log.info(
        "admin signed in with SSO",
        extra={"username": identity.email, "role": role.value},
    )
    return response
