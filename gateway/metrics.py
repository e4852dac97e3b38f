"""Prometheus metrics of the gateway, defined once per process in the default registry.

Every part of the gateway adds its metrics here so names stay unique and easy to find.
"""

from __future__ import annotations

from prometheus_client import Counter

# -- webhook ingress (gateway.api.webhooks) -------------------------------------------------

WEBHOOKS_ACCEPTED = Counter(
    "gateway_webhooks_accepted",
    "Jira webhook deliveries verified and queued for a worker.",
)
WEBHOOKS_REJECTED = Counter(
    "gateway_webhooks_rejected",
    "Jira webhook deliveries refused (bad signature, too large, bad payload), by reason.",
    ["reason"],
)
WEBHOOKS_IGNORED = Counter(
    "gateway_webhooks_ignored",
    "Verified Jira webhook deliveries the gateway does not act on, by reason.",
    ["reason"],
)
WEBHOOK_DUPLICATES = Counter(
    "gateway_webhook_duplicates",
    "Jira webhook deliveries already seen (same identifier or body), answered without queuing.",
)
WEBHOOKS_ENQUEUE_FAILURES = Counter(
    "gateway_webhooks_enqueue_failures",
    "Verified Jira webhook deliveries answered 503 because Redis could not record or queue them.",
)
