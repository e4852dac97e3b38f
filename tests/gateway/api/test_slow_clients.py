"""Slow and numerous clients against a real uvicorn started as ``gateway serve`` starts it:
a webhook body that trickles is cut off with 408 and its connection closed, the API keeps
answering meanwhile, and connections beyond the configured limit get 503 and are closed."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import Engine

from gateway.api.webhooks import WEBHOOK_PATH
from gateway.settings import Settings
from tests.serving import serving

# Bounds how long a test waits on a socket, so a regression fails instead of hanging.
SOCKET_WAIT_SECONDS = 30.0


@pytest.fixture
def serve(settings: Settings, engine: Engine) -> Callable[..., object]:
    def start(**overrides: object):
        return serving(settings.model_copy(update=overrides))

    return start


def trickling_webhook(address: tuple[str, int]) -> socket.socket:
    """A connection that sent a webhook's headers announcing 1000 bytes, then one byte."""
    held = socket.create_connection(address, timeout=SOCKET_WAIT_SECONDS)
    held.sendall(
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: gateway\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
    )
    return held


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def healthz(address: tuple[str, int]) -> httpx.Response:
    host, port = address
    return httpx.get(f"http://{host}:{port}/healthz", timeout=SOCKET_WAIT_SECONDS)


@contextmanager
def held(connections: list[socket.socket]) -> Generator[list[socket.socket]]:
    try:
        yield connections
    finally:
        for connection in connections:
            connection.close()


def test_a_trickling_webhook_body_is_cut_off_and_the_api_still_answers(serve) -> None:
    with serve(webhook_body_timeout_seconds=0.5) as address:
        with held([trickling_webhook(address) for _ in range(5)]) as slow:
            assert healthz(address).status_code == 200
            for connection in slow:
                answer = read_until_closed(connection)
                assert answer.startswith(b"HTTP/1.1 408 ")
                assert b"body not received in time" in answer
        assert healthz(address).status_code == 200


def test_connections_beyond_the_limit_are_refused_and_closed(serve) -> None:
    with serve(server_limit_concurrency=3, webhook_body_timeout_seconds=300) as address:
        with held([trickling_webhook(address) for _ in range(3)]):
            time.sleep(0.2)  # let the server accept the three before the fourth
            refused = healthz(address)
            assert refused.status_code == 503
            assert refused.headers["connection"] == "close"
        assert healthz(address).status_code == 200


def test_without_a_limit_the_same_connections_are_served(serve) -> None:
    with (
        serve(server_limit_concurrency=0, webhook_body_timeout_seconds=300) as address,
        held([trickling_webhook(address) for _ in range(3)]),
    ):
        time.sleep(0.2)
        assert healthz(address).status_code == 200
