"""A Slack-compatible incoming webhook that keeps what it is sent.

The gateway's alerts (``gateway.notify``) post ``{"text": ...}`` to such a URL; the
scenarios and tests point ``GATEWAY_NOTIFY_WEBHOOK_URL`` here to count them, and can
make it fail to exercise the fallback.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response

from fakes.server import FakeServer


class AlertReceiver:
    """An incoming-webhook endpoint on loopback that records posts and can be told to fail."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.status = 200
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.posts.append(await request.json())
            return Response("ok", status_code=self.status)

        self.server = FakeServer(app)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hook"

    def texts(self) -> list[str]:
        """The text of every alert received, oldest first."""
        return [str(post.get("text", "")) for post in self.posts]
