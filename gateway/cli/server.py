"""``gateway serve|worker|check``: the two processes, and the check before starting them."""

from __future__ import annotations

from typing import Annotated, TypedDict

import typer
from rich.table import Table

from gateway.cli._common import fail, out, prepare_database, settings_or_exit
from gateway.runtime.server_settings import server_limits
from gateway.settings import Settings


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
) -> None:
    """Run the API: webhook ingress, admin UI, health and metrics."""
    import uvicorn

    from gateway.api.app import create_app
    from gateway.logs import configure_logging
    from gateway.runtime.preflight import preflight_or_exit

    settings = settings_or_exit()
    preflight_or_exit(settings)
    configure_logging(settings.log_level, settings.log_format)
    prepare_database(settings)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        **proxy_options(settings),
        **server_limits(settings),
    )


class ProxyOptions(TypedDict):
    proxy_headers: bool
    forwarded_allow_ips: str | None


def proxy_options(settings: Settings) -> ProxyOptions:
    """uvicorn's proxy-header options: trust X-Forwarded-* only from the configured
    proxies; with none configured, the socket's address and scheme are used."""
    if not settings.forwarded_allow_ips:
        return ProxyOptions(proxy_headers=False, forwarded_allow_ips=None)
    return ProxyOptions(proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips)


def worker(
    burst: Annotated[bool, typer.Option(help="Run queued jobs, then exit.")] = False,
) -> None:
    """Run an ARQ worker: polling ticks, webhook jobs, the sweeper."""
    from gateway.logs import configure_logging
    from gateway.runtime.preflight import preflight_or_exit
    from gateway.runtime.worker_loop import run_worker

    settings = settings_or_exit()
    preflight_or_exit(settings)
    configure_logging(settings.log_level, settings.log_format)
    prepare_database(settings)
    run_worker(settings, burst=burst)


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
    ok = True
    results = run_checks(settings)
    for name, passed, detail in results:
        mark = "[green]ok[/]" if passed else "[red]FAIL[/]"
        out.print(f"{mark} {name}: {detail}", highlight=False, soft_wrap=True)
        ok = ok and passed
    if not ok:
        raise fail("; ".join(f"{name}: {detail}" for name, passed, detail in results if not passed))


def settings_table(settings: Settings) -> list[tuple[str, str]]:
    """Each setting as (ENV_NAME, printable value); secrets show as set/unset only."""
    from pydantic import SecretStr

    from gateway.redis import redact_url
    from gateway.settings import ENV_PREFIX
    from gateway.sync.tuning import SyncTuning

    rows = []
    tuning = list(SyncTuning.model_fields)  # the sync core's tuning last, after the basics
    for name in [*(n for n in Settings.model_fields if n not in tuning), *tuning]:
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


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``worker`` and ``check`` to the main ``gateway`` app."""
    app.command()(serve)
    app.command()(worker)
    app.command()(check)
