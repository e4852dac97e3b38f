"""Tracing is configured by the standard OTEL_* variables and is off without them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from sqlalchemy import Engine

from fakes.server import FakeServer
from gateway.api.app import create_app
from gateway.monitoring import tracing
from gateway.monitoring.tracing import TracingMiddleware, exporter_names, job_kwargs
from gateway.runtime.preflight import StartupError, preflight
from gateway.settings import Settings

OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
)


@pytest.fixture
def otel_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No OTEL_* variable from the outside; whatever the test turns on is turned off."""
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch
    tracing.shutdown()


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, []),
        ({"OTEL_SERVICE_NAME": "gateway"}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "console"}, ["console"]),
        ({"OTEL_TRACES_EXPORTER": "otlp, console"}, ["otlp", "console"]),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}, []),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, []),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c", "OTEL_SDK_DISABLED": "TRUE"}, []),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "false"}, ["otlp"]),
    ],
)
def test_exporters_come_from_the_standard_variables(
    environ: dict[str, str], expected: list[str]
) -> None:
    assert exporter_names(environ) == expected


def test_off_by_default_no_middleware_and_no_trace_in_jobs(
    otel_env: pytest.MonkeyPatch, settings: Settings, engine: Engine
) -> None:
    app = create_app(settings)
    assert not tracing.enabled()
    assert all(layer.cls is not TracingMiddleware for layer in app.user_middleware)
    assert job_kwargs() == {}


def test_on_with_an_exporter_named(
    otel_env: pytest.MonkeyPatch, settings: Settings, engine: Engine
) -> None:
    otel_env.setenv("OTEL_TRACES_EXPORTER", "console")
    app = create_app(settings)
    assert tracing.enabled()
    assert any(layer.cls is TracingMiddleware for layer in app.user_middleware)
    with tracing.span("queued here"):
        carried = job_kwargs()[tracing.JOB_ORIGIN_KWARG]
    assert carried["traceparent"].startswith("00-")


def test_an_unknown_exporter_stops_the_start_with_one_line(otel_env: pytest.MonkeyPatch) -> None:
    otel_env.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(StartupError, match=r"^OTEL_TRACES_EXPORTER: unknown exporter 'zipkin'"):
        preflight(None)
    assert not tracing.enabled()


def collector() -> tuple[FastAPI, list[ExportTraceServiceRequest]]:
    """An OTLP/HTTP collector that keeps each export request it receives."""
    received: list[ExportTraceServiceRequest] = []
    app = FastAPI()

    @app.post("/v1/traces")
    async def traces(request: Request) -> Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.body())
        received.append(export)
        return Response(status_code=200)

    return app, received


def exported(received: list[ExportTraceServiceRequest]) -> list[tuple[str, str]]:
    """(service name, span name) of every span the collector received."""
    found: list[tuple[str, Any]] = []
    for export in received:
        for resource_spans in export.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                found += [(attributes["service.name"], span.name) for span in scope.spans]
    return found


def test_spans_reach_an_otlp_collector(otel_env: pytest.MonkeyPatch) -> None:
    app, received = collector()
    with FakeServer(app) as server:
        otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", server.url)
        assert tracing.configure_from_environment()
        with tracing.span("one delivery"):
            pass
        tracing.shutdown()
    assert exported(received) == [("pf-jira-gateway", "one delivery")]


def test_the_service_name_is_the_operators(otel_env: pytest.MonkeyPatch) -> None:
    app, received = collector()
    with FakeServer(app) as server:
        otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", server.url)
        otel_env.setenv("OTEL_SERVICE_NAME", "gateway-eu")
        assert tracing.configure_from_environment()
        with tracing.span("one delivery"):
            pass
        tracing.shutdown()
    assert exported(received) == [("gateway-eu", "one delivery")]
