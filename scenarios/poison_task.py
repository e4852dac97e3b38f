"""poison-task: a task Jira refuses on every edit is dead-lettered once, then costs nothing.

Guarantee (no loops; nothing accepted is lost): a permanent error on an edit
(here a 400) is not sent again on every tick. The tick reports the failure, the
work lands in DeadLetter with Jira's message, and the task sends no request to
Jira until it changes again or the letter is replayed; every other task keeps
syncing.

Faults: after the initial sync Jira answers 400 to every edit of one task's issue
(a field no longer on the edit screen), through the fake's fault plane. HR edits
that task and a few others.

Checks: the tick that met the 400 reports "partial"; the poison task has one
open dead letter with status 400 and Jira's message; the other edits reach Jira;
over 10 more ticks not one request about the poison task reaches Jira; once
Jira accepts the edit again, replaying the letter carries the edit and closes
it; one issue per task, completion agrees, zero writes at rest.
"""

from __future__ import annotations

from scenarios.harness import Harness
from scenarios.result import RunContext
from scenarios.steps import retitle, stale_titles, sync_tasks

NAME = "poison-task"
DEFAULT_TASKS = 10
QUIET_TICKS = 10
REFUSAL = "Field 'summary' cannot be set. It is not on the appropriate screen, or unknown."


async def run(h: Harness, ctx: RunContext) -> None:
    ids = await sync_tasks(h, ctx.tasks, ctx)
    poison, others = ids[0], ids[1 : 1 + max(1, len(ids) // 3)]
    issue = h.issue_of(poison)

    h.phase("Jira refuses every edit of one issue")
    h.jira_faults.refuse("PUT", f"/rest/api/3/issue/{issue['id']}", 400, REFUSAL)
    h.fault(f"every edit of {issue['key']} answered 400")
    retitle(h, [poison, *others], "(updated)")
    await h.round()
    outcome = h.domain().last_tick_outcome or ""
    ctx.check("the tick reports the failure", outcome.startswith("partial"), outcome)
    await h.settle()

    letters = [d for d in h.dead_letters() if d.replayed_at is None and d.pf_task_id == poison]
    ctx.check(
        "the poison task is dead-lettered once",
        len(letters) == 1
        and letters[0].error_status == 400
        and "summary" in letters[0].error_message
        and letters[0].attempts == 1,
        f"{[(d.operation, d.error_status, d.attempts) for d in letters]}",
    )
    stale = stale_titles(h, others)
    ctx.check("the other tasks keep syncing", not stale, f"stale: {stale}")

    h.phase(f"{QUIET_TICKS} more ticks")
    before = _requests_about(h, issue)
    for _ in range(QUIET_TICKS):
        await h.round()
    sent = _requests_about(h, issue) - before
    ctx.check(
        f"zero Jira requests for the poison task over {QUIET_TICKS} ticks",
        sent == 0,
        f"{sent} requests",
    )

    h.phase("Jira accepts the edit again; the letter is replayed")
    h.jira_faults.clear()
    for letter in letters:
        assert letter.id is not None
        await h.replay(letter.id)
    await h.settle()
    still_open = [
        d.id for d in h.dead_letters() if d.pf_task_id == poison and d.replayed_at is None
    ]
    ctx.check(
        "the replay carries the edit",
        bool(letters) and not still_open and not stale_titles(h, [poison]),
        f"open letters {still_open}, stale {stale_titles(h, [poison])}",
    )


def _requests_about(h: Harness, issue: dict[str, str]) -> int:
    """Jira requests whose path names the issue (by id or key)."""
    marks = (f"/issue/{issue['id']}", f"/issue/{issue['key']}")
    return sum(
        1 for r in h.requests("jira") if any(r.path.startswith(f"/rest/api/3{m}") for m in marks)
    )
