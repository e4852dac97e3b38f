"""What the demo shows: live figures from the ledger, the fakes and the story."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.demo.stack import Stack
from gateway.demo.story import Story
from gateway.models import DomainConfig, SyncEvent, SyncState


@dataclass
class Figures:
    """One reading of every counter the view shows."""

    events: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    webhooks: dict[str, int] = field(default_factory=dict)
    tick_failures: int = 0
    last_tick: str = "-"
    worker_alive: bool = True


def collect(stack: Stack, domain_id: int) -> Figures:
    """Read the ledger and the fake Jira's delivery counters."""
    with Session(stack.engine) as session:
        events = session.exec(
            select(SyncEvent.event_type, func.count())
            .where(SyncEvent.domain_id == domain_id)
            .group_by(col(SyncEvent.event_type))
        ).all()
        states = session.exec(
            select(SyncState.status, func.count())
            .where(SyncState.domain_id == domain_id)
            .group_by(col(SyncState.status))
        ).all()
        domain = session.get(DomainConfig, domain_id)
    return Figures(
        events=Counter({str(k): int(v) for k, v in events}),
        states=Counter({str(k): int(v) for k, v in states}),
        webhooks=stack.jira.webhooks.counters(),
        tick_failures=domain.consecutive_tick_failures if domain else 0,
        last_tick=(domain.last_tick_outcome or "-") if domain else "-",
        worker_alive=stack.worker.poll() is None,
    )


def sync_rows(f: Figures) -> list[tuple[str, str]]:
    e = f.events
    hooks = f.webhooks
    errors = e["failed"] + e["tick_failed"] + e["dead_lettered"]
    return [
        ("tasks synced (issues made)", str(e["created"] + e["adopted"])),
        ("updates PF -> Jira", str(e["updated"])),
        ("completions PF -> Jira", str(e["transitioned"])),
        ("completions Jira -> PF", str(e["completed_from_jira"])),
        ("sweeper repairs", str(e["repaired_by_sweeper"])),
        ("dropped by rule", str(e["dropped_by_rule"])),
        ("webhooks delivered", str(hooks.get("sent", 0))),
        ("webhooks lost", str(hooks.get("dropped", 0))),
        ("webhooks retried", str(hooks.get("retried", 0) + hooks.get("failed", 0))),
        ("errors", str(errors)),
        ("last tick", f.last_tick[:40]),
    ]


def story_rows(story: Story) -> list[tuple[str, str]]:
    c = story.counts
    faults = []
    if story.dropping:
        faults.append("losing webhooks")
    if story.partitioned:
        faults.append("Jira outage")
    return [
        ("story time", f"{story.story_time():.0f}s (x{story.speed:g})"),
        ("tasks created by HR", str(c["hr_created"])),
        ("tasks edited by HR", str(c["hr_edited"])),
        ("tasks completed by HR", str(c["hr_completed"])),
        ("issues closed in Jira", str(c["jira_closed"])),
        ("issues started in Jira", str(c["jira_started"])),
        ("Jira outages", str(c["outages"])),
        ("sweeps triggered", str(c["sweeps"])),
        ("faults now", ", ".join(faults) or "none"),
    ]


def _table(title: str, rows: list[tuple[str, str]]) -> Table:
    table = Table(title=title, show_header=False, expand=True, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table


def render(story: Story, figures: Figures, status: str) -> Group:
    """The live screen: gateway figures, story figures, the latest happenings."""
    grid = Table.grid(expand=True)
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(_table("Gateway", sync_rows(figures)), _table("Story", story_rows(story)))
    lines = Text()
    for item in story.log:
        lines.append(f"{item.at:%H:%M:%S} ", style="dim")
        lines.append(f"{item.who}: ", style="bold")
        lines.append(f"{item.text}\n")
    worker = "" if figures.worker_alive else "  [worker process exited!]"
    return Group(
        grid,
        Panel(lines, title="latest"),
        Text(status + worker, style="bold"),
    )


def one_line(story: Story, figures: Figures, status: str) -> str:
    """The same figures as one plain line (when the output is not a terminal)."""
    e, hooks = figures.events, figures.webhooks
    return (
        f"[{story.story_time():5.0f}s] {status}: created={e['created'] + e['adopted']} "
        f"updated={e['updated']} pf->jira done={e['transitioned']} "
        f"jira->pf done={e['completed_from_jira']} repaired={e['repaired_by_sweeper']} "
        f"webhooks sent={hooks.get('sent', 0)} lost={hooks.get('dropped', 0)} "
        f"errors={e['failed'] + e['tick_failed'] + e['dead_lettered']}"
    )
