"""The OpenID Connect relying party: authorization code flow with PKCE, verified id tokens.

Authlib builds the authorization request and validates the id token's claims
(issuer, audience, expiry, nonce, ``at_hash``); joserfc verifies its signature
against the issuer's published keys. Each refusal names its reason for the log
and the metric; the browser only learns that the sign-in was refused.

What binds a callback to the browser that started it: ``state`` (kept in a
signed cookie of that browser) stops a forged callback, the ``nonce`` in the id
token stops a replayed token, and PKCE stops a stolen code from being redeemed
by anyone without the verifier.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization

from gateway.settings import Settings

SCOPE = "openid email profile"
SIGNING_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "ES256", "ES384"})
METADATA_TTL_SECONDS = 3600.0
CLOCK_LEEWAY_SECONDS = 60


class SsoRefused(Exception):
    """The sign-in is refused; ``reason`` is a short code for logs and metrics."""

    def __init__(self, reason: str, message: str = "Single sign-on was refused.") -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class PendingLogin:
    """What the browser's signed cookie carries between the redirect and the callback."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    next_path: str


@dataclass(frozen=True)
class SsoIdentity:
    """Who the issuer says signed in (the email is lower-cased)."""

    subject: str
    email: str


class RelyingParty:
    """The gateway as an OIDC client of the configured issuer.

    The discovery document and the issuer's keys are cached for an hour; the
    keys are fetched again at once when a token names a key id not seen yet
    (the issuer rotated its keys).
    """

    def __init__(self, settings: Settings) -> None:
        if settings.oidc_issuer is None or settings.oidc_client_secret is None:
            raise ValueError("SSO is not configured")
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id or ""
        self._client_secret = settings.oidc_client_secret.get_secret_value()
        self._timeout = settings.http_timeout_seconds
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    async def _get_json(self, http: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
        try:
            response = await http.get(url)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError):
            raise SsoRefused(f"{what}_unavailable") from None
        if not isinstance(data, dict):
            raise SsoRefused(f"{what}_unavailable")
        return data

    async def metadata(self, http: httpx.AsyncClient) -> dict[str, Any]:
        """The issuer's discovery document, which must name this very issuer."""
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_SECONDS:
            url = f"{self.issuer}/.well-known/openid-configuration"
            document = await self._get_json(http, url, "discovery")
            if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                raise SsoRefused("issuer_mismatch")
            self._metadata, self._metadata_at, self._keys = document, time.monotonic(), None
        return self._metadata

    async def _key_set(self, http: httpx.AsyncClient, *, refresh: bool) -> KeySet:
        if self._keys is None or refresh:
            metadata = await self.metadata(http)
            document = await self._get_json(http, str(metadata.get("jwks_uri", "")), "jwks")
            try:
                self._keys = KeySet.import_key_set(cast(KeySetSerialization, document))
            except (JoseError, ValueError, TypeError, KeyError):
                raise SsoRefused("jwks_unusable") from None
        return self._keys

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self._timeout, follow_redirects=False)

    async def start(self, redirect_uri: str, next_path: str) -> tuple[str, PendingLogin]:
        """The issuer's authorization URL and what the callback must match."""
        async with self.client() as http:
            endpoint = str((await self.metadata(http)).get("authorization_endpoint", ""))
        pending = PendingLogin(
            state=generate_token(32),
            nonce=generate_token(32),
            code_verifier=generate_token(64),
            redirect_uri=redirect_uri,
            next_path=next_path,
        )
        url = prepare_grant_uri(
            endpoint,
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=SCOPE,
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.code_verifier),
            code_challenge_method="S256",
        )
        return url, pending

    async def finish(self, pending: PendingLogin, params: Mapping[str, str]) -> SsoIdentity:
        """Check the callback against ``pending``, redeem the code, verify the id token."""
        if not hmac.compare_digest(params.get("state", ""), pending.state):
            raise SsoRefused("state_mismatch")
        if params.get("error"):
            raise SsoRefused("denied_by_issuer", "The identity provider did not sign you in.")
        code = params.get("code", "")
        if not code:
            raise SsoRefused("no_code")
        async with self.client() as http:
            tokens = await self._redeem(http, pending, code)
            claims = await self._verified_claims(http, pending, tokens)
            email, verified = claims.get("email"), claims.get("email_verified")
            if not isinstance(email, str) or not email:
                info = await self._userinfo(http, str(tokens.get("access_token", "")))
                email, verified = info.get("email"), info.get("email_verified", verified)
        if not isinstance(email, str) or "@" not in email:
            raise SsoRefused("no_email", "The identity provider did not share an email address.")
        if verified is False or verified == "false":
            raise SsoRefused("email_unverified", "Your email address is not verified.")
        return SsoIdentity(subject=str(claims.get("sub", "")), email=email.strip().lower())

    async def _redeem(
        self, http: httpx.AsyncClient, pending: PendingLogin, code: str
    ) -> dict[str, Any]:
        endpoint = str((await self.metadata(http)).get("token_endpoint", ""))
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.code_verifier,
        }
        try:
            response = await http.post(
                endpoint, data=form, auth=(self.client_id, self._client_secret)
            )
        except httpx.HTTPError:
            raise SsoRefused("token_unavailable") from None
        if response.status_code != 200:
            raise SsoRefused("token_refused")
        try:
            tokens = response.json()
        except ValueError:
            raise SsoRefused("token_unusable") from None
        if not isinstance(tokens, dict) or not isinstance(tokens.get("id_token"), str):
            raise SsoRefused("no_id_token")
        return tokens

    async def _decode(self, http: httpx.AsyncClient, id_token: str) -> jwt.Token:
        metadata = await self.metadata(http)
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [alg for alg in offered if alg in SIGNING_ALGORITHMS] or ["RS256"]
        for refresh in (False, True):
            keys = await self._key_set(http, refresh=refresh)
            try:
                return jwt.decode(id_token, keys, algorithms=algorithms)
            except JoseError:
                if refresh:
                    raise SsoRefused("bad_signature") from None
        raise SsoRefused("bad_signature")

    async def _verified_claims(
        self, http: httpx.AsyncClient, pending: PendingLogin, tokens: dict[str, Any]
    ) -> CodeIDToken:
        token = await self._decode(http, tokens["id_token"])
        claims = CodeIDToken(
            token.claims,
            token.header,
            options={
                "iss": {"essential": True, "value": self.issuer},
                "aud": {"essential": True, "value": self.client_id},
            },
            params={"nonce": pending.nonce, "access_token": tokens.get("access_token")},
        )
        try:
            claims.validate(leeway=CLOCK_LEEWAY_SECONDS)
        except JoseError as error:
            raise SsoRefused(f"bad_claim_{getattr(error, 'claim', '') or 'token'}") from None
        return claims

    async def _userinfo(self, http: httpx.AsyncClient, access_token: str) -> dict[str, Any]:
        endpoint = str((await self.metadata(http)).get("userinfo_endpoint", ""))
        if not endpoint or not access_token:
            raise SsoRefused("no_email", "The identity provider did not share an email address.")
        http.headers["Authorization"] = f"Bearer {access_token}"
        return await self._get_json(http, endpoint, "userinfo")
