"""Run the demo end to end: start, seed, play the story, heal, settle, sweep, judge.

The first Ctrl-C ends the story early and still gives the verdict; a second one
(or SIGTERM) skips to the shutdown. Either way every process is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable
from datetime import datetime

from rich.console import Console
from rich.live import Live
from sqlmodel import Session

from fakes.peopleforce import API_PREFIX
from gateway.clock import as_utc, utcnow
from gateway.demo.launch import WORKER_LOG, DemoOptions, DemoStack, NotADemoFolder, start_demo
from gateway.demo.seed import create_admin, seed_domain
from gateway.demo.sso import DEMO_SSO_ADMIN, DEMO_SSO_DOMAIN
from gateway.demo.story import Story
from gateway.demo.verdict import Verdict, judge
from gateway.demo.view import collect, one_line, render
from gateway.jobs import open_pool
from gateway.models import DomainConfig, EventType
from gateway.redis import RedisUnavailable

REFRESH_SECONDS = 0.25
PLAIN_LINE_SECONDS = 5.0
SETTLE_TIMEOUT_SECONDS = 90.0


class Display:
    """Rich Live on a terminal, a plain line every few seconds otherwise."""

    def __init__(self, console: Console, stack: DemoStack, story: Story, domain_id: int) -> None:
        self.console = console
        self.stack = stack
        self.story = story
        self.domain_id = domain_id
        self.status = "starting"
        self.live: Live | None = None
        self._last_line = 0.0

    def __enter__(self) -> Display:
        if self.console.is_terminal:
            self.live = Live(console=self.console, refresh_per_second=4, transient=False)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.update()
            self.live.__exit__(None, None, None)

    def update(self, status: str | None = None, *, force: bool = False) -> None:
        if status is not None:
            self.status = status
        figures = collect(self.stack, self.domain_id)
        if self.live is not None:
            self.live.update(render(self.story, figures, self.status))
            return
        now = time.monotonic()
        if force or status is not None or now - self._last_line >= PLAIN_LINE_SECONDS:
            self._last_line = now
            self.console.print(
                one_line(self.story, figures, self.status), highlight=False, soft_wrap=True
            )


def print_banner(console: Console, stack: DemoStack, admin: str) -> None:
    api = stack.api_url
    console.print(f"[bold]Gateway demo[/] (data folder {stack.data_dir})", highlight=False)
    console.print(
        f"  admin UI          {api}/admin  user [bold]{admin}[/]  password "
        f"[bold]{stack.admin_password}[/]",
        highlight=False,
    )
    console.print(f"  API               {api}/readyz  {api}/metrics", highlight=False)
    if stack.sso is not None:
        console.print(
            f"  SSO               'Sign in with SSO' on {api}/login: any @{DEMO_SSO_DOMAIN} "
            f"address ({DEMO_SSO_ADMIN} is admin) at the fake provider {stack.sso.url}",
            highlight=False,
        )
    console.print(
        f"  fake PeopleForce  {stack.pf_server.url}{API_PREFIX}  "
        f"(docs: /docs, state: /_fake/state)",
        highlight=False,
    )
    console.print(
        f"  fake Jira         {stack.jira_server.url}  (state: /_fake/state)", highlight=False
    )
    console.print(
        f"  Jira admin webhook -> {api}/api/v1/webhooks/jira (secret generated)", highlight=False
    )
    console.print(
        f"  processes: worker pid={stack.worker.pid} redis pid={stack.redis_pid} "
        f"(worker log {stack.data_dir / WORKER_LOG})",
        highlight=False,
    )


def _domain(stack: DemoStack, domain_id: int) -> DomainConfig | None:
    with Session(stack.engine) as session:
        return session.get(DomainConfig, domain_id)


def _good_tick_since(stack: DemoStack, domain_id: int, moment: datetime) -> bool:
    domain = _domain(stack, domain_id)
    if domain is None or domain.last_poll_at is None:
        return False
    # last_poll_at is set when a tick starts; the outcome is written when it ends.
    started = as_utc(domain.last_poll_at)
    return (
        started > moment
        and domain.consecutive_tick_failures == 0
        and bool(domain.last_tick_outcome)
    )


async def _wait(display: Display, condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        display.update()
        await asyncio.sleep(REFRESH_SECONDS)
    return condition()


def _sweeps(stack: DemoStack, domain_id: int) -> int:
    from sqlmodel import func, select

    from gateway.models import SyncEvent

    with Session(stack.engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(SyncEvent)
                .where(SyncEvent.domain_id == domain_id, SyncEvent.event_type == EventType.SWEEP)
            ).one()
        )


async def finale(stack: DemoStack, story: Story, display: Display, domain_id: int) -> Verdict:
    """Heal every fault, let the system settle, sweep once more, then judge."""
    story.heal()
    story.say("operator", "all faults healed; waiting for the system to settle")
    healed = utcnow()
    display.update("settling")
    await _wait(
        display,
        lambda: stack.jira.webhooks.pending == 0 and _good_tick_since(stack, domain_id, healed),
        SETTLE_TIMEOUT_SECONDS,
    )
    before = _sweeps(stack, domain_id)
    await story.trigger_sweep("final sweep")
    display.update("final sweep")
    await _wait(display, lambda: _sweeps(stack, domain_id) > before, SETTLE_TIMEOUT_SECONDS)
    swept = utcnow()

    def verdict_now() -> Verdict:
        return judge(
            stack.engine,
            domain_id,
            list(stack.pf.tasks.values()),
            stack.jira.dump()["issues"],
        )

    display.update("checking consistency")
    await _wait(
        display,
        lambda: (
            stack.jira.webhooks.pending == 0
            and _good_tick_since(stack, domain_id, swept)
            and verdict_now().ok
        ),
        SETTLE_TIMEOUT_SECONDS,
    )
    return verdict_now()


async def play(stack: DemoStack, options: DemoOptions, console: Console, domain_id: int) -> Verdict:
    """The story until the duration ends or Ctrl-C, then the finale."""
    loop = asyncio.get_running_loop()
    end_story = asyncio.Event()
    main = asyncio.current_task()
    interrupts = 0

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            end_story.set()
        elif main is not None:
            main.cancel()

    def on_terminate() -> None:
        if main is not None:
            main.cancel()

    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    loop.add_signal_handler(signal.SIGTERM, on_terminate)
    pool = await open_pool(stack.settings.redis_url or "")
    try:
        story = Story(stack, pool, domain_id, seed=options.seed, speed=options.speed)
        with Display(console, stack, story, domain_id) as display:
            display.update("story running (Ctrl-C ends it and gives the verdict)")
            started = time.monotonic()
            while not end_story.is_set():
                if options.duration is not None and time.monotonic() - started >= options.duration:
                    break
                if not stack.worker.alive:
                    story.say("demo", "the worker process exited; see its log")
                    break
                await story.advance()
                display.update()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(end_story.wait(), REFRESH_SECONDS)
            display.update("story over")
            if not stack.worker.alive:
                return Verdict(aborted=f"the worker exited; see {stack.data_dir / WORKER_LOG}")
            verdict = await finale(stack, story, display, domain_id)
            display.update("done")
        return verdict
    finally:
        await pool.aclose()
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)


def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Everything; returns the exit code (0: consistent, 1: not, 130: interrupted)."""
    console = console or Console()
    if not console.is_terminal:
        console.soft_wrap = True  # a log or a pipe: keep each line whole
    try:
        stack = start_demo(options)
    except KeyboardInterrupt:
        return 130
    except (NotADemoFolder, RedisUnavailable, OSError) as error:
        console.print(f"[bold red]error:[/] {error}", highlight=False)
        return 2
    try:
        domain_id = seed_domain(stack)
        admin = create_admin(stack.engine, stack.admin_password)
        print_banner(console, stack, admin)
        if not stack.wait_for_worker():
            console.print(f"[red]the worker did not start; see {stack.data_dir / WORKER_LOG}")
            return 1
        verdict = asyncio.run(play(stack, options, console, domain_id))
        for problem in verdict.problems[:10]:
            console.print(f"  {problem}", highlight=False)
        console.print(
            verdict.line(), highlight=False, style="bold green" if verdict.ok else "bold red"
        )
        return 0 if verdict.ok else 1
    except (asyncio.CancelledError, KeyboardInterrupt):
        console.print("interrupted: shutting down without a verdict")
        return 130
    finally:
        # Shutting down must finish: further Ctrl-C presses would orphan processes.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        console.print("stopping worker, API, fakes and Redis ...", highlight=False)
        stack.close()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        console.print("stopped; nothing left running", highlight=False)
