"""Building blocks for test worlds: both fakes on loopback around a gateway database.

Kept apart from ``tests/world.py`` (the World itself) so any test package can
assemble one without copying fixture code.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path

from arq.connections import ArqRedis
from sqlalchemy import Engine

from fakes.clock import FakeClock
from fakes.jira import create_jira_app
from fakes.peopleforce import create_peopleforce_app
from fakes.server import FakeServer
from gateway.settings import Settings
from scenarios.records import JIRA_EMAIL, JIRA_TOKEN, PF_KEY
from tests.world import World

PAGE_SIZE = 5


@contextmanager
def fake_world(
    settings: Settings,
    engine: Engine,
    pool: ArqRedis,
    offset_file: Path,
    *,
    page_size: int = PAGE_SIZE,
) -> Generator[World]:
    """Start both fakes on loopback sharing one fake clock; stop them on exit.

    The caller points ``GATEWAY_CLOCK_OFFSET_FILE`` at ``offset_file`` so the
    gateway's clock moves with the fakes' when the test calls ``World.advance``.
    """
    clock = FakeClock()
    pf_server = FakeServer(
        create_peopleforce_app(api_key=PF_KEY, page_size=page_size, clock=clock)
    ).start()
    jira_app = create_jira_app(email=JIRA_EMAIL, api_token=JIRA_TOKEN, clock=clock)
    try:
        jira_server = FakeServer(jira_app).start()
    except BaseException:
        pf_server.stop()
        raise
    jira_app.state.jira.set_base_url(jira_server.url)
    try:
        yield World(
            settings=settings.model_copy(update={"orphan_grace_seconds": 0.0}),
            engine=engine,
            pool=pool,
            pf_server=pf_server,
            jira_server=jira_server,
            clock=clock,
            clock_offset_file=offset_file,
        )
    finally:
        pf_server.stop()
        jira_server.stop()
