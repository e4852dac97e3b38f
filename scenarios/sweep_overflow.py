"""sweep-overflow: a sweep that hits its page cap says so and keeps its window.

Guarantee (no silent cap): the sweep pages its search to the end; when a hard
cap stops it first, the sweep is recorded as incomplete, a metric counts it, an
alert says so, and the window does not move forward, so nothing past the cap is
given up for good. Raising the cap lets the next sweep repair the rest.

Faults: every webhook is lost while people close more issues in Jira than the
sweep's cap can list (the cap is a setting: 2 pages of 3 issues here; at least 9
issues are closed).

Checks: the capped sweep reports ``capped``, leaves ``last_sweep_at`` where it
was and counts ``gateway_sweep_capped``; issues past the cap stay unrepaired
after it; with the cap raised one more sweep repairs every one, completes and
advances the window; one issue per task, completion agrees, zero writes at rest.
"""

from __future__ import annotations

from gateway import metrics
from scenarios.checks import disagreeing_tasks
from scenarios.harness import Harness, HarnessConfig
from scenarios.result import Knobs, RunContext
from scenarios.steps import sync_tasks

NAME = "sweep-overflow"
DEFAULT_TASKS = 16
PAGE_SIZE = 3
MAX_PAGES = 2


def config(seed: int, knobs: Knobs) -> HarnessConfig:
    return HarnessConfig(
        seed=seed, settings={"sweep_page_size": PAGE_SIZE, "sweep_max_pages": MAX_PAGES}
    )


async def run(h: Harness, ctx: RunContext) -> None:
    cap = PAGE_SIZE * MAX_PAGES
    ids = await sync_tasks(h, max(ctx.tasks, cap + PAGE_SIZE), ctx)

    h.phase("closing issues while every delivery is lost")
    h.delivery_faults(f"every delivery dropped while {len(ids)} issues are closed", drop_rate=1.0)
    for task_id in ids:
        h.close_issue(task_id)
    await h.deliver()
    h.webhooks.clear_faults()
    await h.settle()

    h.phase(f"a sweep capped at {cap} issues")
    name = h.domain().name
    counted = _capped_count(name)
    window_before = h.domain().last_sweep_at
    details = await h.sweep()
    ctx.check("the capped sweep says so", details.get("capped") is True, f"{details}")
    ctx.check(
        "the window does not advance",
        h.domain().last_sweep_at == window_before,
        f"last_sweep_at {h.domain().last_sweep_at}",
    )
    ctx.check("a metric counts it", _capped_count(name) == counted + 1, "")
    left = len(disagreeing_tasks(h))
    ctx.check(
        "issues past the cap are not yet repaired",
        left >= len(ids) - cap,
        f"{left} left for {len(ids)} closed",
    )

    h.phase("the cap is raised; one more sweep")
    h.settings = h.settings.model_copy(update={"sweep_max_pages": 100})
    details = await h.sweep()
    ctx.check(
        "the next sweep completes and repairs the rest",
        details.get("capped") is False and not disagreeing_tasks(h),
        f"{details.get('capped')}, {len(disagreeing_tasks(h))} disagree",
    )
    ctx.check("the window advances", h.domain().last_sweep_at is not None, "")
    ctx.repairs_expected = len(ids)


def _capped_count(domain: str) -> float:
    return metrics.SWEEP_CAPPED.labels(domain=domain)._value.get()
