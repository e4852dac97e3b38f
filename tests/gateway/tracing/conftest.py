"""Fixtures of the tracing tests: an in-memory span exporter installed for one test,
and the real API on loopback registered as the fake Jira's webhook."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from fakes.server import FakeServer
from gateway.api.app import create_app
from gateway.monitoring import tracing
from tests.conftest import WEBHOOK_SECRET
from tests.world import World


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on for this test, every finished span kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    try:
        yield exporter
    finally:
        tracing.uninstall()
        provider.shutdown()


@pytest.fixture
async def gateway_api(world: World) -> AsyncIterator[str]:
    """The real gateway API on loopback, as the fake Jira's admin webhook.

    Built after ``spans`` when a test asks for both, so its tracing middleware is on.
    """
    server = FakeServer(create_app(world.settings)).start()
    world.jira.webhooks.register(
        f"{server.url}/api/v1/webhooks/jira",
        name="PF-Jira Sync: Task Completion Return Vector",
        events=["jira:issue_updated"],
        jql="labels = PeopleForce AND statusCategory = Done",
        secret=WEBHOOK_SECRET,
    )
    try:
        yield server.url
    finally:
        server.stop()
