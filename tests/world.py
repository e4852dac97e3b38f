"""A test world: both fakes on loopback, a migrated database, real Redis, the real worker.

Shared by the sync tests (and usable by scenarios): everything a guarantee needs
runs for real; only time and faults are under the test's control.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis
from arq.worker import Worker
from sqlalchemy import Engine
from sqlmodel import Session, select

from fakes.clock import FakeClock
from fakes.faults import FaultPlane
from fakes.jira_human import FakeJira
from fakes.peopleforce import FakePeopleForce
from fakes.server import FakeServer
from gateway.clients.retry import RetryPolicy
from gateway.models import (
    DeadLetter,
    DomainConfig,
    FieldMapping,
    MappingKind,
    RoutingRule,
    RuleAction,
    SyncEvent,
    SyncState,
)
from gateway.queue import QUEUE_NAME
from gateway.redis import arq_redis_settings
from gateway.settings import Settings
from gateway.sync.scheduler import TICK_JOB, tick_job_id
from gateway.worker import FUNCTIONS, shutdown, startup

PF_KEY = "pf-test-key"
JIRA_EMAIL = "bot@example.com"
JIRA_TOKEN = "jira-test-token"
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
        values: dict[str, Any] = {
            "name": "acme",
            "pf_base_url": self.pf_server.url,
            "pf_api_key": PF_KEY,
            "jira_base_url": self.jira_server.url,
            "jira_email": JIRA_EMAIL,
            "jira_api_token": JIRA_TOKEN,
            "fallback_project_key": "HR",
            "poll_interval_seconds": 1,
        }
        values.update(overrides)
        with Session(self.engine) as session:
            domain = DomainConfig(**values)
            session.add(domain)
            session.commit()
            session.refresh(domain)
            assert domain.id is not None
            self.domain_id = domain.id
            return domain.id

    def add_rule(
        self,
        name: str,
        conditions: list[dict[str, Any]],
        *,
        action: RuleAction = RuleAction.SYNC,
        project: str | None = None,
        issue_type: str | None = None,
        priority: int = 100,
        mappings: list[tuple[str, MappingKind, str]] = (),  # ty: ignore[invalid-parameter-default]
    ) -> int:
        with Session(self.engine) as session:
            rule = RoutingRule(
                domain_id=self.domain_id,
                name=name,
                priority=priority,
                conditions=conditions,
                action=action,
                target_project_key=project,
                target_issue_type=issue_type,
            )
            session.add(rule)
            session.commit()
            session.refresh(rule)
            assert rule.id is not None
            for jira_field, kind, value in mappings:
                session.add(
                    FieldMapping(rule_id=rule.id, jira_field=jira_field, kind=kind, value=value)
                )
            session.commit()
            return rule.id

    def update_domain(self, **changes: Any) -> None:
        with Session(self.engine) as session:
            domain = session.get(DomainConfig, self.domain_id)
            assert domain is not None
            for name, value in changes.items():
                setattr(domain, name, value)
            session.add(domain)
            session.commit()

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
        with Session(self.engine) as session:
            domain = session.get(DomainConfig, self.domain_id)
            assert domain is not None
            return domain

    def states(self) -> dict[int, SyncState]:
        with Session(self.engine) as session:
            return {s.pf_task_id: s for s in session.exec(select(SyncState))}

    def events(self, event_type: str | None = None) -> list[SyncEvent]:
        with Session(self.engine) as session:
            query = select(SyncEvent)
            if event_type:
                query = query.where(SyncEvent.event_type == event_type)
            return list(session.exec(query))

    def dead_letters(self) -> list[DeadLetter]:
        with Session(self.engine) as session:
            return list(session.exec(select(DeadLetter)))

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
