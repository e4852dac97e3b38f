"""``gateway task show DOMAIN TASK_ID``: why a PeopleForce task did (or did not) sync.

Prints ``gateway.admin.task_trace.trace_task``, the trace the admin UI's task page and
the JSON API show: the verdict, the routing decision now, the sync state, the Jira
issue as Jira holds it now (and what a person changed) and the full event history.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from gateway.admin import domains
from gateway.admin.domains import DOMAIN_REF_HELP
from gateway.admin.task_trace import TaskTrace, trace_task
from gateway.cli._common import (
    TIMESTAMP_WIDTH,
    command_group,
    database,
    out,
    print_json,
    run_action,
)

app = command_group(help="One PeopleForce task as the gateway sees it.", no_args_is_help=True)


def _print_routing(trace: TaskTrace) -> None:
    routing = trace.routing
    if routing is None:
        out.print("routing now: unknown (the task is not listed by PeopleForce)")
        return
    target = f"{routing.project_key}/{routing.issue_type}" if routing.action == "SYNC" else "-"
    out.print(
        f"routing now: {routing.action} {target} by {routing.rule_name or 'no rule'}: "
        f"{routing.reason}",
        highlight=False,
        soft_wrap=True,
    )
    if routing.tracked:
        out.print(f"  note: {routing.tracked}", highlight=False, soft_wrap=True)


def _print_state(trace: TaskTrace) -> None:
    state = trace.state
    if state is None:
        out.print("sync state: none (no tick has recorded this task)")
        return
    out.print(
        f"sync state: {state.status}; issue {state.jira_issue_key or '-'} "
        f"(id {state.jira_issue_id or '-'}); completed {state.is_completed}; "
        f"last synced {state.last_synced_at}",
        highlight=False,
        soft_wrap=True,
    )
    changed = {None: "unknown", True: "changed since", False: "unchanged"}
    out.print(
        f"  hash {state.last_sync_hash or '-'} ({changed[state.changed_since_sync]})",
        highlight=False,
    )
    if state.issue_url:
        out.print(f"jira issue: {state.issue_url}", highlight=False)


def _print_jira(trace: TaskTrace) -> None:
    jira = trace.jira
    if jira is None:
        return
    if jira.found != "found":
        out.print(f"jira now: {jira.found}", highlight=False, soft_wrap=True)
        return
    out.print(
        f"jira now: {jira.key} in {jira.project or '-'}, status {jira.status or '-'}"
        f"{' (done)' if jira.done else ''}; labels {', '.join(jira.labels) or 'none'}",
        highlight=False,
        soft_wrap=True,
    )
    for note in jira.drift:
        out.print(f"  drift: {note}", highlight=False, soft_wrap=True)


def _print_history(trace: TaskTrace) -> None:
    for letter in trace.dead_letters:
        out.print(
            f"dead letter {letter.id} ({letter.state}): {letter.operation} "
            f"{letter.error_status or ''} {letter.error_message}",
            highlight=False,
            soft_wrap=True,
        )
    table = Table(title=f"events ({len(trace.events)}, oldest first)", show_header=True)
    for column in ("when", "event", "issue", "reason"):
        # The reason wraps; a timestamp cut short ("2026-12-01T05:56…") says nothing.
        table.add_column(
            column,
            no_wrap=column != "reason",
            min_width=TIMESTAMP_WIDTH if column == "when" else None,
        )
    for event in trace.events:
        table.add_row(
            event.created_at.isoformat(timespec="seconds"),
            event.event_type,
            event.jira_issue_key or "",
            event.reason,
        )
    out.print(table)


@app.command("show")
def task_show(
    domain: Annotated[str, typer.Argument(help=DOMAIN_REF_HELP)],
    task_id: Annotated[int, typer.Argument(help="The PeopleForce task id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Why a task did (not) sync: routing now, sync state, Jira issue, event history.

    Reads PeopleForce's task lists (there is no single-task endpoint), the
    database and the mapped issue in Jira (one GET); writes nothing.
    """
    with database() as session:
        domain_id = domains.find_domain(session, domain).id or 0
    trace: TaskTrace = run_action(
        lambda engine, settings: trace_task(engine, settings, domain_id, task_id)
    )
    if as_json:
        print_json(trace.as_json())
        return
    state = "active" if trace.domain_active else "paused"
    out.print(f"task {trace.task_id} in domain {trace.domain_name} ({state})", highlight=False)
    out.print(f"verdict: {trace.verdict}", highlight=False, soft_wrap=True)
    title = (trace.task or {}).get("title")
    out.print(
        f"peopleforce: {trace.peopleforce}" + (f": {title!r}" if title else ""),
        highlight=False,
        soft_wrap=True,
    )
    _print_routing(trace)
    _print_state(trace)
    _print_jira(trace)
    _print_history(trace)
