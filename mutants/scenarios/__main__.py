"""``python -m scenarios``: list the consistency scenarios, run one or all of them.

Exit code 0 when every scenario run passes, 1 when one fails, 2 on bad usage.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from scenarios.report import render, summary_table
from scenarios.result import ScenarioResult
from scenarios.runner import Scenario, all_scenarios, get_scenario, run_scenario_async

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
# Wide enough for the summary table when the output goes to a file or a CI log.
console = Console(width=max(120, Console().width))


@app.command("list")
def list_scenarios() -> None:
    """Name every scenario and the guarantee it proves."""
    table = Table(show_edge=False)
    table.add_column("scenario", style="bold")
    table.add_column("tasks", justify="right")
    table.add_column("proves")
    for scenario in all_scenarios():
        table.add_row(scenario.name, str(scenario.default_tasks), scenario.summary)
    console.print(table)


@app.command()
def run(
    name: Annotated[str, typer.Argument(help="A scenario name, or 'all'.")],
    seed: Annotated[int, typer.Option(help="Seed of every random choice and fault.")] = 0,
    tasks: Annotated[
        int | None, typer.Option(min=2, help="Tasks per scenario (default: each one's own).")
    ] = None,
    verbose: Annotated[bool, typer.Option(help="Show the gateway's log and tracebacks.")] = False,
    database_url: Annotated[
        str | None,
        typer.Option(
            help="An empty database (e.g. postgresql+psycopg://...) instead of a SQLite "
            "file; one scenario per database."
        ),
    ] = None,
) -> None:
    """Run NAME (or all) and check its guarantees; exit code 1 on any failure."""
    if not verbose:
        for logger in ("gateway", "arq", "uvicorn", "uvicorn.error", "httpx"):
            logging.getLogger(logger).setLevel(logging.CRITICAL)
    try:
        chosen = all_scenarios() if name == "all" else [get_scenario(name)]
    except KeyError as error:
        console.print(f"[red]{error.args[0]}[/red]")
        raise typer.Exit(2) from None
    if database_url and len(chosen) > 1:
        console.print("[red]--database-url runs one scenario: each needs an empty database[/red]")
        raise typer.Exit(2)
    results = asyncio.run(_run_all(chosen, seed, tasks, database_url))
    for result in results:
        render(result, console, verbose=verbose)
    if len(results) > 1:
        console.print(summary_table(results))
    failed = [r.name for r in results if not r.passed]
    if failed:
        console.print(f"[bold red]FAIL[/bold red]: {', '.join(failed)}")
        raise typer.Exit(1)
    console.print(f"[bold green]PASS[/bold green]: {len(results)} scenario(s)")


async def _run_all(
    chosen: list[Scenario], seed: int, tasks: int | None, database_url: str | None = None
) -> list[ScenarioResult]:
    results: list[ScenarioResult] = []
    columns = (
        SpinnerColumn(),
        TextColumn("{task.fields[scenario]:<22}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task("", total=len(chosen), scenario="")
        for scenario in chosen:
            progress.update(bar, scenario=scenario.name, description="")

            def phase(text: str) -> None:
                progress.update(bar, description=text)

            results.append(
                await run_scenario_async(
                    scenario.name,
                    seed=seed,
                    tasks=tasks,
                    on_phase=phase,
                    database_url=database_url,
                )
            )
            progress.advance(bar)
    return results


if __name__ == "__main__":
    app()
