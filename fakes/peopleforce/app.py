"""The fake PeopleForce app: ``create_peopleforce_app(...)`` wires state, routes and faults.

The layers, outermost first: the fault plane (partitions, latency, injected
errors, request log), then the REST routes (rate limit and API key checked per
request) and the ``/_fake`` control plane over one ``FakePeopleForce``
(``app.state.pf``). Unknown routes answer with Rails' HTML 404 page, as the
real service does.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fakes.clock import FakeClock
from fakes.faults import FaultPlane, fault_routes, install_faults, mark_fault
from fakes.peopleforce.api import api_router
from fakes.peopleforce.control import control_router
from fakes.peopleforce.errors import NOT_FOUND_HTML, PeopleForceError
from fakes.peopleforce.fake import FakePeopleForce

__all__ = ["API_PREFIX", "create_peopleforce_app"]

API_PREFIX = "/api/public/v3"
"""The real service's API path: every route hangs under the base URL including it."""


_DESCRIPTION = """\
The routes of PeopleForce's public API v3 that a task integration uses, served under
`{prefix}` as by `https://app.peopleforce.io/api/public/v3` (and at the root as an alias).
Every API route needs the header `X-API-KEY` (this fake accepts `{key}`); lists are
paged by the server (`?page=N`, fixed page size) in the envelope
`{{"data": [...], "metadata": {{"pagination": {{"page", "pages", "count", "items"}}}}}}`.
The `/_fake` routes are the fake's control plane (HR's actions, faults, the clock);
the real service has none of them.
"""


def create_peopleforce_app(
    *,
    api_key: str = "pf-test-key",
    page_size: int = 50,
    seed: int = 0,
    clock: FakeClock | None = None,
    plane: FaultPlane | None = None,
    rate_limit: int | None = None,
    forbidden_keys: set[str] | None = None,
    base_path: str = API_PREFIX,
) -> FastAPI:
    """Build the fake; state on ``app.state.pf``, faults on ``app.state.faults``.

    ``base_path`` is where the documented API is mounted (the real prefix by
    default); the same routes also answer at the root, left out of the OpenAPI
    document so it shows one path per operation. The control plane stays at ``/_fake``.
    """
    if plane is None:
        plane = FaultPlane(seed=seed, clock=clock)
    elif clock is not None:
        plane.clock = clock
    pf = FakePeopleForce(
        api_key=api_key,
        page_size=page_size,
        clock=plane.clock,
        rng=plane.rng,
        rate_limit=rate_limit,
        forbidden_keys=forbidden_keys,
    )
    app = FastAPI(
        title="Fake PeopleForce API v3",
        description=_DESCRIPTION.format(prefix=base_path.rstrip("/") or "/", key=api_key),
        docs_url="/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
    )
    app.state.pf = pf

    @app.exception_handler(PeopleForceError)
    async def peopleforce_error(request: Request, exc: PeopleForceError) -> Response:
        if exc.fault is not None:
            mark_fault(request, exc.fault)
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def unmatched(request: Request, exc: StarletteHTTPException) -> Response:
        # Rails answers unknown routes and methods with its static 404 page.
        if plane.is_control(request.url.path) or exc.status_code not in (404, 405):
            return await http_exception_handler(request, exc)
        return PeopleForceError(404, NOT_FOUND_HTML).response()

    prefix = base_path.rstrip("/")
    app.include_router(api_router(pf), prefix=prefix, tags=["PeopleForce API v3"])
    if prefix:
        app.include_router(api_router(pf), include_in_schema=False)
    app.include_router(control_router(pf))
    app.include_router(fault_routes(plane))
    install_faults(app, plane)
    return app
