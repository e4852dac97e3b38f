"""The demo's single sign-on: the admin UI signs in through a fake OpenID Connect provider.

So ``make demo`` shows the SSO button working end to end: the login page's
"Sign in with SSO" leads to the fake provider's consent page, where any address
of the demo's email domain signs in (the one below as admin).
"""

from __future__ import annotations

import secrets

from pydantic import SecretStr

from fakes.oidc import FakeOidc, create_oidc_app
from fakes.server import FakeServer
from gateway.settings import Settings

DEMO_SSO_DOMAIN = "demo.test"
DEMO_SSO_ADMIN = f"admin@{DEMO_SSO_DOMAIN}"
DEMO_CLIENT_ID = "gateway-demo"
CALLBACK_PATH = "/login/sso/callback"


class DemoSso:
    """The running fake provider and the gateway's client registered with it."""

    def __init__(self, host: str) -> None:
        self._client_secret = secrets.token_urlsafe(24)
        app = create_oidc_app("http://placeholder")
        self.server = FakeServer(app, host=host).start()
        self.fake: FakeOidc = app.state.oidc
        self.fake.issuer = self.server.url

    @property
    def url(self) -> str:
        return self.server.url

    def configure(self, settings: Settings) -> Settings:
        """``settings`` with SSO pointed at the fake provider."""
        return settings.model_copy(
            update={
                "oidc_issuer": self.server.url,
                "oidc_client_id": DEMO_CLIENT_ID,
                "oidc_client_secret": SecretStr(self._client_secret),
                "oidc_allowed_domains": DEMO_SSO_DOMAIN,
                "oidc_admin_emails": DEMO_SSO_ADMIN,
            }
        )

    def register(self, api_url: str) -> None:
        """Accept the API's callback, under 127.0.0.1 and localhost alike."""
        callbacks = {
            api_url + CALLBACK_PATH,
            api_url.replace("127.0.0.1", "localhost") + CALLBACK_PATH,
        }
        self.fake.register(DEMO_CLIENT_ID, self._client_secret, *sorted(callbacks))

    def stop(self) -> None:
        self.server.stop()
