"""The fake PeopleForce API v3: tasks and employees, with a ``/_fake`` control plane.

``create_peopleforce_app`` builds the FastAPI app; ``app.state.pf`` is its
``FakePeopleForce``, which tests and scenarios also drive from Python.

The modules, in the same order as ``fakes.jira``'s: ``model`` (records and
formats), ``errors``, ``state`` (``PeopleForceAccount``: what the API reads and
changes), ``fake`` (``FakePeopleForce``: the account plus the HR side and
seeding), ``api`` (REST routes), ``control`` (``/_fake`` routes) and ``app``
(the app factory).
"""

from fakes.peopleforce.app import API_PREFIX, create_peopleforce_app
from fakes.peopleforce.errors import NOT_FOUND_HTML, PeopleForceError
from fakes.peopleforce.fake import FakePeopleForce
from fakes.peopleforce.model import API_USER, TaskRecord, html_to_plain, iso_z
from fakes.peopleforce.state import PeopleForceAccount

__all__ = [
    "API_PREFIX",
    "API_USER",
    "NOT_FOUND_HTML",
    "FakePeopleForce",
    "PeopleForceAccount",
    "PeopleForceError",
    "TaskRecord",
    "create_peopleforce_app",
    "html_to_plain",
    "iso_z",
]
