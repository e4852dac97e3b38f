"""A fleet of tenants: one fake PeopleForce and one fake Jira per domain, on two servers.

Each domain talks to its own pair of fakes, so every request is counted against
the domain that made it (each fake app logs what it serves on its own fault
plane). Forty uvicorn servers in one process would spend the benchmark's CPU on
forty event loops; instead one server per service routes ``/d<index>/...`` to
the index-th tenant's app, with the prefix stripped, so each fake sees the paths
it would see on its own host.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.upstreams import cache_listing
from fakes.clock import FakeClock
from fakes.jira import create_jira_app
from fakes.peopleforce import create_peopleforce_app
from fakes.server import FakeServer
from gateway.demo.records import JIRA_EMAIL, JIRA_TOKEN, PF_KEY
from gateway.demo.upstreams import FakeApps


def tenant_prefix(index: int) -> str:
    return f"/d{index}"


class TenantRouter:
    """ASGI app: ``/d<index>/rest`` goes to ``apps[index]`` as ``/rest``; anything else 404s.

    Lifespan events are answered here: the fakes need none (no webhook is
    registered, so the fake Jira's delivery loop has nothing to send).
    """

    def __init__(self, apps: list[ASGIApp]) -> None:
        self.apps = apps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"{message['type']}.complete"})
                if kind == "shutdown":
                    return
        path: str = scope["path"]
        head, _, rest = path[1:].partition("/")
        index = int(head[1:]) if head[:1] == "d" and head[1:].isdigit() else -1
        if not 0 <= index < len(self.apps):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"no such tenant"})
            return
        inner = dict(scope)
        inner["path"] = "/" + rest
        inner["raw_path"] = inner["path"].encode()
        await self.apps[index](inner, receive, send)


@dataclass
class Tenant(FakeApps):
    """One domain's fakes: its PeopleForce and its Jira, with their request logs."""

    index: int
    pf_app: FastAPI
    jira_app: FastAPI
    pf_url: str = ""
    jira_url: str = ""


@dataclass
class FleetUpstreams:
    """``count`` tenants behind two loopback servers sharing one fake clock."""

    count: int
    page_size: int = 50
    clock: FakeClock = field(default_factory=FakeClock)
    tenants: list[Tenant] = field(default_factory=list)
    servers: list[FakeServer] = field(default_factory=list)

    def start(self) -> FleetUpstreams:
        for index in range(self.count):
            pf_app = create_peopleforce_app(
                api_key=PF_KEY, page_size=self.page_size, seed=index, clock=self.clock
            )
            jira_app = create_jira_app(
                email=JIRA_EMAIL, api_token=JIRA_TOKEN, seed=index, clock=self.clock
            )
            cache_listing(pf_app.state.pf)
            self.tenants.append(Tenant(index, pf_app, jira_app))
        try:
            pf_server = FakeServer(TenantRouter([t.pf_app for t in self.tenants])).start()
            self.servers.append(pf_server)
            jira_server = FakeServer(TenantRouter([t.jira_app for t in self.tenants])).start()
            self.servers.append(jira_server)
        except BaseException:
            self.stop()
            raise
        for tenant in self.tenants:
            tenant.pf_url = pf_server.url + tenant_prefix(tenant.index)
            tenant.jira_url = jira_server.url + tenant_prefix(tenant.index)
            tenant.jira.set_base_url(tenant.jira_url)
        return self

    def stop(self) -> None:
        while self.servers:
            self.servers.pop().stop()

    def reset_request_logs(self) -> None:
        for tenant in self.tenants:
            tenant.pf_faults.reset_log()
            tenant.jira_faults.reset_log()

    def request_counts(self) -> list[dict[str, Any]]:
        """Per tenant: PeopleForce reads and writes, Jira reads, creates and other writes."""
        counts = []
        for tenant in self.tenants:
            pf, jira = tenant.pf_faults.requests, tenant.jira_faults.requests
            creates = [r for r in jira if r.method == "POST" and r.endpoint == "/rest/api/3/issue"]
            counts.append(
                {
                    "pf_reads": sum(1 for r in pf if r.method == "GET"),
                    "pf_writes": sum(1 for r in pf if r.method != "GET"),
                    "jira_reads": sum(1 for r in jira if r.method == "GET"),
                    "jira_creates": len(creates),
                    "jira_other_writes": sum(1 for r in jira if r.method != "GET") - len(creates),
                    "pf_errors": sum(1 for r in pf if r.status >= 400 or r.status == 0),
                    "jira_errors": sum(1 for r in jira if r.status >= 400 or r.status == 0),
                }
            )
        return counts
