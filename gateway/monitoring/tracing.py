"""OpenTelemetry traces: one trace per webhook delivery, from receipt to PeopleForce.

Off unless the standard ``OTEL_*`` variables ask for an exporter, and then nearly
free when off: no middleware is installed and every hook below is one ``None``
check. When on, the ingress opens a server span per request, the enqueue step
writes the W3C ``traceparent`` (and the request id) into the queued ARQ job's
keyword arguments, and the worker continues that trace in the job's span, so
the PeopleForce call a job makes is a child of the delivery that caused it.
Ticks get a span each, with a child per page read and per task written.

The module keeps its own tracer rather than the OpenTelemetry global provider, so
tests can install an in-memory exporter and remove it again.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from re import Pattern
from typing import TYPE_CHECKING, Any, TypeVar, cast

from opentelemetry import propagate
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import Attributes
from starlette.applications import Starlette
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.logs import current_context, log_context

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

log = logging.getLogger("gateway.tracing")

TRACER_NAME = "gateway"
DEFAULT_SERVICE_NAME = "pf-jira-gateway"
# The keyword argument of a queued job that carries where it came from: the W3C
# trace context of the span that queued it and the request id of that request.
JOB_ORIGIN_KWARG = "origin"
REQUEST_ID_KEY = "request_id"
QUEUE_SYSTEM = "arq"

F = TypeVar("F", bound=Callable[..., Any])
AttributesOf = Callable[..., Attributes]


class TracingConfigError(ValueError):
    """An ``OTEL_*`` variable names something the gateway cannot export to."""


@dataclass
class _Tracing:
    tracer: Tracer | None = None
    provider: TracerProvider | None = None


_state = _Tracing()


def enabled() -> bool:
    """Whether spans are being recorded in this process."""
    return _state.tracer is not None


def install(provider: TracerProvider) -> None:
    """Record spans through ``provider`` (tests pass one with an in-memory exporter)."""
    _state.provider = provider
    _state.tracer = provider.get_tracer(TRACER_NAME)


def uninstall() -> None:
    """Stop recording spans; the provider stays its owner's to shut down."""
    _state.provider = None
    _state.tracer = None


def shutdown() -> None:
    """Export what is still buffered and stop recording (a process that stops early)."""
    provider = _state.provider
    uninstall()
    if provider is not None:
        provider.shutdown()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def exporter_names(environ: Mapping[str, str]) -> list[str]:
    """The exporters the environment asks for; none unless something is configured.

    ``OTEL_TRACES_EXPORTER`` decides when set (``none`` turns tracing off); otherwise
    an OTLP endpoint variable alone means ``otlp``. ``OTEL_SDK_DISABLED=true`` wins.
    """
    if _truthy(environ.get("OTEL_SDK_DISABLED")):
        return []
    named = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named:
        names = [name.strip() for name in named.split(",") if name.strip()]
        return [name for name in names if name != "none"]
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return ["otlp"] if any(environ.get(name) for name in endpoints) else []


def build_exporter(name: str) -> SpanExporter:
    """One exporter by its ``OTEL_TRACES_EXPORTER`` name; the OTLP one reads its own
    ``OTEL_EXPORTER_OTLP_*`` variables (endpoint, headers, timeout)."""
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise TracingConfigError(
                "OTEL_TRACES_EXPORTER=otlp needs the otlp extra: "
                "pip install 'pf-jira-gateway[otlp]'"
            ) from None
        return OTLPSpanExporter()
    raise TracingConfigError(f"OTEL_TRACES_EXPORTER: unknown exporter {name!r} (otlp, console)")


def check_tracing_config() -> None:
    """Raise TracingConfigError when the ``OTEL_*`` variables name an unusable exporter."""
    for name in exporter_names(os.environ):
        build_exporter(name)


def _resource() -> Resource:
    """The SDK's resource (it reads ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``),
    named ``pf-jira-gateway`` unless those name the service."""
    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    return Resource.create({} if named else {SERVICE_NAME: DEFAULT_SERVICE_NAME})


def configure_from_environment() -> bool:
    """Turn tracing on when the ``OTEL_*`` variables ask for it; True when it is on.

    Idempotent: the API and an in-process worker share one provider, and a provider
    installed by a test is left alone. Raises TracingConfigError for an exporter
    that cannot be built (the preflight reports it as one line before start).
    """
    if _state.provider is not None:
        return True
    names = exporter_names(os.environ)
    if not names:
        return False
    # The SDK is imported only here: a gateway without tracing never loads it.
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporters = [build_exporter(name) for name in names]
    provider = TracerProvider(resource=_resource())
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    install(provider)
    log.info("tracing on: exporting spans to %s", ", ".join(names))
    return True


@contextmanager
def _recording(
    tracer: Tracer,
    name: str,
    *,
    kind: SpanKind,
    attributes: Attributes = None,
    context: Context | None = None,
) -> Generator[Span]:
    """The current span for the block; a failure records the exception's type only.

    Messages of upstream and notification errors can hold URLs, ids or a bot token
    that have no place in a collector, so neither they nor tracebacks are exported.
    """
    with tracer.start_as_current_span(
        name,
        context=context,
        kind=kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except BaseException as error:
            current.set_attribute("error.type", type(error).__qualname__)
            current.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Attributes = None,
    context: Context | None = None,
) -> Generator[Span | None]:
    """A span around the block when tracing is on; nothing (and None) when it is off."""
    tracer = _state.tracer
    if tracer is None:
        yield None
        return
    with _recording(tracer, name, kind=kind, attributes=attributes, context=context) as current:
        yield current


