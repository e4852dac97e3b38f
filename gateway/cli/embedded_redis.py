"""``gateway redis status|start|stop``: the embedded Redis used when GATEWAY_REDIS_URL is unset.

A server stopped with ``stop`` stays stopped (running serve and worker processes wait
for it, answering 503) until ``start`` or a newly started gateway process starts it.
"""

from __future__ import annotations

from gateway.cli._common import command_group, fail, out, settings_or_exit

START_HINT = "`gateway redis start` starts it again"

app = command_group(
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
    elif embedded.stopped_on_purpose:
        out.print(f"stopped with `gateway redis stop`; {START_HINT}")
    else:
        out.print("not running (it starts with the first `gateway serve` or `gateway worker`)")


@app.command("start")
def redis_start() -> None:
    """Start the embedded Redis again (after `gateway redis stop`); running processes resume."""
    from gateway.redis import EmbeddedRedis

    settings = settings_or_exit()
    if not settings.uses_embedded_redis:
        raise fail("GATEWAY_REDIS_URL is set: there is no embedded Redis to start")
    embedded = EmbeddedRedis(settings.data_dir)
    was_running = embedded.is_running()
    try:
        url = embedded.ensure_running()
    except OSError as error:
        raise fail(f"embedded Redis did not start: {error}") from None
    state = "already running" if was_running else "started"
    out.print(f"{state} (pid {embedded.pid()}) at {url}")


@app.command("stop")
def redis_stop() -> None:
    """Stop the embedded Redis (its data stays under the data folder)."""
    from gateway.redis import EmbeddedRedis

    settings = settings_or_exit()
    if not settings.uses_embedded_redis:
        raise fail("GATEWAY_REDIS_URL is set: there is no embedded Redis to stop")
    stopped = EmbeddedRedis(settings.data_dir).stop()
    out.print("stopped" if stopped else "was not running")
