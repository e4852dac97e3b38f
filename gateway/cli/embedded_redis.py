"""``gateway redis status|stop``: the embedded Redis used when GATEWAY_REDIS_URL is unset."""

from __future__ import annotations

import typer

from gateway.cli._common import fail, out, settings_or_exit

app = typer.Typer(
    help="The embedded Redis server (when GATEWAY_REDIS_URL is unset).", no_args_is_help=True
)


@app.command("status")
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


@app.command("stop")
def redis_stop() -> None:
    """Stop the embedded Redis (its data stays under the data folder)."""
    from gateway.redis import EmbeddedRedis

    settings = settings_or_exit()
    if not settings.uses_embedded_redis:
        raise fail("GATEWAY_REDIS_URL is set: there is no embedded Redis to stop")
    stopped = EmbeddedRedis(settings.data_dir).stop()
    out.print("stopped" if stopped else "was not running")
