"""A private gateway installation per benchmark: data folder, SQLite, embedded Redis, fakes.

It is a gateway stack (``gateway.demo.stack``) with the benchmarks' defaults:
quiet logs, the fake PeopleForce serving 50 tasks a page from a cached listing
(``bench.upstreams.cache_listing``), and bulk seeding of the ledger. Subprocesses
(``gateway serve``, ``gateway worker``, the tick runner) get the same configuration
through ``GATEWAY_*`` variables, so every process sees one database and one Redis,
as a real deployment does.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import insert

from bench.procs import python_env
from bench.upstreams import cache_listing
from gateway.clock import utcnow
from gateway.demo.stack import GatewayStack
from gateway.demo.storage import open_storage
from gateway.demo.upstreams import start_upstreams
from gateway.models import SyncState, SyncStatus
from gateway.sync.hashing import state_hash

WEBHOOK_SECRET = "bench-webhook-secret-0123456789abcdef"
PAGE_SIZE = 50
INSERT_BATCH = 5000


class GatewayEnv(GatewayStack):
    """One benchmark's installation around both fakes; ``jira_options`` shape the fake Jira."""

    def __init__(self, label: str, *, page_size: int = PAGE_SIZE, **jira_options: Any) -> None:
        super().__init__()
        storage = open_storage(
            prefix=f"gateway-bench-{label}-",
            jira_webhook_secret=WEBHOOK_SECRET,
            log_level="WARNING",
            log_format="text",
        )
        self.attach(
            storage, functools.partial(start_upstreams, page_size=page_size, **jira_options)
        )
        cache_listing(self.pf)

    def __enter__(self) -> GatewayEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def runner_settings(self) -> dict[str, Any]:
        """Settings overrides for ``bench.runner``: this installation, quiet logs."""
        return {
            "data_dir": str(self.settings.data_dir),
            "database_url": self.storage.database_url,
            "redis_url": self.redis_url,
            "jira_webhook_secret": WEBHOOK_SECRET,
            "log_level": self.settings.log_level,
        }

    def environment(self) -> dict[str, str]:
        """Environment for a subprocess sharing this installation (and importing this checkout)."""
        return python_env(super().environment() | {"PYTHONUNBUFFERED": "1"})

    def seed_synced(
        self, domain_id: int, tasks: list[dict[str, Any]], issues: dict[int, tuple[str, str]]
    ) -> None:
        """SyncState rows as a finished tick leaves them, written in bulk.

        ``tasks`` are the raw dicts exactly as the fake serves them, so the hash is
        the one the tick computes; ``issues`` maps task id to (issue id, key).
        """
        now = utcnow()
        rows = [
            {
                "domain_id": domain_id,
                "pf_task_id": task["id"],
                "jira_issue_id": issues[task["id"]][0],
                "jira_issue_key": issues[task["id"]][1],
                "last_sync_hash": state_hash(task),
                "last_synced_fields": None,
                "is_completed": False,
                "status": SyncStatus.SYNCED,
                "created_at": now,
                "updated_at": now,
            }
            for task in tasks
        ]
        with self.engine.begin() as connection:
            for start in range(0, len(rows), INSERT_BATCH):
                connection.execute(insert(SyncState), rows[start : start + INSERT_BATCH])
