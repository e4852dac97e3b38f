"""A fake OpenID Connect provider for sign-in tests and the demo.

It speaks enough of OpenID Connect Core and RFC 7636 for a real client to sign
in through it: a discovery document, an authorization endpoint whose consent
page lets the tester type which email signs in, the authorization code flow
with PKCE (S256 only), a token endpoint with client authentication, RS256 id
tokens signed with a key published in the JWKS, and userinfo. The ``/_fake``
control plane can tamper with the next id token (nonce, audience, issuer,
expiry, signing key) so tests can prove the client refuses each.

Modules as in the other fakes: ``state`` (``FakeOidc``: clients, codes, keys,
tokens), ``api`` (the provider's routes), ``control`` (``/_fake`` routes) and
``app`` (the app factory).
"""

from fakes.oidc.app import create_oidc_app
from fakes.oidc.state import FakeOidc, OidcClient

__all__ = ["FakeOidc", "OidcClient", "create_oidc_app"]
