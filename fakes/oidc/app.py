"""``create_oidc_app``: the fake OpenID Connect provider as a FastAPI app."""

from __future__ import annotations

from fastapi import FastAPI

from fakes.oidc import api, control
from fakes.oidc.state import FakeOidc


def create_oidc_app(
    issuer: str,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uris: tuple[str, ...] = (),
) -> FastAPI:
    """The provider served at ``issuer``; ``app.state.oidc`` is its ``FakeOidc``.

    With ``client_id`` and ``client_secret`` one client is registered up front.
    """
    app = FastAPI(title="Fake OpenID Connect provider", docs_url=None, redoc_url=None)
    app.state.oidc = FakeOidc(issuer=issuer)
    if client_id and client_secret:
        app.state.oidc.register(client_id, client_secret, *redirect_uris)
    app.include_router(api.router)
    app.include_router(control.router)
    return app
