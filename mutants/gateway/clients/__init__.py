"""Clients for the two SaaS the gateway links: one class per service, typed errors and models."""

from gateway.clients.errors import (
    NotFoundError,
    PermanentUpstreamError,
    PropertyTooLargeError,
    TransientUpstreamError,
    TransitionPathError,
    TruncatedListingError,
    UpstreamError,
    UpstreamProtocolError,
)
from gateway.clients.jira import JiraClient
from gateway.clients.models import (
    CreatedIssue,
    JiraIssue,
    PFTask,
    SearchPage,
    StopReason,
    TaskPage,
    Transition,
)
from gateway.clients.peopleforce import PeopleForceClient
from gateway.clients.retry import Jitter, RetryEvent, RetryPolicy, send_with_retries

__all__ = [
    "CreatedIssue",
    "JiraClient",
    "JiraIssue",
    "Jitter",
    "NotFoundError",
    "PFTask",
    "PeopleForceClient",
    "PermanentUpstreamError",
    "PropertyTooLargeError",
    "RetryEvent",
    "RetryPolicy",
    "SearchPage",
    "StopReason",
    "TaskPage",
    "TransientUpstreamError",
    "Transition",
    "TransitionPathError",
    "TruncatedListingError",
    "UpstreamError",
    "UpstreamProtocolError",
    "send_with_retries",
]
