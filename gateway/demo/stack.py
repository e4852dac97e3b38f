"""One stack builder for the demo, the scenarios, the tests and the benchmarks.

A gateway stack is a deployment on one machine: storage (data folder, migrated
database, Redis: ``gateway.demo.storage``), both fakes as its upstreams
(``gateway.demo.upstreams``), the API (in this process on a uvicorn thread, or a
``gateway serve`` child) registered as the fake Jira's signed admin webhook, and
workers (the real ARQ worker in this process: ``gateway.demo.workers``, or
``gateway worker`` children: ``gateway.demo.processes``), around one domain whose
records come from ``gateway.demo.records``.

``GatewayStack`` composes those parts; each user adds a thin layer of its own:
the demo (``gateway.demo.launch``), the scenario harness (``scenarios.harness``),
the test world (``tests.world``) and the benchmarks' installation (``bench.env``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Unpack

from arq.worker import Worker
from sqlalchemy import Engine

from fakes.clock import FakeClock
from fakes.faults import FaultPlane
from fakes.jira import DEFAULT_FILTER, FakeJira, WebhookDispatcher
from fakes.peopleforce import FakePeopleForce
from fakes.server import FakeServer
from gateway.api.app import create_app
from gateway.api.webhooks import WEBHOOK_PATH
from gateway.clients.retry import RetryPolicy
from gateway.demo.processes import ChildProcess, gateway_command
from gateway.demo.records import (
    RuleOptions,
    domain_values,
    group_by_task,
    insert_domain,
    insert_rule,
    read_dead_letters,
    read_domain,
    read_events,
    read_states,
    update_domain,
)
from gateway.demo.storage import Storage, gateway_environment
from gateway.demo.upstreams import Upstreams
from gateway.demo.workers import run_burst
from gateway.models import DeadLetter, DomainConfig, SyncEvent, SyncState
from gateway.settings import Settings

WEBHOOK_NAME = "PF-Jira Sync: Task Completion Return Vector"
LOOPBACK = "127.0.0.1"


def register_webhook(jira: FakeJira, api_url: str, secret: str) -> None:
    """Register the API as Jira's admin webhook for done tracked issues (once per URL)."""
    url = f"{api_url}{WEBHOOK_PATH}"
    if any(hook.url == url for hook in jira.webhooks.all()):
        return
    jira.webhooks.register(
        url, name=WEBHOOK_NAME, events=["jira:issue_updated"], jql=DEFAULT_FILTER, secret=secret
    )


