"""The ``gateway`` command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gateway.cli_demo import register as register_demo_command
from gateway.cli_sync import register as register_sync_commands
from gateway.settings import ConfigurationError, Settings, load_settings

app = typer.Typer(
    help="PeopleForce <-> Jira Cloud sync gateway.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
redis_app = typer.Typer(help="The embedded Redis server (when GATEWAY_REDIS_URL is unset).")
app.add_typer(db_app, name="db")
app.add_typer(redis_app, name="redis", no_args_is_help=True)
register_sync_commands(app)
register_demo_command(app)

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line to stderr; the caller raises the returned Exit."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def settings_or_exit() -> Settings:
    """Load settings, turning a bad value into one line and exit code 2."""
    try:
        return load_settings()
    except ConfigurationError as error:
        raise fail(f"configuration: {error}", code=2) from None


def prepare_database(settings: Settings) -> None:
    """Refuse to run on an old schema; the default SQLite file migrates itself."""
    from gateway.db import make_engine
    from gateway.migrate import SchemaOutOfDate, ensure_schema_current, upgrade

    if not settings.database_url:
        upgrade(settings.effective_database_url)
        return
    engine = make_engine(settings.effective_database_url)
    try:
        ensure_schema_current(engine)
    except SchemaOutOfDate as error:
        raise fail(str(error)) from None
    except Exception as error:
        raise fail(f"database unreachable: {type(error).__name__}: {error}") from None
    finally:
        engine.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
) -> None:
    """Run the API: webhook ingress, admin UI, health and metrics."""
    import uvicorn

    from gateway.api.app import create_app
    from gateway.logs import configure_logging

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    prepare_database(settings)
    uvicorn.run(create_app(settings), host=host, port=port, log_config=None, proxy_headers=True)


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="Run queued jobs, then exit.")] = False,
) -> None:
    """Run an ARQ worker: polling ticks, webhook jobs, the sweeper."""
    from arq.worker import run_worker

    from gateway.logs import configure_logging
    from gateway.redis import RedisUnavailable, arq_redis_settings, resolve_redis_url
    from gateway.worker import WorkerSettings, cron_jobs

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    prepare_database(settings)
    try:
        redis_settings = arq_redis_settings(resolve_redis_url(settings))
    except RedisUnavailable as error:
        raise fail(str(error)) from None
    run_worker(
        WorkerSettings,  # ty: ignore[invalid-argument-type]
        redis_settings=redis_settings,
        burst=burst,
        cron_jobs=[] if burst else cron_jobs(settings),
        ctx={"settings": settings},
    )


@db_app.command("upgrade")
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


@db_app.command("downgrade")
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


@db_app.command("current")
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


@redis_app.command("status")
def redis_status() -> None:
    """Say whether the embedded Redis runs, and where."""
    from gateway.redis import EmbeddedRedis

    settings = settings_or_exit()
    if not settings.uses_embedded_redis:
        out.print("GATEWAY_REDIS_URL is set: no embedded Redis is used")
        return
    embedded = EmbeddedRedis(settings.data_dir)
    if embedded.is_running():
        out.print(f"running (pid {embedded.pid()}) at {embedded.url}")
    else:
        out.print("not running (it starts with the first `gateway serve` or `gateway worker`)")


@redis_app.command("stop")
def redis_stop() -> None:
    """Stop the embedded Redis (its data stays under the data folder)."""
    from gateway.redis import EmbeddedRedis

    settings = settings_or_exit()
    if not settings.uses_embedded_redis:
        raise fail("GATEWAY_REDIS_URL is set: there is no embedded Redis to stop")
    stopped = EmbeddedRedis(settings.data_dir).stop()
    out.print("stopped" if stopped else "was not running")


@app.command()
def check() -> None:
    """Print the effective configuration (secrets masked) and check database and Redis."""
    from gateway.checks import run_checks

    settings = settings_or_exit()
    table = Table(title="Effective configuration", show_header=True)
    table.add_column("setting")
    table.add_column("value")
    for name, value in settings_table(settings):
        table.add_row(name, value)
    out.print(table)
    results = run_checks(settings)
    ok = True
    for name, passed, detail in results:
        mark = "[green]ok[/]" if passed else "[red]FAIL[/]"
        out.print(f"{mark} {name}: {detail}", highlight=False, soft_wrap=True)
        ok = ok and passed
    if not ok:
        raise typer.Exit(1)


def settings_table(settings: Settings) -> list[tuple[str, str]]:
    """Each setting as (ENV_NAME, printable value); secrets show as set/unset only."""
    from pydantic import SecretStr

    from gateway.redis import redact_url
    from gateway.settings import ENV_PREFIX

    rows = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            shown = "********** (set)"
        elif value is None or value == "":
            shown = "(unset)"
        elif name in ("database_url", "redis_url"):
            shown = redact_url(str(value))
        else:
            shown = str(value)
        rows.append((f"{ENV_PREFIX}{name.upper()}", shown))
    return rows


def _register_admin_commands() -> None:
    from gateway.cli_admin import admin_app, domain_app, rule_app

    app.add_typer(admin_app, name="admin")
    app.add_typer(domain_app, name="domain")
    app.add_typer(rule_app, name="rule")


_register_admin_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
