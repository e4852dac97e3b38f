"""The fake Jira Cloud: REST v2/v3, admin webhooks, JQL search and a ``/_fake`` control plane.

``create_jira_app`` builds the FastAPI app; ``app.state.jira`` is its ``FakeJira``,
which tests and scenarios also drive from Python.

The modules, in the same order as ``fakes.peopleforce``'s: ``model`` (statuses,
workflows, fields, projects, users, issues), ``errors``, ``state`` (``JiraSite``:
the issues and what the API does with them, on the ``catalog``'s
``JiraCatalog``), ``fake`` (``FakeJira``: the site plus what people do in the
UI), ``api`` (REST routes), ``control`` (``/_fake`` routes) and ``app`` (the app
factory). Only Jira has the rest: ``fields`` (validation and changelog),
``render`` (JSON shapes), ``jql`` and ``search`` (the lagging index),
``webhooks`` and ``delivery`` (admin webhooks), ``ratelimit`` (burst limits).
"""

from fakes.jira.app import create_jira_app
from fakes.jira.catalog import JiraCatalog
from fakes.jira.delivery import DEFAULT_RETRY_DELAYS, WebhookDispatcher
from fakes.jira.errors import NOT_FOUND, REMOVED_SEARCH, JiraError
from fakes.jira.fake import FakeJira
from fakes.jira.ratelimit import RateLimits
from fakes.jira.state import JiraSite
from fakes.jira.webhooks import DEFAULT_FILTER, WebhookFaults, sign

__all__ = [
    "DEFAULT_FILTER",
    "DEFAULT_RETRY_DELAYS",
    "NOT_FOUND",
    "REMOVED_SEARCH",
    "FakeJira",
    "JiraCatalog",
    "JiraError",
    "JiraSite",
    "RateLimits",
    "WebhookDispatcher",
    "WebhookFaults",
    "create_jira_app",
    "sign",
]
