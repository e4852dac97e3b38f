"""Realistic signed ``jira:issue_updated`` deliveries, cheap to vary per request.

A body is rendered once per size by the fake Jira (its webhook payload shape, with
a description long enough for 3-6 KB), then only the issue id, key and timestamp
are substituted per request, so the generator spends its time sending, not encoding.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from fakes.jira import FakeJira

SITE = "https://acme.atlassian.net"
LABEL = "PeopleForce"
_ID, _KEY, _TS = "__ISSUE_ID__", "__ISSUE_KEY__", 1_700_000_000_000
_PARAGRAPH = (
    "Prepare the laptop, accounts and badge before the first day; confirm with the "
    "hiring manager and record the asset tag in the onboarding checklist. "
)


def _payload(paragraphs: int) -> dict[str, Any]:
    jira = FakeJira(base_url=SITE)
    issue = jira.create(
        "HR",
        "Prepare laptop for Zoë Łukasiewicz",
        labels=[LABEL, "onboarding"],
        description="\n\n".join(_PARAGRAPH * 2 for _ in range(paragraphs)),
        properties={"pf_sync_metadata": {"pf_task_id": 1, "domain": "acme", "domain_id": 1}},
    )
    live = jira.issues[issue.id]
    items = [{"field": "status", "fieldtype": "jira", "fromString": "To Do", "toString": "Done"}]
    payload = {
        "timestamp": _TS,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": jira.human.account_id, "displayName": jira.human.display_name},
        "issue": jira.render(live, fields=jira.navigable_fields(), version="2"),
        "changelog": {"id": "10400", "items": items},
    }
    rendered = payload["issue"]
    rendered.update(id=_ID, key=_KEY, self=f"{SITE}/rest/api/2/issue/{_ID}")
    return payload


class DeliveryFactory:
    """Bodies of four sizes between 3 and 6 KB, signed like Jira signs them."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.templates = [
            json.dumps(_payload(n), separators=(",", ":"), ensure_ascii=False).encode()
            for n in (3, 6, 9, 12)
        ]

    def sizes(self) -> list[int]:
        return [len(t) for t in self.templates]

    def body(self, seq: int, issue_id: int) -> bytes:
        template = self.templates[seq % len(self.templates)]
        return (
            template.replace(_ID.encode(), str(issue_id).encode())
            .replace(_KEY.encode(), f"HR-{issue_id}".encode())
            .replace(str(_TS).encode(), str(_TS + seq).encode())
        )

    def signature(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
