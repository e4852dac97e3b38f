"""``FakeOidc``: the provider's clients, pending codes, tokens and signing key."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

ID_TOKEN_LIFETIME_SECONDS = 300
CODE_LIFETIME_SECONDS = 60


class OidcError(Exception):
    """An OAuth error answer: ``error`` is the RFC 6749 code, ``status`` the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class OidcClient:
    """A registered relying party."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass
class PendingCode:
    """An authorization code waiting to be redeemed, with what it was issued for."""

    client_id: str
    redirect_uri: str
    email: str
    nonce: str | None
    code_challenge: str
    expires_at: float


def _signing_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


def s256(verifier: str) -> str:
    """The RFC 7636 S256 code challenge of ``verifier``."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class FakeOidc:
    """The provider. ``issuer`` must be the URL it is served at (it is in every id token).

    ``tamper`` holds claim overrides (and ``"foreign_key": True``) for the next
    id token only, so a test can forge exactly one bad token.
    """

    issuer: str
    clients: dict[str, OidcClient] = field(default_factory=dict)
    codes: dict[str, PendingCode] = field(default_factory=dict)
    access_tokens: dict[str, str] = field(default_factory=dict)
    tamper: dict[str, Any] = field(default_factory=dict)
    email_verified: bool = True
    key: RSAKey = field(default_factory=lambda: _signing_key("fake-oidc-1"))
    token_requests: int = 0

    def register(self, client_id: str, client_secret: str, *redirect_uris: str) -> OidcClient:
        client = OidcClient(client_id, client_secret, tuple(redirect_uris))
        self.clients[client_id] = client
        return client

    def discovery(self) -> dict[str, Any]:
        base = self.issuer.rstrip("/")
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "email", "email_verified", "name"],
        }

    def jwks(self) -> dict[str, Any]:
        return dict(KeySet([self.key]).as_dict(private=False))

    def check_authorization(self, params: dict[str, str]) -> OidcClient:
        """The client an authorization request names, if the request is acceptable."""
        client = self.clients.get(params.get("client_id", ""))
        if client is None or params.get("redirect_uri") not in client.redirect_uris:
            # Never redirect to an unregistered URI: answer the browser directly.
            raise OidcError("invalid_request", "unknown client or redirect_uri")
        if params.get("response_type") != "code":
            raise OidcError("unsupported_response_type", "only the code flow is supported")
        if "openid" not in params.get("scope", "").split():
            raise OidcError("invalid_scope", "the openid scope is required")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            raise OidcError("invalid_request", "PKCE with S256 is required")
        return client

    def issue_code(self, params: dict[str, str], email: str) -> str:
        client = self.check_authorization(params)
        code = secrets.token_urlsafe(24)
        self.codes[code] = PendingCode(
            client_id=client.client_id,
            redirect_uri=params["redirect_uri"],
            email=email.strip(),
            nonce=params.get("nonce"),
            code_challenge=params["code_challenge"],
            expires_at=time.time() + CODE_LIFETIME_SECONDS,
        )
        return code

    def _client(self, client_id: str, client_secret: str) -> OidcClient:
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, client_secret):
            raise OidcError("invalid_client", "client authentication failed", status=401)
        return client

    def redeem(self, form: dict[str, str], client_id: str, client_secret: str) -> dict[str, Any]:
        """The token response for an authorization code (single use, PKCE-checked)."""
        self.token_requests += 1
        client = self._client(client_id, client_secret)
        if form.get("grant_type") != "authorization_code":
            raise OidcError("unsupported_grant_type", "only authorization_code")
        pending = self.codes.pop(form.get("code", ""), None)
        if pending is None or pending.expires_at < time.time():
            raise OidcError("invalid_grant", "unknown, used or expired code")
        if pending.client_id != client.client_id or pending.redirect_uri != form.get(
            "redirect_uri"
        ):
            raise OidcError("invalid_grant", "code issued to another client or redirect_uri")
        if s256(form.get("code_verifier", "")) != pending.code_challenge:
            raise OidcError("invalid_grant", "PKCE verification failed")
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = pending.email
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ID_TOKEN_LIFETIME_SECONDS,
            "id_token": self._id_token(client, pending),
            "scope": "openid email profile",
        }

    def _id_token(self, client: OidcClient, pending: PendingCode) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "sub-" + hashlib.sha256(pending.email.lower().encode()).hexdigest()[:16],
            "aud": client.client_id,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME_SECONDS,
            "email": pending.email,
            "email_verified": self.email_verified,
            "name": pending.email.split("@")[0],
        }
        if pending.nonce is not None:
            claims["nonce"] = pending.nonce
        tamper, self.tamper = self.tamper, {}
        key = self.key
        if tamper.pop("foreign_key", False):
            key = _signing_key(self.key.kid or "fake-oidc-1")
        claims.update(tamper)
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def userinfo(self, access_token: str) -> dict[str, Any]:
        email = self.access_tokens.get(access_token)
        if email is None:
            raise OidcError("invalid_token", "unknown access token", status=401)
        return {
            "sub": "sub-" + hashlib.sha256(email.lower().encode()).hexdigest()[:16],
            "email": email,
            "email_verified": self.email_verified,
        }
