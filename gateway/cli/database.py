"""``gateway db upgrade|downgrade|current``: the schema, through Alembic; ``backup|restore``.

Backup and restore are ``gateway.maintenance.backup`` and ``restore``; these commands
only print their progress and their one-line refusals.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Literal

import typer

from gateway.cli._common import (
    command_group,
    err,
    fail,
    out,
    reachable_or_exit,
    settings_or_exit,
)
from gateway.redis import RedisTarget
from gateway.settings import Settings

app = command_group(help="Database schema (Alembic migrations).", no_args_is_help=True)


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
    reachable_or_exit(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        out.print(f"current: {current_revision(engine) or 'none'}  head: {head_revision()}")
    except Exception as error:
        raise fail(f"database unreachable: {type(error).__name__}: {error}") from None
    finally:
        engine.dispose()


def _megabytes(done: int, total: int) -> None:
    out.print(f"copied {done / 1e6:.1f} of {total / 1e6:.1f} MB", highlight=False)


@app.command("backup")
def db_backup(
    path: Annotated[Path, typer.Argument(help="Where to write the copy.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite PATH if it exists.")] = False,
) -> None:
    """Copy the SQLite database to PATH, consistently, while the gateway runs."""
    from gateway.maintenance.backup import BackupError, backup_sqlite, pg_dump_command, sqlite_file
    from gateway.security.crypto import KEY_FILE

    settings = settings_or_exit()
    url = settings.effective_database_url
    try:
        source = sqlite_file(url)
        if source is None:
            out.print(pg_dump_command(url, path), highlight=False, soft_wrap=True)
            raise fail("PostgreSQL: back up with pg_dump (the command above); this copies SQLite")
        report = backup_sqlite(source, path, force=force, progress=_megabytes)
    except BackupError as error:
        raise fail(str(error)) from None
    out.print(report.summary(), highlight=False, soft_wrap=True)
    out.print(
        f"keep it with the credentials key ({settings.data_dir / KEY_FILE}, "
        "or GATEWAY_CREDENTIALS_KEYS): without it the stored credentials cannot be read",
        highlight=False,
        soft_wrap=True,
    )


@app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A file written by `gateway db backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Restore even if workers look alive in Redis.")
    ] = False,
    skip_jira: Annotated[
        bool,
        typer.Option(
            "--skip-jira",
            help="Do not look in Jira for issues created after the backup (they may then "
            "be created twice).",
        ),
    ] = False,
) -> None:
    """Put a backup in place of the SQLite database; the gateway must be stopped."""
    from gateway.clients import UpstreamError
    from gateway.maintenance.backup import BackupError, sqlite_file
    from gateway.maintenance.restore import live_workers, restore_sqlite

    settings = settings_or_exit()
    try:
        live = sqlite_file(settings.effective_database_url)
        if live is None:
            raise BackupError("PostgreSQL: restore with pg_restore; this restores SQLite")
        if not force:
            alive = live_workers(_redis_url_if_running(settings))
            if alive:
                raise BackupError(
                    f"{len(alive)} worker(s) alive ({', '.join(alive)}): stop the gateway "
                    "first (or pass --force)"
                )
        searched = None if skip_jira else settings
        report = asyncio.run(restore_sqlite(path, live, searched, say=_progress))
    except BackupError as error:
        raise fail(str(error)) from None
    except UpstreamError as error:
        raise fail(
            f"nothing restored: Jira could not be searched for issues created after the "
            f"backup ({error}); try again, or pass --skip-jira"
        ) from None
    out.print(report.summary(), highlight=False, soft_wrap=True)


def _progress(line: str) -> None:
    """How the restore's search of Jira goes, on stderr: stdout keeps the summary."""
    err.print(line, highlight=False, soft_wrap=True)


def _redis_url_if_running(settings: Settings) -> RedisTarget | None:
    """The Redis to ask; None when the embedded Redis is stopped (then no worker runs)."""
    from gateway.redis import EmbeddedRedis, resolve_redis

    if not settings.uses_embedded_redis:
        return resolve_redis(settings)
    embedded = EmbeddedRedis(settings.data_dir)
    return embedded.url if embedded.is_running() else None
