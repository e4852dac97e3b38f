"""Shared helpers for the fake Jira tests: credentials, ADF, a webhook receiver."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from fakes.jira import create_jira_app

AUTH = ("bot@example.com", "jira-test-token")
BASE = "http://jira.test"


def adf(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


def issue_body(project: str = "HR", summary: str = "Onboard Ada", **fields: Any) -> dict[str, Any]:
    return {
        "fields": {
            "project": {"key": project},
            "issuetype": {"name": "Task"},
            "summary": summary,
            **fields,
        }
    }


def client_for(app: FastAPI, *, auth: tuple[str, str] | None = AUTH) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, auth=auth)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A webhook endpoint recording exact bytes; answers from a script of statuses (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[Received] = []
        self.app = FastAPI()

        @self.app.post("/hook")
        async def hook(request: Request) -> Response:
            self.received.append(Received(dict(request.headers), await request.body()))
            status = self.statuses.pop(0) if self.statuses else 200
            return Response(status_code=status)

    @property
    def transport(self) -> httpx.ASGITransport:
        return httpx.ASGITransport(app=self.app)


def jira_with_receiver(
    receiver: Receiver, *, secret: str | None = "s3cret", jql: str | None = None, **kwargs: Any
) -> FastAPI:
    """A fake Jira whose one admin webhook delivers in-process to ``receiver``."""
    kwargs.setdefault("retry_delays", (0.01, 0.01, 0.01, 0.01, 0.01))
    app = create_jira_app(webhook_transport=receiver.transport, **kwargs)
    app.state.jira.webhooks.register(
        "http://receiver.test/hook",
        secret=secret,
        **({"jql": jql} if jql is not None else {}),
    )
    return app
