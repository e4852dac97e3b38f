"""A private gateway installation per benchmark: data folder, SQLite, embedded Redis.

Subprocesses (``gateway serve``, ``gateway worker``, the tick runner) get the same
configuration through ``GATEWAY_*`` variables, so every process sees one database
and one Redis, as a real deployment does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

import redis
from sqlalchemy import Engine, insert
from sqlmodel import Session, select

from gateway.clock import utcnow
from gateway.db import make_engine
from gateway.migrate import upgrade
from gateway.models import DeadLetter, DomainConfig, SyncState, SyncStatus
from gateway.redis import EmbeddedRedis
from gateway.settings import Settings, load_settings
from gateway.sync.hashing import state_hash

WEBHOOK_SECRET = "bench-webhook-secret-0123456789abcdef"
PF_KEY = "pf-bench-key"
JIRA_EMAIL = "bot@example.com"
JIRA_TOKEN = "jira-bench-token"


class GatewayEnv:
    """One data folder with a migrated database and a running embedded Redis."""

    def __init__(self, label: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"gateway-bench-{label}-"))
        self.data_dir = self.root / "data"
        self.database_url = f"sqlite:///{self.root / 'gateway.db'}"
        self.redis_server = EmbeddedRedis(self.root / "redis")
        self.redis_url = self.redis_server.ensure_running()
        upgrade(self.database_url)
        self.engine: Engine = make_engine(self.database_url)
        self.settings: Settings = load_settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            redis_url=self.redis_url,
            jira_webhook_secret=WEBHOOK_SECRET,
            log_level="WARNING",
        )

    def runner_settings(self) -> dict[str, Any]:
        """Settings overrides for ``bench.runner``: this installation, quiet logs."""
        return {
            "data_dir": str(self.data_dir),
            "database_url": self.database_url,
            "redis_url": self.redis_url,
            "jira_webhook_secret": WEBHOOK_SECRET,
            "log_level": "WARNING",
        }

    def child_env(self, **extra: str) -> dict[str, str]:
        """Environment for a gateway subprocess sharing this installation."""
        env = dict(os.environ)
        env.update(
            {
                "GATEWAY_DATA_DIR": str(self.data_dir),
                "GATEWAY_DATABASE_URL": self.database_url,
                "GATEWAY_REDIS_URL": self.redis_url,
                "GATEWAY_JIRA_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "GATEWAY_LOG_LEVEL": "WARNING",
                "GATEWAY_LOG_FORMAT": "text",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra)
        return env

    def add_domain(self, **values: Any) -> int:
        """A domain pointing at the fakes; ``values`` override the defaults."""
        fields: dict[str, Any] = {
            "name": "acme",
            "pf_base_url": "http://127.0.0.1:9",
            "pf_api_key": PF_KEY,
            "jira_base_url": "https://acme.atlassian.net",
            "jira_email": JIRA_EMAIL,
            "jira_api_token": JIRA_TOKEN,
            "fallback_project_key": "HR",
        }
        fields.update(values)
        with Session(self.engine) as session:
            domain = DomainConfig(**fields)
            session.add(domain)
            session.commit()
            session.refresh(domain)
            assert domain.id is not None
            return domain.id

    def update_domain(self, domain_id: int, **changes: Any) -> None:
        with Session(self.engine) as session:
            domain = session.get(DomainConfig, domain_id)
            assert domain is not None
            for name, value in changes.items():
                setattr(domain, name, value)
            session.add(domain)
            session.commit()

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
            for start in range(0, len(rows), 5000):
                connection.execute(insert(SyncState), rows[start : start + 5000])

    def states(self) -> list[SyncState]:
        with Session(self.engine) as session:
            return list(session.exec(select(SyncState)))

    def dead_letters(self) -> int:
        with Session(self.engine) as session:
            return len(session.exec(select(DeadLetter.id)).all())

    def flush_redis(self) -> None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            client.flushall()
        finally:
            client.close()

    def close(self) -> None:
        self.engine.dispose()
        self.redis_server.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> GatewayEnv:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
