"""Fake PeopleForce and fake Jira: FastAPI apps that behave like the real services.

They back the demo, the scenarios and every test that proves a guarantee, so
they reproduce the awkward parts (HTML error bodies, 429 storms, partitions,
fixed page sizes) and let a scenario inject faults and move time.

``fakes.jira`` and ``fakes.peopleforce`` have the same layout: ``model``,
``errors``, ``state``, ``fake`` (the ``Fake...`` class tests drive), ``api``,
``control`` (``/_fake`` routes) and ``app`` (the app factory). What both share
lives here: ``clock`` (the shiftable clock), ``faults`` (the fault plane),
``server`` (loopback uvicorn) and ``__main__`` (``python -m fakes jira|peopleforce``).
"""

from fakes.clock import FakeClock
from fakes.faults import (
    FaultPlane,
    FaultyASGITransport,
    RecordedRequest,
    fault_routes,
    install_faults,
)
from fakes.jira import FakeJira, create_jira_app
from fakes.peopleforce import FakePeopleForce, create_peopleforce_app
from fakes.server import FakeServer

__all__ = [
    "FakeClock",
    "FakeJira",
    "FakePeopleForce",
    "FakeServer",
    "FaultPlane",
    "FaultyASGITransport",
    "RecordedRequest",
    "create_jira_app",
    "create_peopleforce_app",
    "fault_routes",
    "install_faults",
]
