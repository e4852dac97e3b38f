"""Fake PeopleForce and fake Jira: FastAPI apps that behave like the real services.

They back the demo, the scenarios and every test that proves a guarantee, so
they reproduce the awkward parts (HTML error bodies, 429 storms, partitions,
fixed page sizes) and let a scenario inject faults and move time.
"""

from fakes.clock import FakeClock
from fakes.faults import (
    FaultPlane,
    FaultyASGITransport,
    RecordedRequest,
    fault_routes,
    install_faults,
)
from fakes.peopleforce import FakePeopleForce, create_peopleforce_app
from fakes.server import FakeServer

__all__ = [
    "FakeClock",
    "FakePeopleForce",
    "FakeServer",
    "FaultPlane",
    "FaultyASGITransport",
    "RecordedRequest",
    "create_peopleforce_app",
    "fault_routes",
    "install_faults",
]
