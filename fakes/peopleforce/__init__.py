"""The fake PeopleForce API v3: tasks and employees, with a ``/_fake`` control plane.

``create_peopleforce_app`` builds the FastAPI app; ``app.state.pf`` is its
``FakePeopleForce``, which tests and scenarios also drive from Python.
"""

from fakes.peopleforce.state import (
    API_USER,
    FakePeopleForce,
    PeopleForceError,
    TaskRecord,
    create_peopleforce_app,
    html_to_plain,
    iso_z,
)

__all__ = [
    "API_USER",
    "FakePeopleForce",
    "PeopleForceError",
    "TaskRecord",
    "create_peopleforce_app",
    "html_to_plain",
    "iso_z",
]
