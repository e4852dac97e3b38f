"""Admin webhooks of the fake Jira: a registration, its signature, its faults, its log lines.

This is the gateway's return vector. A registration carries the JQL filter
that decides which issue events it receives and the secret that signs the
exact bytes sent; ``WebhookFaults`` are the loss, duplication, delay and
reordering a scenario injects; ``DeliveryRecord`` is one line of the log a
scenario compares with what the gateway received. ``WebhookDispatcher``
(``fakes.jira.delivery``) queues, delivers and retries.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fakes.jira.jql import JqlQuery, JqlRecord, parse_jql

__all__ = ["DEFAULT_FILTER", "DeliveryRecord", "Webhook", "WebhookFaults", "sign"]

DEFAULT_FILTER = "labels = PeopleForce AND statusCategory = Done"


def sign(secret: str, body: bytes) -> str:
    """``X-Hub-Signature`` value: ``sha256=`` + lowercase hex HMAC-SHA256 of the exact body."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass
class Webhook:
    """One registered admin webhook."""

    id: int
    name: str
    url: str
    events: list[str]
    jql: str | None = DEFAULT_FILTER
    secret: str | None = None
    exclude_body: bool = False
    enabled: bool = True
    query: JqlQuery | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.query is None and self.jql:
            self.query = parse_jql(self.jql)

    def wants(self, event: str, record: JqlRecord, now: datetime) -> bool:
        """Whether ``event`` on an issue in state ``record`` fires this webhook."""
        if not self.enabled or event not in self.events:
            return False
        return self.query is None or self.query.matches(record, now)

    def to_json(self, base_url: str, *, include_secret: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "self": f"{base_url}/rest/webhooks/1.0/webhook/{self.id}",
            "name": self.name,
            "url": self.url,
            "events": list(self.events),
            "filters": {"issue-related-events-section": self.jql or ""},
            "excludeBody": self.exclude_body,
            "enabled": self.enabled,
        }
        if include_secret:
            body["secret"] = self.secret
        return body


@dataclass
class WebhookFaults:
    """Delivery faults; rates are probabilities per delivery."""

    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    duplicate_count: int = 1
    delay: tuple[float, float] = (0.0, 0.0)
    reorder: bool = False

    def validate(self) -> None:
        for name in ("drop_rate", "duplicate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.duplicate_count < 1:
            raise ValueError("duplicate_count must be at least 1")
        low, high = self.delay
        if low < 0 or high < low:
            raise ValueError(f"delay must be a range 0 <= low <= high, got {self.delay}")


@dataclass(frozen=True)
class DeliveryRecord:
    """One line of the delivery log."""

    identifier: str
    webhook_id: int
    issue_id: str | None
    event: str
    attempt: int
    status: int | None
    error: str | None
    outcome: str  # sent | dropped | retried | failed | duplicate
    at: str
    url: str
