"""A test world: both fakes on loopback, a migrated database, real Redis, the real worker.

Shared by the sync tests (and usable by scenarios): everything a guarantee needs
runs for real; only time and faults are under the test's control.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis
from arq.worker import Worker
from sqlalchemy import Engine

from fakes.clock import FakeClock
from fakes.faults import FaultPlane
from fakes.jira_human import FakeJira
from fakes.peopleforce import FakePeopleForce
from fakes.server import FakeServer
from gateway.clients.retry import RetryPolicy
from gateway.jobs import QUEUE_NAME, TICK_JOB, tick_job_id
from gateway.models import (
    DeadLetter,
    DomainConfig,
    MappingKind,
    RuleAction,
    SyncEvent,
    SyncState,
)
from gateway.redis import arq_redis_settings
from gateway.settings import Settings
from gateway.worker import FUNCTIONS, shutdown, startup
from scenarios.records import (
    domain_values,
    insert_domain,
    insert_rule,
    read_dead_letters,
    read_domain,
    read_events,
    read_states,
    update_domain,
)

FAST_RETRIES = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.2)


@dataclass
class World:
    settings: Settings
    engine: Engine
    pool: ArqRedis
    pf_server: FakeServer
    jira_server: FakeServer
    clock: FakeClock = field(default_factory=FakeClock)
    clock_offset_file: Path | None = None
    domain_id: int = 0
    retry_policy: RetryPolicy = field(default_factory=lambda: FAST_RETRIES)

    @property
    def pf(self) -> FakePeopleForce:
        return self.pf_server.app.state.pf  # ty: ignore[missing-attribute]

    @property
    def jira(self) -> FakeJira:
        return self.jira_server.app.state.jira  # ty: ignore[missing-attribute]

    @property
    def pf_faults(self) -> FaultPlane:
        return self.pf_server.app.state.faults  # ty: ignore[missing-attribute]

    @property
    def jira_faults(self) -> FaultPlane:
        return self.jira_server.app.state.faults  # ty: ignore[missing-attribute]

    def advance(self, seconds: float) -> None:
        """Let simulated time pass for both fakes and the gateway at once."""
        self.clock.advance(seconds)
        if self.clock_offset_file is not None:
            self.clock_offset_file.write_text(str(self.clock.offset))

    # --- configuration ----------------------------------------------------------------

    def add_domain(self, **overrides: Any) -> int:
        values = domain_values(self.pf_server.url, self.jira_server.url, **overrides)
        self.domain_id = insert_domain(self.engine, values)
        return self.domain_id

    def add_rule(
        self,
        name: str,
        conditions: list[dict[str, Any]],
        *,
        action: RuleAction = RuleAction.SYNC,
        project: str | None = None,
        issue_type: str | None = None,
        priority: int = 100,
        mappings: Sequence[tuple[str, MappingKind, str]] = (),
    ) -> int:
        return insert_rule(
            self.engine,
            self.domain_id,
            name,
            conditions,
            action=action,
            project=project,
            issue_type=issue_type,
            priority=priority,
            mappings=mappings,
        )

    def update_domain(self, **changes: Any) -> None:
        update_domain(self.engine, self.domain_id, **changes)

    # --- running the gateway ----------------------------------------------------------

    async def run_worker(self) -> Worker:
        """Run every queued job with the real ARQ worker in burst mode."""
        # Each worker opens its own connections, as separate processes would.
        worker = Worker(
            functions=FUNCTIONS,
            redis_settings=arq_redis_settings(self.settings.redis_url or ""),
            queue_name=QUEUE_NAME,
            on_startup=startup,
            on_shutdown=shutdown,
            burst=True,
            poll_delay=0.01,
            max_jobs=10,
            ctx={"settings": self.settings, "retry_policy": self.retry_policy},
        )
        await worker.main()
        await worker.close()
        return worker

    async def tick(self) -> dict[str, Any] | None:
        """Queue one tick of the domain (as the scheduler would) and run it."""
        self.update_domain(last_poll_at=None)
        job = await self.pool.enqueue_job(
            TICK_JOB, self.domain_id, _job_id=tick_job_id(self.domain_id)
        )
        assert job is not None, "a tick was already queued"
        await self.run_worker()
        return self.domain().__dict__ | {}

    # --- inspection -------------------------------------------------------------------

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

    def issues_by_task(self) -> Counter[int]:
        counts: Counter[int] = Counter()
        for issue in self.issues():
            value = (issue.get("properties") or {}).get("pf_sync_metadata")
            if isinstance(value, dict):
                counts[value["pf_task_id"]] += 1
        return counts

    def jira_requests(self, method: str | None = None) -> int:
        return sum(1 for r in self.jira_faults.requests if method is None or r.method == method)

    def pf_list_requests(self) -> int:
        return sum(
            1 for r in self.pf_faults.requests if r.method == "GET" and r.endpoint == "/tasks"
        )

    def reset_request_logs(self) -> None:
        self.jira_faults.reset_log()
        self.pf_faults.reset_log()


def expected_list_requests(open_tasks: int, page_size: int) -> int:
    return max(1, math.ceil(open_tasks / page_size))
