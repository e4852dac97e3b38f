"""Results: a rich table on the terminal, JSON under ``bench/results/`` for comparison."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.machine import machine_info

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Section:
    """One table of a benchmark: named columns and rows of plain values."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)

    def add(self, *values: Any) -> None:
        self.rows.append(list(values))


@dataclass
class Target:
    """A goal from the issue and whether this run met it."""

    name: str
    goal: str
    measured: str
    met: bool


@dataclass
class BenchResult:
    """Everything one benchmark reports."""

    name: str
    title: str
    params: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def section(self, title: str, columns: list[str]) -> Section:
        found = Section(title, columns)
        self.sections.append(found)
        return found

    def target(self, name: str, goal: str, measured: str, met: bool) -> None:
        self.targets.append(Target(name, goal, measured, met))


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)


def print_result(result: BenchResult, console: Console) -> None:
    """The benchmark's tables, then its targets, then its notes."""
    console.rule(f"[bold]{result.title}[/] ({result.seconds:.0f} s)")
    if result.params:
        console.print(", ".join(f"{k}={v}" for k, v in result.params.items()))
    for section in result.sections:
        table = Table(title=section.title, title_justify="left")
        for index, column in enumerate(section.columns):
            table.add_column(column, justify="left" if index == 0 else "right")
        for row in section.rows:
            table.add_row(*(_cell(v) for v in row))
        console.print(table)
    if result.targets:
        table = Table(title="targets", title_justify="left")
        for column in ("target", "goal", "measured", "met"):
            table.add_column(column)
        for target in result.targets:
            verdict = "[green]met[/]" if target.met else "[red]MISSED[/]"
            table.add_row(target.name, target.goal, target.measured, verdict)
        console.print(table)
    for note in result.notes:
        console.print(f"[dim]- {note}[/]")


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def write_result(result: BenchResult, started: datetime, directory: Path = RESULTS_DIR) -> Path:
    """``<name>-<timestamp>.json`` plus ``latest-<name>.json``; returns the first."""
    directory.mkdir(parents=True, exist_ok=True)
    document = _jsonable(
        {
            "name": result.name,
            "title": result.title,
            "started_at": started.isoformat(),
            "seconds": round(result.seconds, 2),
            "machine": machine_info(),
            "params": result.params,
            "figures": result.figures,
            "targets": [asdict(t) for t in result.targets],
            "sections": [asdict(s) for s in result.sections],
            "notes": result.notes,
        }
    )
    text = json.dumps(document, indent=2, sort_keys=False) + "\n"
    stamp = started.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{result.name}-{stamp}.json"
    path.write_text(text)
    (directory / f"latest-{result.name}.json").write_text(text)
    return path
