"""Render scenario results for a terminal (rich)."""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from scenarios.result import ScenarioResult


def requests_table(result: ScenarioResult) -> Table:
    """Requests by upstream and endpoint, statuses side by side (0 = connection cut)."""
    table = Table(title="requests", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("upstream")
    table.add_column("endpoint")
    table.add_column("statuses", justify="right")
    table.add_column("total", justify="right")
    for upstream, counts in result.requests.items():
        grouped: dict[str, dict[int, int]] = defaultdict(dict)
        for (method, endpoint, status), n in counts.items():
            grouped[f"{method} {endpoint}"][status] = n
        for endpoint in sorted(grouped):
            statuses = grouped[endpoint]
            shown = "  ".join(f"{s}x{n}" for s, n in sorted(statuses.items()))
            table.add_row(upstream, endpoint, shown, str(sum(statuses.values())))
    return table


def figures_table(result: ScenarioResult) -> Table:
    table = Table(show_header=False, show_edge=False, pad_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    histogram = ", ".join(
        f"{n} tasks with {k} issue{'s' if k != 1 else ''}"
        for k, n in sorted(result.issues_per_task.items())
    )
    table.add_row("issues per open task (must be 1)", histogram or "no open tasks")
    table.add_row("tasks disagreeing with their issue (must be 0)", str(result.disagreements))
    table.add_row(
        "writes per human change",
        f"{result.writes_per_change:.2f} ({result.writes} writes / {result.human_changes} changes)",
    )
    table.add_row("sweep repairs", str(result.repairs))
    table.add_row("writes at rest (must be 0)", str(result.at_rest_writes))
    return table


def checks_text(result: ScenarioResult) -> Text:
    text = Text()
    for check in result.checks:
        mark, style = ("✓", "green") if check.ok else ("✗", "red")
        text.append(f"{mark} {check.name}", style=style)
        if not check.ok and check.detail:
            text.append(f" - {check.detail}")
        text.append("\n")
    return text


def render(result: ScenarioResult, console: Console, *, verbose: bool = False) -> None:
    verdict = Text("PASS", style="bold green") if result.passed else Text("FAIL", style="bold red")
    faults = Text("\n".join(f"• {f}" for f in result.faults) or "none")
    parts: list = [
        Text("faults injected", style="bold"),
        faults,
        Text(""),
        requests_table(result),
        Text(""),
        figures_table(result),
        Text(""),
        checks_text(result),
    ]
    notes = result.notes if verbose else [n for n in result.notes if "\n" not in n]
    if notes:
        parts += [Text("notes", style="bold"), Text("\n".join(f"• {n}" for n in notes))]
    title = Text.assemble(
        (result.name, "bold"), f"  seed {result.seed}, {result.tasks} tasks, ", verdict
    )
    subtitle = f"{result.seconds:.1f} s"
    console.print(Panel(Group(*parts), title=title, title_align="left", subtitle=subtitle))
    if not result.passed:
        console.print(Text("FAIL: ", style="bold red") + Text("; ".join(result.reasons)))


def summary_table(results: list[ScenarioResult]) -> Table:
    table = Table(title="scenarios", title_justify="left")
    for column in ("scenario", "verdict", "issues/task", "disagree", "writes/change", "repairs"):
        table.add_column(column)
    table.add_column("at rest", justify="right")
    table.add_column("time", justify="right")
    for r in results:
        verdict = Text("PASS", style="green") if r.passed else Text("FAIL", style="red")
        duplicates = sum(n for k, n in r.issues_per_task.items() if k != 1)
        table.add_row(
            r.name,
            verdict,
            "1" if not duplicates else f"{duplicates} wrong",
            str(r.disagreements),
            f"{r.writes_per_change:.2f}",
            str(r.repairs),
            str(r.at_rest_writes),
            f"{r.seconds:.1f} s",
        )
    return table
