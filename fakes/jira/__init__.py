"""The fake Jira Cloud: REST v2/v3, admin webhooks, JQL search and a ``/_fake`` control plane.

``create_jira_app`` builds the FastAPI app; ``app.state.jira`` is its ``FakeJira``,
which tests and scenarios also drive from Python.
"""

from fakes.jira.app import create_jira_app
from fakes.jira.fake import FakeJira
from fakes.jira.fields import JiraError
from fakes.jira.ratelimit import RateLimits
from fakes.jira.state import JiraSite
from fakes.jira.webhooks import DEFAULT_FILTER, DEFAULT_RETRY_DELAYS, WebhookDispatcher, sign

__all__ = [
    "DEFAULT_FILTER",
    "DEFAULT_RETRY_DELAYS",
    "FakeJira",
    "JiraError",
    "JiraSite",
    "RateLimits",
    "WebhookDispatcher",
    "create_jira_app",
    "sign",
]