class GatewayStack:
    """Storage, both fakes, the API and workers of one gateway, and the domain it syncs.

    ``attach`` brings the parts together; ``close`` ends everything the stack
    started and is safe to call twice or after a failed start.
    """

    def __init__(
        self, *, retry_policy: RetryPolicy | None = None, clock_offset_file: Path | None = None
    ) -> None:
        self._storage: Storage | None = None
        self._upstreams: Upstreams | None = None
        self.retry_policy = retry_policy
        """For in-process workers; None: the production policy."""
        self.clock_offset_file = clock_offset_file
        """Where ``advance`` writes the offset that ``GATEWAY_CLOCK_OFFSET_FILE`` names."""
        self.domain_id = 0
        self.api: FakeServer | None = None
        self.api_port = 0
        self.processes: list[ChildProcess] = []

    def attach(self, storage: Storage, start_upstreams: Callable[[], Upstreams]) -> None:
        """Use ``storage`` and start the upstreams; ``storage`` is closed if they fail."""
        self._storage = storage
        try:
            self._upstreams = start_upstreams()
        except BaseException:
            self._storage = None
            storage.close()
            raise

    def close(self) -> None:
        """Children first (they hold Redis and the database), then servers, then storage."""
        while self.processes:
            self.processes.pop().stop()
        self.stop_api()
        if self._upstreams is not None:
            self._upstreams.stop()
            self._upstreams = None
        if self._storage is not None:
            self._storage.close()
            self._storage = None

    # --- the parts ------------------------------------------------------------------------

    @property
    def storage(self) -> Storage:
        assert self._storage is not None, "the stack is not started"
        return self._storage

    @property
    def upstreams(self) -> Upstreams:
        assert self._upstreams is not None, "the stack is not started"
        return self._upstreams

    @property
    def settings(self) -> Settings:
        return self.storage.settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        """A test may change a setting for the in-process API and workers it starts next."""
        self.storage.settings = value

    @property
    def engine(self) -> Engine:
        return self.storage.engine

    @property
    def folder(self) -> Path:
        return self.storage.folder

    @property
    def redis_url(self) -> str:
        return self.storage.redis_url

    @property
    def clock(self) -> FakeClock:
        return self.upstreams.clock

    @property
    def pf_server(self) -> FakeServer:
        return self.upstreams.pf_server

    @property
    def jira_server(self) -> FakeServer:
        return self.upstreams.jira_server

    @property
    def pf(self) -> FakePeopleForce:
        return self.upstreams.pf

    @property
    def jira(self) -> FakeJira:
        return self.upstreams.jira

    @property
    def webhooks(self) -> WebhookDispatcher:
        return self.upstreams.webhooks

    @property
    def pf_faults(self) -> FaultPlane:
        return self.upstreams.pf_faults

    @property
    def jira_faults(self) -> FaultPlane:
        return self.upstreams.jira_faults

    # --- time -----------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Let simulated time pass for the fakes and every gateway process at once."""
        self.clock.advance(seconds)
        if self.clock_offset_file is not None:
            self.clock_offset_file.write_text(repr(self.clock.offset))

    def now(self) -> datetime:
        return self.clock.now()

    # --- configuration --------------------------------------------------------------------

    def add_domain(self, **overrides: Any) -> int:
        """A domain linking both fakes (``gateway.demo.records.domain_values``)."""
        values = domain_values(self.pf_server.url, self.jira_server.url, **overrides)
        self.domain_id = insert_domain(self.engine, values)
        return self.domain_id

    def add_rule(
        self, name: str, conditions: list[dict[str, Any]], **options: Unpack[RuleOptions]
    ) -> int:
        """What the admin does in the UI: an enabled rule of the domain, with mappings."""
        return insert_rule(self.engine, self.domain_id, name, conditions, **options)

    def update_domain(self, **changes: Any) -> None:
        update_domain(self.engine, self.domain_id, **changes)

    # --- the API and the workers ----------------------------------------------------------

    def webhook_secret(self) -> str:
        secret = self.settings.jira_webhook_secret
        assert secret is not None, "the stack's settings need a Jira webhook secret"
        return secret.get_secret_value()

    def start_api(self, *, host: str = LOOPBACK, port: int | None = None) -> FakeServer:
        """Start (or restart, on its previous port) the API in this process."""
        chosen = self.api_port if port is None else port
        server = FakeServer(create_app(self.settings), host=host, port=chosen).start()
        self.api, self.api_port = server, server.port
        register_webhook(self.jira, server.url, self.webhook_secret())
        return server

    def stop_api(self) -> None:
        if self.api is not None:
            self.api.stop()
            self.api = None

    def start_api_process(self, port: int) -> ChildProcess:
        """``gateway serve`` on loopback ``port``, as deployed; returns once it answers."""
        child = self.start_process("gateway-serve", gateway_command("serve", "--port", str(port)))
        child.wait_http(f"http://{LOOPBACK}:{port}/healthz")
        register_webhook(self.jira, f"http://{LOOPBACK}:{port}", self.webhook_secret())
        return child

    def start_worker_process(self, name: str = "worker", **options: Any) -> ChildProcess:
        """A ``gateway worker`` child with its crons: it ticks and sweeps on its own."""
        return self.start_process(name, gateway_command("worker"), **options)

    def start_process(
        self,
        name: str,
        args: list[str],
        *,
        new_session: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> ChildProcess:
        """A child sharing this installation; its log is ``<folder>/<name>.log``.

        ``extra_env`` overrides settings for this child only (e.g. shorter timeouts).
        """
        child = ChildProcess(
            name,
            args,
            env=self.environment() | (extra_env or {}),
            log_path=self.folder / f"{name}.log",
            cwd=self.folder,
            new_session=new_session,
        )
        self.processes.append(child.start())
        return child

    def environment(self) -> dict[str, str]:
        """What a child process needs to share this installation and its clock."""
        return gateway_environment(self.settings, clock_offset_file=self.clock_offset_file)

    async def run_worker(self) -> Worker:
        """Run every queued job with the real ARQ worker, in this process, in burst mode."""
        return await run_burst(self.settings, self.retry_policy)

    # --- inspection -----------------------------------------------------------------------

    def domain(self) -> DomainConfig:
        return read_domain(self.engine, self.domain_id)

    def states(self) -> dict[int, SyncState]:
        return read_states(self.engine, self.domain_id)

    def events(self, event_type: str | None = None) -> list[SyncEvent]:
        return read_events(self.engine, event_type)

    def dead_letters(self) -> list[DeadLetter]:
        return read_dead_letters(self.engine)

    def issues(self) -> list[dict[str, Any]]:
        return list(self.jira.dump()["issues"])

    def issues_grouped_by_task(self) -> dict[int, list[dict[str, Any]]]:
        """Every issue whose lineage property names a task, grouped by that task."""
        return group_by_task(self.issues())
