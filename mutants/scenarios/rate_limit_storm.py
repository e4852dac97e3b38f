"""rate-limit-storm: everything syncs through a 429 storm, and Retry-After is honoured.

Guarantees (convergence under throttling, good citizenship): when half the
requests to both services are answered 429 with ``Retry-After``, every change
still syncs, and no request is repeated before the Retry-After it was given
has elapsed.

Faults: 50 % of the requests to Jira and to PeopleForce are answered 429 with
``Retry-After: 0.2`` (seconds; time is compressed), during the initial sync,
edits, completions on both sides and a sweep.

Checks: 429s were actually served; from the harness's request probe (method,
path, query and body identify a request), no request followed a 429 for the
same request sooner than its Retry-After; one issue per task, completion
agrees, edits arrived, zero writes at rest once the storm is over.
"""

from __future__ import annotations

import random

from gateway.clients.retry import RetryPolicy
from scenarios.checks import retry_after_violations
from scenarios.harness import Harness, HarnessConfig
from scenarios.result import Knobs, RunContext
from scenarios.steps import split, sync_tasks

NAME = "rate-limit-storm"
DEFAULT_TASKS = 20
STORM_RATE = 0.5
RETRY_AFTER = 0.2


def config(seed: int, knobs: Knobs) -> HarnessConfig:
    # Enough attempts that a call practically never gives up (0.5 ** 20).
    policy = RetryPolicy(max_attempts=20, base_delay=0.01, max_delay=0.1, rng=random.Random(seed))
    return HarnessConfig(seed=seed, retry_policy=policy)


async def run(h: Harness, ctx: RunContext) -> None:
    h.jira_faults.storm(STORM_RATE, retry_after=RETRY_AFTER)
    h.pf_faults.storm(STORM_RATE, retry_after=RETRY_AFTER)
    h.fault(f"{STORM_RATE:.0%} of requests to both services answered 429, Retry-After 0.2 s")
    ids = await sync_tasks(h, ctx.tasks, ctx)
    step = max(1, len(ids) // 4)
    edited, completed, closed, _rest = split(ids, step, step, step)

    h.phase("changes on both sides during the storm")
    for task_id in edited:
        h.edit_task(task_id, title=f"{h.pf.get_task(task_id)['title']} (updated)")
    for task_id in completed:
        h.complete_task(task_id)
    for task_id in closed:
        h.close_issue(task_id)
    await h.settle()
    await h.sweep()
    await h.settle()
    h.jira_faults.clear()
    h.pf_faults.clear()

    probed = h.jira_probe.requests + h.pf_probe.requests
    storms = sum(1 for r in probed if r.status == 429)
    h.note(f"{storms} requests answered 429")
    ctx.check("the storm served 429s", storms > 0, "no 429 was served")
    violations = retry_after_violations(probed)
    ctx.check(
        "no request before its Retry-After elapsed",
        not violations,
        f"{len(violations)} early repeats, e.g. {violations[:3]}",
    )
    issues = h.issues_by_task()
    stale = [
        t
        for t in edited
        if not any(i["summary"] == h.pf.get_task(t)["title"] for i in issues.get(t, []))
    ]
    ctx.check("edits reached Jira", not stale, f"{stale[:10]}")
