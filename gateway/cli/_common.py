"""What every ``gateway`` command shares: output, errors, settings, the database.

Errors are one line on stderr and a non-zero exit: 2 for bad configuration, 1 for
everything else. The admin refusals (``gateway.admin.errors``) read the same as in
the API and the UI, because they are the same exceptions with the same messages.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable, Generator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy import Engine
from sqlmodel import Session

from gateway.admin.accounts import AccountError
from gateway.admin.errors import Conflict, DomainNotFound, NotFound, RuleInvalid
from gateway.admin.schemas import ActionResult
from gateway.settings import ConfigurationError, Settings, load_settings

T = TypeVar("T")

out = Console()
err = Console(stderr=True)
# Columns of a timestamp to the second with its offset: 2026-12-01T05:56:00+00:00.
TIMESTAMP_WIDTH = 25

DOMAIN_LIST_HINT = " (see `gateway domain list`)"


def command_group(**options: Any) -> typer.Typer:
    """A typer app whose ``--help`` is click's plain text, which wraps at any terminal
    width; typer's boxed rich tables cut long option names off at 80 columns."""
    return typer.Typer(rich_markup_mode=None, **options)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line to stderr; the caller raises the returned Exit."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def print_json(data: Any) -> None:
    """Machine-readable output for ``--json``: indented, datetimes as ISO strings."""
    typer.echo(json.dumps(data, indent=2, default=str))


def report(result: ActionResult, as_json: bool) -> None:
    """Print an action's outcome; a failed one exits 1 so scripts can branch on it."""
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        out.print(result.message, highlight=False)
    if not result.ok:
        raise typer.Exit(1)


def settings_or_exit() -> Settings:
    """Load settings, turning a bad value into one line and exit code 2."""
    try:
        return load_settings()
    except ConfigurationError as error:
        raise fail(f"configuration: {error}", code=2) from None


def reachable_or_exit(settings: Settings, *, database: bool = True, redis: bool = False) -> None:
    """What the command needs (data folder, database, Redis) is usable, or one line naming
    the setting and the cause, and exit 1: the same check ``serve`` and ``worker`` make
    before they start (``gateway.runtime.preflight``)."""
    from gateway.runtime.preflight import StartupError, preflight

    try:
        preflight(settings, database=database, redis=redis)
    except StartupError as error:
        raise fail(str(error)) from None


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


def validation_line(error: ValidationError) -> str:
    """A model's validation errors as one line: ``field: problem; field: problem``."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "input"
        parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def refusal_line(error: Exception) -> str | None:
    """The one line an admin refusal prints as, or None for anything else."""
    if isinstance(error, DomainNotFound):
        return f"{error}{DOMAIN_LIST_HINT}"
    if isinstance(error, RuleInvalid):
        return "invalid rule: " + "; ".join(error.problems)
    if isinstance(error, ValidationError):
        return validation_line(error)
    if isinstance(error, NotFound | Conflict | AccountError):
        return str(error)
    return None


@contextmanager
def configured_engine() -> Generator[tuple[Engine, Settings]]:
    """The configured, up-to-date database's engine and the settings, closed afterwards."""
    from gateway.db import make_engine
    from gateway.security.crypto import load_cipher

    settings = settings_or_exit()
    reachable_or_exit(settings)
    prepare_database(settings)
    engine = make_engine(settings.effective_database_url, cipher=load_cipher(settings))
    try:
        yield engine, settings
    finally:
        engine.dispose()


def cli_actor() -> str:
    """How the audit log names whoever runs an admin command: their login on this host."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@contextmanager
def database() -> Generator[Session]:
    """One transaction on the configured database; an admin refusal becomes one line."""
    from gateway.admin.change_log import acting_as
    from gateway.db import session_scope

    with configured_engine() as (engine, _), acting_as(cli_actor()):
        try:
            with session_scope(engine) as session:
                yield session
        except (NotFound, Conflict, AccountError, RuleInvalid, ValidationError) as error:
            raise fail(refusal_line(error) or str(error)) from None


def run_action(action: Callable[[Engine, Settings], Awaitable[T]]) -> T:
    """Run one async admin action (connection test, rule check, preview) to completion."""
    from gateway.clients import UpstreamError

    with configured_engine() as (engine, settings):
        try:
            return asyncio.run(_awaited(action(engine, settings)))
        except (NotFound, UpstreamError) as error:
            raise fail(refusal_line(error) or str(error)) from None


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


def run_like_a_worker(work: Callable[[Any], Awaitable[T]]) -> T:
    """Open database, Redis and HTTP as a worker does, run ``work(deps)``, close them.

    The sync flows then run in this process under the same locks as the workers.
    """
    import httpx

    from gateway.jobs import open_pool
    from gateway.redis import RedisUnavailable, resolve_redis
    from gateway.sync.deps import SyncDeps

    with configured_engine() as (engine, settings):
        reachable_or_exit(settings, database=False, redis=True)

        async def main() -> T:
            try:
                redis = await open_pool(resolve_redis(settings))
            except (RedisUnavailable, OSError) as error:
                raise fail(f"Redis unavailable: {error}") from None
            http = httpx.AsyncClient(timeout=httpx.Timeout(settings.http_timeout_seconds))
            try:
                return await work(
                    SyncDeps(engine=engine, redis=redis, http=http, settings=settings)
                )
            finally:
                await http.aclose()
                await redis.aclose()

        return asyncio.run(main())
