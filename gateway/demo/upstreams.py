"""Both fakes on loopback, sharing one clock: the upstreams every gateway stack talks to.

Each fake runs on its own uvicorn thread (``fakes.server.FakeServer``), so the
gateway's clients cross real TCP and a partition is a broken socket, exactly as
in production. Both fakes stamp their records with one ``FakeClock``, so a stack
that advances it makes time pass for PeopleForce and Jira at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp

from fakes.clock import FakeClock
from fakes.faults import FaultPlane
from fakes.jira import FakeJira, WebhookDispatcher, create_jira_app
from fakes.peopleforce import FakePeopleForce, create_peopleforce_app
from fakes.server import FakeServer, stop_servers
from gateway.demo.records import JIRA_EMAIL, JIRA_TOKEN, PF_KEY

PEOPLEFORCE = "peopleforce"
JIRA = "jira"
DEFAULT_PAGE_SIZE = 25

AppWrapper = Callable[[str, FastAPI], ASGIApp]
"""Given ``"peopleforce"`` or ``"jira"`` and the fake's app, the ASGI app to serve instead
(e.g. a request probe around it); the fault plane stays the fake's own."""


class FakeApps:
    """A pair of fake apps and what a test or benchmark reads from them: each fake's
    state and the fault plane that logs every request it serves."""

    pf_app: FastAPI
    jira_app: FastAPI

    @property
    def pf(self) -> FakePeopleForce:
        return self.pf_app.state.pf

    @property
    def jira(self) -> FakeJira:
        return self.jira_app.state.jira

    @property
    def pf_faults(self) -> FaultPlane:
        return self.pf_app.state.faults

    @property
    def jira_faults(self) -> FaultPlane:
        return self.jira_app.state.faults


@dataclass
class Upstreams(FakeApps):
    """The running fakes: their apps (state and fault planes) and their servers."""

    clock: FakeClock
    pf_app: FastAPI
    jira_app: FastAPI
    pf_server: FakeServer
    jira_server: FakeServer

    @property
    def webhooks(self) -> WebhookDispatcher:
        return self.jira.webhooks

    def reset_request_logs(self) -> None:
        """Forget every request both fakes recorded so far (to count what comes next)."""
        self.pf_faults.reset_log()
        self.jira_faults.reset_log()

    def stop(self) -> None:
        stop_servers([self.jira_server, self.pf_server])


def start_upstreams(
    *,
    clock: FakeClock | None = None,
    seed: int = 0,
    jira_seed: int | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    host: str = "127.0.0.1",
    wrap: AppWrapper | None = None,
    **jira_options: Any,
) -> Upstreams:
    """Start the fake PeopleForce and the fake Jira; returns once both are listening.

    ``seed`` drives the PeopleForce fake and, unless ``jira_seed`` is given, the Jira
    fake too; ``jira_options`` go to ``fakes.jira.create_jira_app`` (rate limits,
    webhook retry delays and transport...). The fake Jira's base URL is set to its
    loopback URL, so issue links point where a domain reaches it.
    """
    clock = clock or FakeClock()
    pf_app = create_peopleforce_app(api_key=PF_KEY, page_size=page_size, seed=seed, clock=clock)
    jira_app = create_jira_app(
        email=JIRA_EMAIL,
        api_token=JIRA_TOKEN,
        seed=seed if jira_seed is None else jira_seed,
        clock=clock,
        **jira_options,
    )
    served = wrap or _unwrapped
    pf_server = FakeServer(
        served(PEOPLEFORCE, pf_app), plane=pf_app.state.faults, host=host
    ).start()
    try:
        jira_server = FakeServer(
            served(JIRA, jira_app), plane=jira_app.state.faults, host=host
        ).start()
    except BaseException:
        pf_server.stop()
        raise
    jira_app.state.jira.set_base_url(jira_server.url)
    return Upstreams(clock, pf_app, jira_app, pf_server, jira_server)


def _unwrapped(_upstream: str, app: FastAPI) -> ASGIApp:
    return app
