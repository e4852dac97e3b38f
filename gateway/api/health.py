"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from gateway.db import ping, run_blocking
from gateway.heartbeat import read_heartbeats
from gateway.migrate import SchemaOutOfDate, ensure_schema_current
from gateway.settings import Settings
from gateway.sync.breaker import degraded_domains

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers; nothing else is checked."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers at the newest schema and Redis answers.

    Workers are reported always; they make readiness fail only when
    GATEWAY_READY_WORKER_MAX_AGE_SECONDS is set and no heartbeat is that recent.
    """
    engine = request.app.state.engine
    checks, degraded = await run_blocking(engine, _database_checks, engine)
    try:
        await request.app.state.redis.ping()
        checks["redis"] = "ok"
    except Exception as error:
        checks["redis"] = f"unreachable: {type(error).__name__}"
    workers: dict[str, object] = {}
    if checks["redis"] == "ok":
        settings: Settings = request.app.state.settings
        workers, problem = await _workers(request, settings.ready_worker_max_age_seconds)
        if problem is not None:
            checks["workers"] = problem
    ready = all(value == "ok" for value in checks.values())
    failing = [name for name, value in checks.items() if value != "ok"]
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
    if workers:
        body["workers"] = workers
    if degraded:
        body["degraded_domains"] = degraded
    if failing:
        body["failing"] = failing
    return JSONResponse(body, status_code=200 if ready else 503)


def _database_checks(engine: Engine) -> tuple[dict[str, str], dict[str, str]]:
    """The database's checks and the degraded domains, on a database thread: a database
    that hangs must not hang the event loop that serves the webhooks."""
    checks: dict[str, str] = {}
    try:
        ping(engine)
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"unreachable: {type(error).__name__}"
        return checks, {}
    try:
        ensure_schema_current(engine)
        checks["schema"] = "ok"
    except SchemaOutOfDate as error:
        checks["schema"] = str(error)
        return checks, {}
    # Degraded, not unready: the API still accepts webhooks; the breaker is per domain.
    return checks, degraded_domains(engine)


async def _workers(request: Request, max_age: int) -> tuple[dict[str, object], str | None]:
    """Heartbeat summary, and the readiness problem (None when fine or not required)."""
    try:
        seen = await read_heartbeats(request.app.state.redis)
    except Exception as error:
        return {}, f"heartbeats unreadable: {type(error).__name__}"
    summary: dict[str, object] = {"alive": len(seen)}
    if seen:
        summary["newest_heartbeat_age_seconds"] = round(seen[0].age(), 1)
    if not max_age:
        return summary, None
    if seen and seen[0].age() <= max_age:
        summary["required"] = True
        return summary, "ok"
    summary["required"] = True
    return summary, f"no worker heartbeat in the last {max_age}s"
