"""What a finished job tells the operator: its log line, its counters and its alerts.

Kept apart from ``gateway.worker`` so the job functions there stay thin: a job
runs the sync code, then hands its report here. A failing alert never fails the
job that raised it.
"""

from __future__ import annotations

import logging
from typing import Any

from gateway import metrics
from gateway.notify import AlertKind, notify
from gateway.sync.ledger import Ledger
from gateway.sync.sweeper import SweepReport
from gateway.sync.tick_context import TickReport

# The tick summary is the worker's line: operators filter the worker's logger for it.
log = logging.getLogger("gateway.worker")


async def domain_label(ctx: dict[str, Any], domain_id: int) -> str:
    """The domain's name for metrics and alerts (its id if it is gone)."""
    domain = await Ledger(ctx["engine"], domain_id).domain()
    return domain.name if domain is not None else str(domain_id)


async def alert(
    ctx: dict[str, Any], kind: AlertKind, domain: str, text: str, domain_id: int | None = None
) -> None:
    """Send an alert; a failing alert never fails the job that raised it."""
    try:
        await notify(
            redis=ctx["redis"],
            http=ctx["http"],
            settings=ctx["settings"],
            kind=kind,
            domain=domain,
            text=text,
            domain_id=domain_id,
        )
    except Exception as error:
        log.warning("alert %s failed: %s", kind, type(error).__name__)


def log_tick(name: str, report: TickReport, seconds: float) -> None:
    """The tick's whole summary in one line (ARQ's own result line is cut at 80 characters).

    INFO when the tick did or failed something, DEBUG when every task was unchanged:
    a quiet domain costs no log line a minute. The errors themselves were logged at
    WARNING where they happened; here they are counted.
    """
    quiet = report.outcome == "ok" and not report.errors and report.open_tasks == report.unchanged
    errors = f" ({len(report.errors)} errors)" if report.errors else ""
    log.log(
        logging.DEBUG if quiet else logging.INFO,
        "tick of %s %s in %.2f s: %s%s",
        name,
        report.outcome,
        seconds,
        report.summary(),
        errors,
        extra={"domain": name},
    )


def count_tick(name: str, report: TickReport, seconds: float) -> None:
    metrics.TICKS.labels(domain=name, outcome=report.outcome).inc()
    metrics.TICK_DURATION.labels(domain=name).observe(seconds)
    for action in ("created", "adopted", "updated", "completed", "reopened", "dropped", "failed"):
        count = getattr(report, action)
        if count:
            metrics.SYNC_ACTIONS.labels(domain=name, action=action).inc(count)
    for operation, count in report.dead_letters_by_operation.items():
        metrics.DEAD_LETTERS.labels(domain=name, operation=operation).inc(count)


async def tick_alerts(ctx: dict[str, Any], domain_id: int, name: str, report: TickReport) -> None:
    """Tell the operator about dead letters and a streak of failed ticks."""
    if report.dead_lettered:
        await alert(
            ctx,
            AlertKind.DEAD_LETTER,
            name,
            f"{report.dead_lettered} task(s) dead-lettered by a tick; "
            "see `gateway deadletter list` or the admin UI",
            domain_id,
        )
    domain = await Ledger(ctx["engine"], domain_id).domain()
    if report.breaker_opened and domain is not None:
        await alert(
            ctx,
            AlertKind.BREAKER_OPEN,
            name,
            f"circuit breaker open, the domain writes nothing until a probe succeeds: "
            f"{(domain.breaker_reason or 'credentials refused')[:300]}",
            domain_id,
        )
    threshold = ctx["settings"].notify_tick_failures_threshold
    if domain is not None and domain.consecutive_tick_failures >= threshold:
        await alert(
            ctx,
            AlertKind.TICK_FAILURES,
            name,
            f"{domain.consecutive_tick_failures} ticks failed in a row; last error: "
            f"{(domain.last_tick_error or 'unknown')[:300]}",
            domain_id,
        )


async def sweep_alert(ctx: dict[str, Any], name: str, report: SweepReport) -> None:
    """Each repair is a lost webhook: many of them point at the webhook or the ingress.
    A sweep stopped at its page cap is said too: its window does not advance."""
    if report.capped:
        metrics.SWEEP_CAPPED.labels(domain=name).inc()
        await alert(
            ctx,
            AlertKind.SWEEP_CAPPED,
            name,
            f"the sweep stopped at its page cap after {report.scanned} issues; its window "
            "does not advance until a sweep completes (raise GATEWAY_SWEEP_MAX_PAGES)",
        )
    threshold = ctx["settings"].notify_sweep_repaired_threshold
    if report.repaired > threshold:
        await alert(
            ctx,
            AlertKind.SWEEP_REPAIRED,
            name,
            f"the sweep repaired {report.repaired} tasks (threshold {threshold}): "
            "that many Jira webhooks were lost; check the webhook and the gateway's ingress",
        )
