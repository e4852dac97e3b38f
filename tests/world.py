"""A test world: both fakes on loopback, a migrated database, real Redis, the real worker.

Shared by the sync tests (and usable by any test package): everything a guarantee
needs runs for real; only time and faults are under the test's control. The
stack itself is ``gateway.demo.stack``; a World adds the test's ARQ pool and the
short-cuts tests use most (a tick run to completion, request counts).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis

from gateway.clients.retry import RetryPolicy
from gateway.demo.stack import GatewayStack
from gateway.jobs import TICK_JOB, tick_job_id

FAST_RETRIES = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.2)


class World(GatewayStack):
    """A gateway stack on the test's storage, with the test's ARQ pool."""

    retry_policy: RetryPolicy

    def __init__(
        self,
        pool: ArqRedis,
        *,
        clock_offset_file: Path | None = None,
        retry_policy: RetryPolicy = FAST_RETRIES,
    ) -> None:
        super().__init__(retry_policy=retry_policy, clock_offset_file=clock_offset_file)
        self.pool = pool

    def add_domain(self, **overrides: Any) -> int:
        """A domain whose daily sweep is half a day from the test's start, unless the test
        names one: the default 03:00 would fall inside a test run at that hour and queue a
        sweep the test did not ask for."""
        overrides.setdefault("sweep_time", (self.now() + timedelta(hours=12)).strftime("%H:%M"))
        return super().add_domain(**overrides)

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

    def issues_by_task(self) -> Counter[int]:
        """How many issues name each task in their lineage property."""
        grouped = self.issues_grouped_by_task()
        return Counter({task_id: len(issues) for task_id, issues in grouped.items()})

    def jira_requests(self, method: str | None = None) -> int:
        return sum(1 for r in self.jira_faults.requests if method is None or r.method == method)

    def pf_list_requests(self) -> int:
        return sum(
            1 for r in self.pf_faults.requests if r.method == "GET" and r.endpoint == "/tasks"
        )

    def reset_request_logs(self) -> None:
        self.upstreams.reset_request_logs()


def expected_list_requests(open_tasks: int, page_size: int) -> int:
    return max(1, math.ceil(open_tasks / page_size))
