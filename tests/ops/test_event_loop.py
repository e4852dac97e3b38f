"""The event loop stays free: API and worker share one loop through a real story.

The API's loop also answers Jira's webhook deliveries and the worker's loop runs up
to twenty jobs with their lock renewals, so nothing may block either: database work
goes through ``gateway.db``'s thread pool, argon2 through anyio's threads. Here the
API (uvicorn on loopback) and the real ARQ worker run on this test's one loop while
200 tasks are created in Jira, twenty wrong passwords are tried at once, and people
close fifty issues whose webhooks complete the tasks in PeopleForce. Three things
must hold, each exact whatever the machine's speed: no SQL statement runs on the
loop's thread, no argon2 verification runs on it, and no callback whose coroutines
are gateway code uses more than 50 ms of the loop thread's CPU.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
import time
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from sqlalchemy import Engine, event

import gateway
from gateway.admin.accounts import create_user
from gateway.api.app import create_app
from gateway.db import session_scope
from gateway.demo.stack import register_webhook
from gateway.jobs import TICK_JOB, tick_job_id
from tests.gateway.admin.conftest import csrf_from
from tests.world import World

TASKS = 200
WARM_UP_TASKS = 5
CLOSED_IN_JIRA = 50
LOGINS = 20
READY_PROBES = 10
SLOW_CALLBACK_SECONDS = 0.05
GATEWAY_CODE = str(Path(gateway.__file__).resolve().parent)


@dataclass
class SlowCallback:
    cpu_seconds: float
    wall_seconds: float
    where: list[str]

    def in_gateway_code(self) -> bool:
        return any(path.startswith(GATEWAY_CODE) for path in self.where)


def _await_chain(handle: asyncio.Handle) -> list[str]:
    """Files of the coroutines a task's step ran through, outermost first."""
    callback = handle._callback
    task = getattr(callback, "__self__", None)
    if not isinstance(task, asyncio.Task):
        code = getattr(callback, "__code__", None)
        return [code.co_filename] if code is not None else []
    files: list[str] = []
    awaited: Any = task.get_coro()
    while awaited is not None and hasattr(awaited, "cr_code"):
        files.append(awaited.cr_code.co_filename)
        awaited = awaited.cr_await
    return files


@contextlib.contextmanager
def slow_callbacks() -> Generator[list[SlowCallback]]:
    """Callbacks of ``loop`` that used more than 50 ms of the loop thread's CPU.

    Why not asyncio's debug mode with ``slow_callback_duration``: it reports wall
    time, which on a loaded two-core machine also counts waiting for the GIL held by
    the in-process fakes' threads, and its own instrumentation (a stack capture and a
    ``linecache`` stat of every frame for each future it creates) costs more CPU than
    the code under test. The loop thread's CPU time is what a callback itself costs,
    whatever the machine's load. Blocking waits (a database lock, a socket) use no
    CPU: the SQL statement and argon2 checks catch those exactly.
    """
    seen: list[SlowCallback] = []
    original = asyncio.Handle._run
    collecting = {"cpu": 0.0, "since": 0.0}

    def collector(phase: str, _info: dict[str, Any]) -> None:
        # A full collection of this test process's heap (fakes, pytest, 200 tasks) is
        # the interpreter's pause, not gateway code: it is taken out of the callback.
        if phase == "start":
            collecting["since"] = time.thread_time()
        else:
            collecting["cpu"] += time.thread_time() - collecting["since"]

    def timed(handle: asyncio.Handle) -> None:
        cpu, wall, collected = time.thread_time(), time.perf_counter(), collecting["cpu"]
        try:
            original(handle)
        finally:
            used = time.thread_time() - cpu - (collecting["cpu"] - collected)
            if used > SLOW_CALLBACK_SECONDS:
                seen.append(SlowCallback(used, time.perf_counter() - wall, _await_chain(handle)))

    gc.callbacks.append(collector)
    asyncio.Handle._run = timed  # ty: ignore[invalid-assignment]
    try:
        yield seen
    finally:
        asyncio.Handle._run = original
        gc.callbacks.remove(collector)


