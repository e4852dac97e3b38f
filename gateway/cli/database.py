"""``gateway db upgrade|downgrade|current``: the schema, through Alembic."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from gateway.cli._common import fail, out, settings_or_exit

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


def _migrate(direction: Literal["upgrade", "downgrade"], revision: str, failed: str) -> None:
    """Run Alembic to ``revision``; a failure is one line starting with ``failed``, exit 1."""
    from gateway.migrate import downgrade, upgrade
    from gateway.runtime.preflight import preflight_or_exit

    settings = settings_or_exit()
    preflight_or_exit(settings, redis=False)
    run = upgrade if direction == "upgrade" else downgrade
    try:
        run(settings.effective_database_url, revision)
    except Exception as error:
        raise fail(f"{failed}: {type(error).__name__}: {error}") from None
    out.print(f"database {direction}d to {revision}")


@app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    _migrate("upgrade", revision, "migration failed")


@app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base or -1.")],
) -> None:
    """Revert migrations down to REVISION."""
    _migrate("downgrade", revision, "downgrade failed")


@app.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one."""
    from gateway.db import make_engine
    from gateway.migrate import current_revision, head_revision

    settings = settings_or_exit()
    engine = make_engine(settings.effective_database_url)
    try:
        out.print(f"current: {current_revision(engine) or 'none'}  head: {head_revision()}")
    except Exception as error:
        raise fail(f"database unreachable: {type(error).__name__}: {error}") from None
    finally:
        engine.dispose()
