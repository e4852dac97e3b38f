"""credentials-revoked: a refused credential opens the domain's breaker instead of a storm.

Guarantee (humans cannot break it silently; nothing lost): when Jira refuses the
gateway's token, or PeopleForce its key, the domain's circuit breaker opens
within ``breaker_threshold`` (K) failures, is audited and alerted once, and the
domain's ticks then send nothing but a probe every few minutes. Once the
credential works again the probe closes the breaker and every change made
meanwhile syncs.

Faults: the Jira token is revoked while HR edits, creates and completes tasks;
later the token is restored. Then the PeopleForce key is revoked and restored.

Checks: the breaker opens within K ticks with at most K failed writes to Jira;
one breaker_opened audit event per outage; one alert (to a Slack-compatible
receiver) when it opens; while open, a round sends no request
at all; after the fix and one probe interval it closes and everything
converges (titles, new issues, completions); the same for the PeopleForce key,
where an open breaker stops the listing requests too.
"""

from __future__ import annotations

from pydantic import SecretStr

from fakes.alerts import AlertReceiver
from gateway.demo.records import JIRA_TOKEN, PF_KEY
from gateway.settings import Settings
from scenarios.harness import Harness, is_write
from scenarios.result import RunContext
from scenarios.steps import retitle, stale_titles, sync_tasks

NAME = "credentials-revoked"
DEFAULT_TASKS = 10
K = Settings.model_fields["breaker_threshold"].default
PROBE_SECONDS = Settings.model_fields["breaker_probe_seconds"].default
QUIET_ROUNDS = 5


async def run(h: Harness, ctx: RunContext) -> None:
    receiver = AlertReceiver()
    receiver.server.start()
    h.settings = h.settings.model_copy(update={"notify_webhook_url": SecretStr(receiver.url)})
    try:
        await _story(h, ctx, receiver)
    finally:
        receiver.server.stop()


def _breaker_alerts(receiver: AlertReceiver) -> int:
    return sum(1 for text in receiver.texts() if "circuit breaker open" in text)


async def _story(h: Harness, ctx: RunContext, receiver: AlertReceiver) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    edited, completed = ids[: len(ids) // 2], ids[len(ids) // 2 : len(ids) // 2 + 2]

    h.phase("the Jira token is revoked")
    h.jira.api_token = "revoked-token"
    h.fault("Jira token revoked")
    before = len(h.requests("jira"))
    retitle(h, edited, "(while revoked)")
    new = [task["id"] for task in h.create_tasks(3)]
    for task_id in completed:
        h.complete_task(task_id)
    await _until_open(h, ctx, "Jira")
    refused = [
        r for r in h.requests("jira")[before:] if is_write("jira", r) and r.status in (401, 403)
    ]
    ctx.check(
        f"at most {K} failed writes to Jira", len(refused) <= K, f"{len(refused)} refused writes"
    )
    await _quiet_while_open(h, ctx, "jira")
    alerts = _breaker_alerts(receiver)
    ctx.check("one alert when the breaker opens", alerts == 1, f"{alerts} breaker alerts")

    h.phase("the Jira token is restored")
    h.jira.api_token = JIRA_TOKEN
    await _heal(h, ctx, "Jira")
    issues = h.issues_by_task()
    missing = [t for t in new if len(issues.get(t, [])) != 1]
    ctx.check("nothing lost while open", not stale_titles(h, edited) and not missing, f"{missing}")

    h.phase("the PeopleForce key is revoked")
    h.pf.api_key = "revoked-key"
    h.fault("PeopleForce key revoked")
    retitle(h, edited, "(again)")
    await _until_open(h, ctx, "PeopleForce")
    await _quiet_while_open(h, ctx, "peopleforce")
    h.phase("the PeopleForce key is restored")
    h.pf.api_key = PF_KEY
    await _heal(h, ctx, "PeopleForce")
    ctx.check("the edits made meanwhile sync", not stale_titles(h, edited), "")
    opened = len(h.events("breaker_opened"))
    ctx.check("one breaker_opened event per outage", opened == 2, f"{opened} events")
    # The second outage follows the first within seconds of real time: alerts of one
    # kind for one domain are rate limited, so it may add one alert or none.
    alerts = _breaker_alerts(receiver)
    ctx.check("at most one alert per outage", 1 <= alerts <= 2, f"{alerts} breaker alerts")


async def _until_open(h: Harness, ctx: RunContext, service: str) -> None:
    for _ in range(K):
        await h.round(release_deferred=False)
        if h.domain().breaker_opened_at is not None:
            break
    domain = h.domain()
    ctx.check(
        f"the breaker opens within {K} ticks ({service})",
        domain.breaker_opened_at is not None and service.lower() in (domain.breaker_reason or ""),
        f"reason: {domain.breaker_reason}",
    )


async def _quiet_while_open(h: Harness, ctx: RunContext, upstream: str) -> None:
    before = len(h.requests(upstream))
    for _ in range(QUIET_ROUNDS):
        await h.round(release_deferred=False)
    sent = len(h.requests(upstream)) - before
    ctx.check(f"no request to {upstream} while open", sent == 0, f"{sent} requests")


async def _heal(h: Harness, ctx: RunContext, service: str) -> None:
    h.advance(PROBE_SECONDS)
    await h.settle()
    closed = h.domain().breaker_opened_at is None
    ctx.check(f"a probe closes the breaker ({service})", closed, h.domain().breaker_reason or "")
