"""Helpers shared by the webhook ingress tests: payloads, signed posts, Redis/DB probes."""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import redis
from arq.jobs import deserialize_job
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import Engine, event
from sqlmodel import Session

from gateway.api.signature import sign
from gateway.api.webhooks import DEDUPE_KEY_PREFIX, WEBHOOK_PATH
from gateway.jobs import QUEUE_NAME
from gateway.models import DomainConfig
from tests.conftest import WEBHOOK_SECRET

SITE = "https://acme.atlassian.net"
LABEL = "PeopleForce"


def issue_event(
    issue_id: str = "10001",
    *,
    site: str = SITE,
    labels: tuple[str, ...] = (LABEL,),
    event: str = "jira:issue_updated",
) -> dict[str, Any]:
    """A ``jira:issue_updated`` body shaped like Jira's (only what the ingress reads, and more)."""
    return {
        "timestamp": 1_700_000_000_000,
        "webhookEvent": event,
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Agent"},
        "issue": {
            "id": issue_id,
            "key": f"HR-{issue_id}",
            "self": f"{site}/rest/api/2/issue/{issue_id}",
            "fields": {
                "labels": list(labels),
                "status": {"name": "Done", "statusCategory": {"key": "done", "id": 3}},
            },
        },
        "changelog": {"id": "1", "items": [{"fieldId": "status", "toString": "Done"}]},
    }


def encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def post(
    client: TestClient,
    body: bytes,
    *,
    secret: str | None = WEBHOOK_SECRET,
    identifier: str | None = "delivery-1",
    headers: Mapping[str, str] | None = None,
    path: str = WEBHOOK_PATH,
) -> httpx.Response:
    """POST ``body`` signed with ``secret`` (unsigned when None) to ``path`` as Jira would."""
    sent = {"Content-Type": "application/json"}
    if secret is not None:
        sent["X-Hub-Signature"] = sign(body=body, secret=secret)
    if identifier is not None:
        sent["X-Atlassian-Webhook-Identifier"] = identifier
    sent.update(headers or {})
    return client.post(path, content=body, headers=sent)


def add_domain(
    engine: Engine,
    *,
    name: str = "acme",
    jira_base_url: str = "https://ACME.atlassian.net/",
    tracking_label: str = LABEL,
    is_active: bool = True,
) -> int:
    with Session(engine) as session:
        domain = DomainConfig(
            name=name,
            pf_base_url=f"https://{name}.peopleforce.io",
            jira_base_url=jira_base_url,
            tracking_label=tracking_label,
            is_active=is_active,
        )
        session.add(domain)
        session.commit()
        assert domain.id is not None
        return domain.id


@dataclass(frozen=True)
class QueuedJob:
    job_id: str
    function: str
    args: tuple[Any, ...]


def queued_jobs(redis_url: str) -> list[QueuedJob]:
    """The jobs waiting on the gateway's ARQ queue, oldest first."""
    client = redis.Redis.from_url(redis_url)
    try:
        jobs = []
        for raw_id in cast(list[bytes], client.zrange(QUEUE_NAME, 0, -1)):
            data = client.get(b"arq:job:" + raw_id)
            assert isinstance(data, bytes)
            job = deserialize_job(data)
            jobs.append(QueuedJob(raw_id.decode(), job.function, tuple(job.args)))
        return jobs
    finally:
        client.close()


def redis_commands(redis_url: str) -> int:
    """Commands the server has processed, minus INFO and the CLIENT SETINFO of a new connection.

    Those are what asking costs; anything the app sends (SET, GET, EVAL...) counts.
    """
    client = redis.Redis.from_url(redis_url)
    try:
        stats = cast(dict[str, Any], client.info("commandstats"))
    finally:
        client.close()
    return sum(
        int(value["calls"])
        for name, value in stats.items()
        if isinstance(value, dict) and name not in ("cmdstat_info", "cmdstat_client")
    )


@dataclass
class QueryLog:
    statements: list[str] = field(default_factory=list)


@contextmanager
def count_queries(engine: Engine) -> Generator[QueryLog]:
    """Every SQL statement ``engine`` runs inside the block."""
    log = QueryLog()

    def before(_conn, _cursor, statement, _params, _context, _many) -> None:
        log.statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", before)


def dedupe_keys(redis_url: str) -> list[bytes]:
    """The webhook dedupe keys currently in Redis."""
    client = redis.Redis.from_url(redis_url)
    try:
        return cast(list[bytes], client.keys(DEDUPE_KEY_PREFIX + "*"))
    finally:
        client.close()


def sample(name: str, **labels: str) -> float:
    """Current value of a counter sample (0 when it was never incremented)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0
