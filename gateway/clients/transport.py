"""Request plumbing both clients share: URL joining, timeouts, retries, JSON decoding.

With a ``RateWindow`` every attempt holds one of the site's slots for its round trip
only (not while a retry waits) and reports the answer's rate-limit headers to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, SecretStr, ValidationError

from gateway.clients.errors import (
    Service,
    UpstreamProtocolError,
    redact,
    safe_url,
)
from gateway.clients.instrument import count_upstream_attempt, endpoint_template
from gateway.clients.rate_window import RateWindow, Signal, read_signal
from gateway.clients.retry import RetryPolicy, send_with_retries
from gateway.monitoring.tracing import traced

ModelT = TypeVar("ModelT", bound=BaseModel)
Timeout = httpx.Timeout | float | None


def reveal(secret: SecretStr | str | None) -> str:
    """The plain value of a credential given either way; it stays inside the client."""
    if secret is None:
        return ""
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def protocol_error(
    service: Service, response: httpx.Response, problem: str, secrets: Iterable[str] = ()
) -> UpstreamProtocolError:
    request = response.request
    return UpstreamProtocolError(
        service=service,
        status=response.status_code,
        message=redact(problem, secrets),
        method=request.method,
        url=safe_url(request.url),
    )


@dataclass
class Transport:
    """One upstream site reached through the process-wide shared ``httpx.AsyncClient``."""

    service: Service
    http: httpx.AsyncClient
    base_url: str
    policy: RetryPolicy
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    auth: httpx.Auth | None = field(default=None, repr=False)
    timeout: Timeout = None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    window: RateWindow | None = field(default=None, repr=False)
    """The site's adaptive concurrency; ``None`` sends at once (the caller bounds it)."""

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    @traced(
        lambda self, method, path, **_: f"{self.service} {method} {endpoint_template(path)}",
        kind=SpanKind.CLIENT,
        attributes=lambda self, method, path, **_: {
            "http.request.method": method,
            "url.template": endpoint_template(path),
            "server.address": httpx.URL(self.base_url).host,
            "gateway.upstream": str(self.service),
        },
        result_attributes=lambda response: {"http.response.status_code": response.status_code},
    )
    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send with retries (when ``idempotent``); raise a typed error on failure."""
        url = self.url(path)
        headers = dict(self.headers)
        if content is not None:
            headers["Content-Type"] = "application/json"
        request_kwargs: dict[str, Any] = {}
        if self.timeout is not None:
            request_kwargs["timeout"] = self.timeout
        if self.auth is not None:
            request_kwargs["auth"] = self.auth

        async def send_now() -> httpx.Response:
            try:
                response = await self.http.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    content=content,
                    headers=headers,
                    **request_kwargs,
                )
            except httpx.TransportError:
                count_upstream_attempt(self.service, path, None)
                raise
            count_upstream_attempt(self.service, path, response.status_code)
            return response

        async def send() -> httpx.Response:
            window = self.window
            if window is None:
                return await send_now()
            ticket = await window.acquire(self.policy.sleep, method)
            signal: Signal | None = None
            try:
                response = await send_now()
                signal = read_signal(response)
            finally:
                window.release(ticket, signal)
            return response

        return await send_with_retries(
            send,
            service=self.service,
            method=method,
            url=url,
            policy=self.policy,
            idempotent=idempotent,
            secrets=self.secrets,
        )

    def json(self, response: httpx.Response) -> Any:
        """The decoded body of a 2xx, or an UpstreamProtocolError (e.g. an HTML login page)."""
        try:
            return json.loads(response.content)
        except ValueError:
            # Only the kind and size of what answered: a success page is not an error
            # message, and quoting it would let whoever sets a base URL read any page
            # the gateway can reach (an internal one) through test-connection or a tick.
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise protocol_error(
                self.service,
                response,
                f"expected a JSON body, got {kind} ({len(response.content)} bytes): "
                "is the base URL the API's?",
                self.secrets,
            ) from None

    def parse(self, model: type[ModelT], data: Any, response: httpx.Response, what: str) -> ModelT:
        """Validate one object of the body, turning a shape mismatch into a protocol error."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise protocol_error(
                self.service,
                response,
                f"unexpected {what}: {summarise_validation_error(exc)}",
                self.secrets,
            ) from None


def summarise_validation_error(exc: ValidationError) -> str:
    """Field locations and messages only: pydantic's default text echoes input values."""
    parts = []
    for item in exc.errors()[:3]:
        location = ".".join(str(part) for part in item["loc"]) or "body"
        parts.append(f"{location}: {item['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