def traced(
    name: str | Callable[..., str],
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: AttributesOf | None = None,
    result_attributes: Callable[[Any], Attributes] | None = None,
) -> Callable[[F], F]:
    """Decorate a function (sync or async) so each call is a span.

    ``name`` and ``attributes`` may be callables of the call's arguments;
    ``result_attributes`` of its result. When tracing is off the call goes straight
    through after one check, so hot paths can wear it.
    """

    def opened(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        tracer = cast(Tracer, _state.tracer)
        title = name if isinstance(name, str) else name(*args, **kwargs)
        found = attributes(*args, **kwargs) if attributes is not None else None
        return _recording(tracer, title, kind=kind, attributes=found)

    def finish(current: Span, result: Any) -> None:
        if result_attributes is not None:
            current.set_attributes(dict(result_attributes(result) or {}))

    def decorate(function: F) -> F:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                if _state.tracer is None:
                    return await function(*args, **kwargs)
                with opened(args, kwargs) as current:
                    result = await function(*args, **kwargs)
                    finish(current, result)
                    return result

            return cast(F, run_async)

        @functools.wraps(function)
        def run(*args: Any, **kwargs: Any) -> Any:
            if _state.tracer is None:
                return function(*args, **kwargs)
            with opened(args, kwargs) as current:
                result = function(*args, **kwargs)
                finish(current, result)
                return result

        return cast(F, run)

    return decorate


def job_origin() -> dict[str, str]:
    """What a job queued here carries: the request id and, when tracing, the trace context.

    Empty outside a request with tracing off, so such a job is queued exactly as before.
    """
    origin: dict[str, str] = {}
    request_id = current_context().get(REQUEST_ID_KEY)
    if isinstance(request_id, str):
        origin[REQUEST_ID_KEY] = request_id
    if _state.tracer is not None:
        propagate.inject(origin)
    return origin


def job_kwargs() -> dict[str, Any]:
    """The keyword arguments a queued job gets so the worker can continue its story."""
    origin = job_origin()
    return {JOB_ORIGIN_KWARG: origin} if origin else {}


def _origin_of(kwargs: dict[str, Any]) -> dict[str, str]:
    carried = kwargs.pop(JOB_ORIGIN_KWARG, None)
    if not isinstance(carried, dict):
        return {}
    return {str(k): v for k, v in carried.items() if isinstance(v, str)}


def carried_job(function_name: str, function: F) -> F:
    """Wrap an ARQ job so it runs in the request id and trace its producer carried.

    The job's span is a consumer span whose parent is the span that queued it; a
    job queued without an origin (a tick, an older API) starts a trace of its own.
    """

    @functools.wraps(function)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        origin = _origin_of(kwargs)
        job_id = ctx.get("job_id")
        with log_context(request_id=origin.get(REQUEST_ID_KEY), job_id=job_id):
            if _state.tracer is None:
                return await function(ctx, *args, **kwargs)
            attributes: dict[str, Any] = {
                "messaging.system": QUEUE_SYSTEM,
                "messaging.operation.type": "process",
                "messaging.message.id": str(job_id or ""),
                "gateway.job.function": function_name,
                "gateway.job.try": int(ctx.get("job_try") or 1),
            }
            with span(
                f"job {function_name}",
                kind=SpanKind.CONSUMER,
                attributes=attributes,
                context=propagate.extract(origin),
            ):
                return await function(ctx, *args, **kwargs)

    return cast(F, run)


def route_template(scope: Scope, fallbacks: Sequence[tuple[Pattern[str], str]]) -> str | None:
    """The route a request was served by, as declared (``/domains/{domain}/tick``).

    The router records it in the scope; a request answered before routing (the
    webhook ingress's fast path) is named by the first template its path matches.
    """
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    return next((name for regex, name in fallbacks if regex.fullmatch(scope["path"])), None)


class TracingMiddleware:
    """A server span per HTTP request, continuing a caller's ``traceparent`` if sent.

    Named by method and route template (ids stay out of span names); installed only
    when tracing is on (``install_middleware``), so without tracing none of it runs.
    """

    def __init__(self, app: ASGIApp, templates: Sequence[str] = ()) -> None:
        self.app = app
        self.fallbacks = [(compile_path(t)[0], t) for t in templates]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = _state.tracer
        if scope["type"] != "http" or tracer is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        with _recording(
            tracer,
            method,
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
        ) as current:

            async def send_with_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    current.set_attribute("http.response.status_code", message["status"])
                await send(message)

            await self.app(scope, receive, send_with_status)
            route = route_template(scope, self.fallbacks)
            if route is not None:
                current.update_name(f"{method} {route}")
                current.set_attribute("http.route", route)


def install_middleware(app: Starlette, templates: Sequence[str] = ()) -> None:
    """Add the server-span middleware to the API app when tracing is on; ``templates``
    name the requests some middleware answers before the router sees them."""
    if configure_from_environment():
        app.add_middleware(TracingMiddleware, templates=templates)
