"""Serve a fake app on loopback uvicorn, where a partition is a real broken socket.

Scenario scripts, the demo and cross-process tests talk to the fakes over real
TCP. A refusing partition must then look like a network failure to the client
(an ``httpx.TransportError``), not an HTTP 500, so the uvicorn HTTP protocol is
subclassed to reset the connection while the plane refuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections.abc import Iterable
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from fakes.faults import FaultPlane

_IDLE_CUT_SECONDS = 0.2


def _request_line(data: bytes) -> tuple[str, str, str]:
    """Method, path and query of the first request line in ``data`` (best effort)."""
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    if len(parts) < 2:
        return "", "", ""
    path, _, query = parts[1].partition("?")
    return parts[0], path, query


def _reset(transport: asyncio.Transport) -> None:
    """Abort with an RST (zero linger) so the client reads "connection reset by peer"."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def fault_aware_protocol(plane: FaultPlane | None) -> type[H11Protocol]:
    """An h11 protocol class for ``uvicorn.Config(http=...)`` that obeys ``plane``'s partitions.

    The connection is reset as soon as the client's first bytes arrive (so the
    log can name the request it cut), on new and kept-alive connections alike;
    a connection that sends nothing during the partition is reset shortly after
    it is accepted. Control-plane requests still pass, so a scenario can heal
    the partition over HTTP.
    """

    class FaultAwareH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if plane is not None and plane.refusing:
                self.loop.call_later(_IDLE_CUT_SECONDS, self._cut_if_idle)

        def data_received(self, data: bytes) -> None:
            if plane is not None and plane.refusing:
                method, path, query = _request_line(data)
                if not (method and plane.is_control(path)):
                    if not self.transport.is_closing():
                        if method:
                            plane.record(method, path, query=query, fault="partition")
                        _reset(self.transport)
                    return
            super().data_received(data)

        def _cut_if_idle(self) -> None:
            idle = self.cycle is None and not self.transport.is_closing()
            if plane is not None and plane.refusing and idle:
                _reset(self.transport)

    return FaultAwareH11Protocol


def _drop_connections(server: uvicorn.Server) -> None:
    for connection in list(server.server_state.connections):
        transport = getattr(connection, "transport", None)
        if isinstance(transport, asyncio.Transport) and not transport.is_closing():
            _reset(transport)


class FakeServer:
    """Run a fake app on its own thread and event loop, listening on loopback.

    ``port=0`` binds a free port before uvicorn starts, so ``url`` is exact as
    soon as ``start()`` returns.
    """

    def __init__(
        self,
        app: ASGIApp,
        plane: FaultPlane | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        log_level: str = "warning",
        graceful_shutdown: int = 1,
    ) -> None:
        if plane is None:
            candidate = getattr(getattr(app, "state", None), "faults", None)
            plane = candidate if isinstance(candidate, FaultPlane) else None
        self.app = app
        self.plane = plane
        self.host = host
        self.port = port
        self._log_level = log_level
        self._graceful_shutdown = graceful_shutdown
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> FakeServer:
        """Start serving; returns once the socket is listening."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so, and
        # without it Nagle plus delayed ACKs stall every response about 40 ms on loopback.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            http=fault_aware_protocol(self.plane),
            log_level=self._log_level,
            access_log=False,
            timeout_graceful_shutdown=self._graceful_shutdown,
        )
        server = uvicorn.Server(config)
        self._server = server

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            await server.serve(sockets=[sock])

        def run() -> None:
            try:
                asyncio.run(serve())
            except BaseException as exc:
                self._error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name=f"fake-server:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"fake server failed to start: {self._error!r}")
            if time.monotonic() >= deadline:
                self.stop()
                raise TimeoutError(f"fake server did not start within {timeout} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and join the thread; held requests are cut after the grace period."""
        stop_servers([self], timeout)

    def request_stop(self) -> None:
        """Tell the server to shut down, without waiting for it (see ``stop_servers``)."""
        if self._server is None or self._thread is None:
            return
        server, loop = self._server, self._loop
        if loop is not None and self.plane is not None and self.plane.partition_mode == "timeout":
            # Requests held by the partition would outlast any graceful shutdown:
            # drop their connections, as a server going away does.
            loop.call_soon_threadsafe(_drop_connections, server)
        server.should_exit = True

    def wait_stopped(self, timeout: float = 10.0) -> None:
        """Join the server's thread once ``request_stop`` was called."""
        if self._thread is None:
            return
        self._thread.join(timeout)
        self._server = None
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread is not None else "stopped"
        return f"FakeServer({self.url}, {state})"


def serve_forever(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "info"
) -> None:
    """Serve in the foreground until Ctrl-C (the ``python -m fakes`` commands)."""
    candidate = getattr(getattr(app, "state", None), "faults", None)
    plane = candidate if isinstance(candidate, FaultPlane) else None
    config = uvicorn.Config(
        app, host=host, port=port, http=fault_aware_protocol(plane), log_level=log_level
    )
    uvicorn.Server(config).run()


__all__ = ["FakeServer", "fault_aware_protocol", "serve_forever"]


def stop_servers(servers: Iterable[FakeServer], timeout: float = 10.0) -> None:
    """Stop several servers at once: each shutdown waits out uvicorn's 0.1 s check and its
    connections' close, so one after another costs that many times as long."""
    chosen = list(servers)
    for server in chosen:
        server.request_stop()
    for server in chosen:
        server.wait_stopped(timeout)
