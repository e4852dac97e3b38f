"""The dashboard's runtime view: live workers, queue depth, the last sweep's repairs, and
each domain's circuit breaker and last reconcile pass."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from sqlalchemy import Engine

from gateway.admin import dashboard, domains
from gateway.admin.schemas import DomainCreate
from gateway.clock import utcnow
from gateway.db import session_scope
from gateway.heartbeat import HEARTBEAT_KEY_PREFIX, HEARTBEAT_TTL_SECONDS
from gateway.jobs import QUEUE_NAME
from gateway.models import DomainConfig, EventType, SyncEvent
from tests.gateway.admin.conftest import Admin

PAGES = ("/admin", "/admin/fragments/dashboard")


@pytest.fixture
def store(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def _domain(engine: Engine, name: str = "acme") -> int:
    data = DomainCreate.model_validate(
        {
            "name": name,
            "pf_base_url": "https://pf.test/",
            "jira_base_url": "https://acme.atlassian.net",
            "jira_email": "ops@acme.test",
        }
    )
    with session_scope(engine) as db:
        domain_id = domains.create_domain(db, data).id
    assert domain_id is not None
    return domain_id


def _sweep(engine: Engine, domain_id: int, details: dict | None) -> None:
    with session_scope(engine) as db:
        db.add(
            SyncEvent(
                domain_id=domain_id,
                event_type=EventType.SWEEP.value,
                reason="sweep",
                details=details,
            )
        )


@pytest.mark.parametrize("path", PAGES)
def test_live_worker_listed_with_its_heartbeat_age(admin: Admin, store: redis.Redis, path: str):
    store.set(HEARTBEAT_KEY_PREFIX + "host-a:4242", str(time.time() - 7), ex=HEARTBEAT_TTL_SECONDS)
    html = admin.client.get(path).text
    worker = re.search(r'data-testid="worker">(.*?)</dd>', html, re.S)
    assert worker is not None
    assert "<code>host-a:4242</code>" in worker.group(1)
    assert re.search(r"heartbeat (7|8) s ago", worker.group(1))
    assert "1 alive" in html
    assert 'data-testid="workers-warning"' not in html


@pytest.mark.parametrize("path", PAGES)
def test_no_heartbeat_shows_a_warning(admin: Admin, path: str):
    html = admin.client.get(path).text
    assert 'data-testid="worker"' not in html
    warning = re.search(r'data-testid="workers-warning">(.*?)</p>', html, re.S)
    assert warning is not None
    assert f"No worker heartbeat in the last {HEARTBEAT_TTL_SECONDS} seconds" in warning.group(1)


def test_only_an_old_heartbeat_still_warns(admin: Admin, store: redis.Redis):
    store.set(HEARTBEAT_KEY_PREFIX + "host-b:1", str(time.time() - 600), ex=60)
    html = admin.client.get("/admin").text
    assert "<code>host-b:1</code>" in html
    assert 'data-testid="workers-warning"' in html


def test_worker_id_is_escaped(admin: Admin, store: redis.Redis):
    store.set(HEARTBEAT_KEY_PREFIX + "<script>x</script>:1", str(time.time()), ex=60)
    html = admin.client.get("/admin").text
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;:1" in html


@pytest.mark.parametrize("path", PAGES)
def test_queue_depth_counts_waiting_jobs(admin: Admin, store: redis.Redis, path: str):
    assert 'data-testid="queue-depth">0 jobs waiting<' in admin.client.get(path).text
    store.zadd(QUEUE_NAME, {"job-a": 1.0, "job-b": 2.0, "job-c": 3.0})
    assert 'data-testid="queue-depth">3 jobs waiting<' in admin.client.get(path).text


@pytest.mark.parametrize("path", PAGES)
def test_last_sweep_shows_how_many_it_repaired(admin: Admin, engine: Engine, path: str):
    acme = _domain(engine, "acme")
    other = _domain(engine, "other")
    _sweep(engine, acme, {"scanned": 10, "repaired": 2})
    _sweep(engine, acme, {"scanned": 12, "repaired": 5})
    _sweep(engine, other, None)
    html = admin.client.get(path).text
    assert f'data-testid="last-sweep-repaired-{acme}">repaired 5<' in html
    assert f'data-testid="last-sweep-repaired-{other}"' not in html


def test_redis_down_degrades_to_a_warning(admin: Admin, monkeypatch: pytest.MonkeyPatch):
    async def unreachable(*_: object) -> None:
        raise ConnectionError("down")

    monkeypatch.setattr(dashboard, "read_runtime", unreachable)
    response = admin.client.get("/admin")
    assert response.status_code == 200
    assert "Redis unreachable: ConnectionError" in response.text
    assert 'data-testid="queue-depth">unknown<' in response.text


@pytest.mark.parametrize("path", PAGES)
def test_database_size_and_oldest_event_kept(admin: Admin, engine: Engine, path: str):
    html = admin.client.get(path).text
    assert re.search(r'data-testid="database-size">\d+\.\d (kB|MB)</dd>', html)
    assert 'data-testid="oldest-event">none</dd>' in html
    assert 'data-testid="audit-retention">90 days</dd>' in html
    domain_id = _domain(engine)
    with session_scope(engine) as db:
        db.add(
            SyncEvent(
                domain_id=domain_id,
                event_type=EventType.UPDATED.value,
                created_at=utcnow() - timedelta(days=3),
            )
        )
    html = admin.client.get(path).text
    oldest = re.search(r'data-testid="oldest-event">(.*?)</dd>', html, re.S)
    assert oldest is not None and ">3 d ago</time>" in oldest.group(1)


@pytest.mark.parametrize("path", PAGES)
def test_breaker_state_and_last_reconcile_per_domain(admin: Admin, engine: Engine, path: str):
    acme = _domain(engine, "acme")
    other = _domain(engine, "other")
    html = admin.client.get(path).text
    assert f'data-testid="breaker-{acme}"' not in html
    assert re.search(rf'data-testid="last-reconcile-{acme}">never · every 60 min<', html)
    with session_scope(engine) as db:
        domain = db.get(DomainConfig, acme)
        assert domain is not None
        domain.breaker_opened_at = utcnow()
        domain.breaker_reason = "jira refused: 401"
        domain.last_reconcile_at = utcnow() - timedelta(minutes=5)
        domain.last_reconcile_outcome = "read 3 in 1 requests"
    html = admin.client.get(path).text
    badge = re.search(rf'<span [^>]*data-testid="breaker-{acme}"[^>]*>([^<]*)<', html)
    assert badge is not None and "circuit breaker open" in badge.group(1)
    assert 'title="jira refused: 401"' in badge.group(0)
    assert f'data-testid="breaker-{other}"' not in html
    reconcile = re.search(rf'data-testid="last-reconcile-{acme}">(.*?)</dd>', html, re.S)
    assert reconcile is not None and "read 3 in 1 requests" in reconcile.group(1)
    page = admin.client.get(f"/admin/domains/{acme}").text
    assert 'data-testid="breaker"' in page and "circuit breaker open since" in page
    assert "read 3 in 1 requests" in page