@contextlib.contextmanager
def statements_by_thread() -> Generator[list[tuple[int, str]]]:
    """Every SQL statement any engine of this process runs, with the thread it ran on."""
    seen: list[tuple[int, str]] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append((threading.get_ident(), statement.split()[0]))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


@contextlib.contextmanager
def argon2_threads(monkeypatch: pytest.MonkeyPatch) -> Generator[list[int]]:
    """The thread of every argon2 verification (the library's, called for real)."""
    seen: list[int] = []
    original = PasswordHasher.verify

    def verify(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        seen.append(threading.get_ident())
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", verify)
    yield seen


@contextlib.asynccontextmanager
async def api_on_this_loop(world: World) -> AsyncGenerator[str]:
    """``gateway serve``'s app under uvicorn on loopback, on the test's own loop."""
    config = uvicorn.Config(
        create_app(world.settings), host="127.0.0.1", port=0, log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the API did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    register_webhook(world.jira, url, world.webhook_secret())
    try:
        yield url
    finally:
        server.should_exit = True
        await serving


async def wrong_logins(http: httpx.AsyncClient) -> list[int]:
    csrf = csrf_from((await http.get("/login")).text)
    names = ["admin"] + [f"nobody-{index}" for index in range(LOGINS - 1)]
    forms = [{"username": name, "password": "not it", "csrf_token": csrf} for name in names]
    answers = await asyncio.gather(*(http.post("/login", data=form) for form in forms))
    return [answer.status_code for answer in answers]


async def readiness_probes(http: httpx.AsyncClient) -> list[int]:
    """What a load balancer does all day: /readyz reads the database and Redis."""
    return [(await http.get("/readyz")).status_code for _ in range(READY_PROBES)]


async def run_tick(world: World) -> None:
    await world.pool.enqueue_job(TICK_JOB, world.domain_id, _job_id=tick_job_id(world.domain_id))
    await world.run_worker()


@pytest.mark.slow
async def test_api_and_worker_leave_the_loop_free(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add_domain()
    with session_scope(world.engine) as session:
        create_user(session, "admin", "correct horse battery staple")
    for index in range(WARM_UP_TASKS):
        world.pf.create_task(f"Warm-up task {index}")

    async with (
        api_on_this_loop(world) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        # Warm-up outside the measurement: first imports, template compilation, pools.
        await run_tick(world)
        assert (await http.get("/login")).status_code == 200
        for index in range(TASKS - WARM_UP_TASKS):
            world.pf.create_task(f"Onboarding step {index}")
        world.update_domain(last_poll_at=None)

        with (
            slow_callbacks() as slow,
            statements_by_thread() as statements,
            argon2_threads(monkeypatch) as verifications,
        ):
            _, statuses, ready = await asyncio.gather(
                run_tick(world), wrong_logins(http), readiness_probes(http)
            )
            closed = [issue["key"] for issue in world.issues()[:CLOSED_IN_JIRA]]
            for key in closed:
                world.jira.transition(key, to_category="done")
            await world.webhooks.drain()
            await world.run_worker()

    assert statuses == [401] * LOGINS
    assert ready == [200] * READY_PROBES
    assert len(world.issues()) == TASKS
    assert sum(1 for task in world.pf.tasks.values() if task["completed"]) == CLOSED_IN_JIRA
    loop_thread = threading.get_ident()
    assert len(verifications) == LOGINS and loop_thread not in verifications
    flagged = [c for c in slow if c.in_gateway_code()]
    assert flagged == [], "\n".join(
        f"{c.cpu_seconds:.3f}s: " + " > ".join(c.where) for c in flagged
    )
    kinds = {kind for _, kind in statements}
    assert {"SELECT", "INSERT", "UPDATE"} <= kinds
    assert [kind for thread, kind in statements if thread == loop_thread] == []
