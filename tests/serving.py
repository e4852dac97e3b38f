"""The app on a loopback uvicorn in a thread, with the options ``gateway serve`` passes
it (trusted proxies, connection limits, timeouts): for tests that need real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Generator
from contextlib import contextmanager

import uvicorn

from gateway.api.app import create_app
from gateway.cli.server import proxy_options
from gateway.runtime.server_settings import server_limits
from gateway.settings import Settings

START_SECONDS = 15


@contextmanager
def serving(settings: Settings) -> Generator[tuple[str, int]]:
    """Serve until the block ends; yields the host and port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        **proxy_options(settings),
        **server_limits(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def served_url(settings: Settings) -> Generator[str]:
    """``serving``, yielding the base URL."""
    with serving(settings) as (host, port):
        yield f"http://{host}:{port}"
