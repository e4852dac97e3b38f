from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from arq.connections import ArqRedis
from sqlalchemy import Engine

from fakes.clock import FakeClock
from fakes.jira import create_jira_app
from fakes.peopleforce import create_peopleforce_app
from fakes.server import FakeServer
from gateway.clock import OFFSET_FILE_ENV
from gateway.settings import Settings
from tests.world import JIRA_EMAIL, JIRA_TOKEN, PF_KEY, World

PAGE_SIZE = 5


@pytest.fixture
async def world(
    settings: Settings,
    engine: Engine,
    arq_pool: ArqRedis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[World]:
    settings = settings.model_copy(update={"orphan_grace_seconds": 0.0})
    offset_file = tmp_path / "clock-offset"
    monkeypatch.setenv(OFFSET_FILE_ENV, str(offset_file))
    clock = FakeClock()
    pf_server = FakeServer(
        create_peopleforce_app(api_key=PF_KEY, page_size=PAGE_SIZE, clock=clock)
    ).start()
    jira_app = create_jira_app(email=JIRA_EMAIL, api_token=JIRA_TOKEN, clock=clock)
    jira_server = FakeServer(jira_app).start()
    jira_app.state.jira.set_base_url(jira_server.url)
    world = World(
        settings=settings,
        engine=engine,
        pool=arq_pool,
        pf_server=pf_server,
        jira_server=jira_server,
        clock=clock,
        clock_offset_file=offset_file,
    )
    try:
        yield world
    finally:
        pf_server.stop()
        jira_server.stop()
