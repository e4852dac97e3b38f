"""Per-domain webhook secrets: issued by the gateway, shown once, rotated with an overlap.

Each domain has its own webhook URL (``/api/v1/webhooks/jira/<public id>``) and
its own secret, so a multi-tenant gateway can give every Jira site a secret of
its own and rotate one without touching the others. The gateway generates the
secret (high entropy, never chosen by a person), returns it exactly once for the
admin to paste into Jira, and keeps the one it replaces as the previous secret:
deliveries signed with it stay accepted until the next rotation, so Jira can be
updated at leisure. One implementation for the CLI, the UI and the JSON API.
"""

from __future__ import annotations

import secrets

from pydantic import BaseModel
from sqlmodel import Session

from gateway.admin.errors import Conflict
from gateway.clock import utcnow
from gateway.models import DomainConfig

DOMAIN_WEBHOOK_PREFIX = "/api/v1/webhooks/jira/"
WEBHOOK_SECRET_FIELDS = ("webhook_secret", "webhook_secret_previous")
SECRET_BYTES = 32


def domain_webhook_path(domain: DomainConfig) -> str:
    """The path of the domain's own webhook URL (prefix it with the gateway's https origin)."""
    return DOMAIN_WEBHOOK_PREFIX + domain.public_id


class IssuedWebhookSecret(BaseModel):
    """A freshly issued secret: the only time it is ever shown."""

    domain_id: int
    domain_name: str
    webhook_path: str
    secret: str
    previous_secret_accepted: bool


def issue_webhook_secret(
    session: Session, domain: DomainConfig, *, rotate: bool
) -> IssuedWebhookSecret:
    """Generate the domain's webhook secret; with ``rotate``, replace the current one,
    which stays accepted as the previous secret until the next rotation.

    Conflict when the domain has a secret and ``rotate`` is not set: the stored
    secret cannot be shown again, and replacing it silently would break the
    webhook Jira already signs with it.
    """
    if domain.webhook_secret and not rotate:
        raise Conflict(
            f"domain {domain.name!r} already has a webhook secret, which is never shown "
            "again; rotate it to get a new one (the current one stays accepted until "
            "the next rotation)"
        )
    if domain.webhook_secret:
        domain.webhook_secret_previous = domain.webhook_secret
    domain.webhook_secret = secrets.token_urlsafe(SECRET_BYTES)
    domain.updated_at = utcnow()
    session.add(domain)
    session.flush()
    return IssuedWebhookSecret(
        domain_id=domain.id or 0,
        domain_name=domain.name,
        webhook_path=domain_webhook_path(domain),
        secret=domain.webhook_secret,
        previous_secret_accepted=bool(domain.webhook_secret_previous),
    )
