"""``gateway db upgrade|downgrade|current``: the schema, through Alembic."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli._common import fail, out, settings_or_exit

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from gateway.migrate import upgrade

    settings = settings_or_exit()
    try:
        upgrade(settings.effective_database_url, revision)
    except Exception as error:
        raise fail(f"migration failed: {type(error).__name__}: {error}") from None
    out.print(f"database upgraded to {revision}")


@app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base or -1.")],
) -> None:
    """Revert migrations down to REVISION."""
    from gateway.migrate import downgrade

    settings = settings_or_exit()
    try:
        downgrade(settings.effective_database_url, revision)
    except Exception as error:
        raise fail(f"downgrade failed: {type(error).__name__}: {error}") from None
    out.print(f"database downgraded to {revision}")


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
