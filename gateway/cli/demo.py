"""``gateway demo``: the whole system with fake PeopleForce and Jira, in one command.

The demo package is imported inside the command, so ``gateway --help`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    tasks: Annotated[int, typer.Option(help="PeopleForce tasks seeded at start.", min=1)] = 50,
    seed: Annotated[int, typer.Option(help="Seed of every random choice (replayable).")] = 7,
    duration: Annotated[
        float | None,
        typer.Option(help="Seconds the story runs, then the verdict; default: until Ctrl-C."),
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Story speed: 2 plays the story twice as fast.", min=0.1, max=50)
    ] = 1.0,
    port: Annotated[
        int, typer.Option(help="Port of the gateway API (0: any free).", min=0, max=65535)
    ] = 8000,
    data_dir: Annotated[Path, typer.Option(help="Demo data folder; wiped at start.")] = Path(
        "data/demo"
    ),
) -> None:
    """Run everything locally and play a story with lost webhooks and a Jira outage.

    Starts the embedded Redis, a fresh SQLite database, fake PeopleForce and fake
    Jira, the API and a `gateway worker` subprocess; ends with a consistency
    verdict (exit code 0 when consistent, 1 otherwise).
    """
    from gateway.demo.launch import DemoOptions
    from gateway.demo.run import run_demo
    from gateway.runtime.preflight import preflight_or_exit

    preflight_or_exit(None, folders=[(data_dir, "--data-dir")])
    options = DemoOptions(
        tasks=tasks, seed=seed, duration=duration, speed=speed, port=port, data_dir=data_dir
    )
    raise typer.Exit(run_demo(options))


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the main ``gateway`` app."""
    app.command()(demo)
