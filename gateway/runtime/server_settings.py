"""What ``gateway serve`` bounds itself (``GATEWAY_*``), mixed into ``Settings``.

Anyone who can reach the API can open connections to it. A client that sends a
webhook's headers and then trickles its body (or never sends it) would otherwise
hold a connection, a file descriptor and a task for as long as it likes, and
enough of them stop ``/healthz`` from answering. The API therefore cuts a body
that takes too long (408), caps how many connections and requests it serves at
once (503 beyond, and the connection is closed) and closes idle keep-alive
connections. A reverse proxy in front should still bound connections per client
and the time to send headers, which uvicorn does not (see the README's Security).
"""

from __future__ import annotations

import ipaddress
from typing import TypedDict

from pydantic import BaseModel, Field, field_validator

DEFAULT_LIMIT_CONCURRENCY = 1000


class ServerSettings(BaseModel):
    """The API server's own bounds on slow and numerous clients, and the proxies it trusts."""

    forwarded_allow_ips: str = Field(
        default="",
        description="Addresses or networks of the reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto the API trusts (comma-separated, e.g. 127.0.0.1 or 172.16.0.0/12); "
        "empty: trust none and use the socket's address.",
    )

    webhook_body_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="How long a webhook body may take to arrive in full; slower: 408 and "
        "the connection is closed.",
    )
    server_limit_concurrency: int = Field(
        default=DEFAULT_LIMIT_CONCURRENCY,
        ge=0,
        le=1_000_000,
        description="Most connections (and requests in progress) the API serves at once; "
        "beyond, it answers 503 and closes the connection; 0 = no limit.",
    )
    server_backlog: int = Field(
        default=2048,
        ge=1,
        le=65535,
        description="Connections the operating system queues before the API accepts them.",
    )
    server_keep_alive_timeout_seconds: int = Field(
        default=5,
        ge=1,
        le=300,
        description="Idle keep-alive connections are closed after this many seconds.",
    )

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_forwarded_allow_ips(cls, value: str) -> str:
        items = [item.strip() for item in value.split(",") if item.strip()]
        for item in items:
            if item == "*":
                continue
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not an IP address or network (e.g. 127.0.0.1, 10.0.0.0/8, *)"
                ) from None
        return ",".join(items)


class ServerLimits(TypedDict):
    """uvicorn's options for the bounds above."""

    limit_concurrency: int | None
    backlog: int
    timeout_keep_alive: int


def server_limits(settings: ServerSettings) -> ServerLimits:
    """uvicorn's options for the configured bounds (0 concurrency = uvicorn's unlimited)."""
    return ServerLimits(
        limit_concurrency=settings.server_limit_concurrency or None,
        backlog=settings.server_backlog,
        timeout_keep_alive=settings.server_keep_alive_timeout_seconds,
    )
