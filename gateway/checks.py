"""Start-up checks shared by ``gateway check``: database, schema, Redis."""

from __future__ import annotations

from gateway.db import make_engine
from gateway.migrate import current_revision, head_revision
from gateway.redis import EmbeddedRedis, RedisUnavailable, check_redis, redact_url
from gateway.runtime.preflight import (
    REDIS_SETTING,
    StartupError,
    check_database_reachable,
    check_folder,
)
from gateway.settings import Settings

CheckResult = tuple[str, bool, str]


def check_database(settings: Settings) -> list[CheckResult]:
    """Reachability and schema revision; the default SQLite file may be behind (it migrates)."""
    try:
        check_database_reachable(settings)
    except StartupError as error:
        return [("database", False, str(error))]
    engine = make_engine(settings.effective_database_url)
    try:
        results: list[CheckResult] = [
            ("database", True, redact_url(settings.effective_database_url))
        ]
        current, head = current_revision(engine), head_revision()
        if current == head:
            results.append(("schema", True, f"at head ({head})"))
        elif not settings.database_url:
            results.append(
                (
                    "schema",
                    True,
                    f"at {current or 'nothing'}; the default SQLite file "
                    f"migrates itself to {head} when serve/worker start",
                )
            )
        else:
            results.append(
                (
                    "schema",
                    False,
                    f"at {current or 'nothing'}, head is {head}: run `gateway db upgrade`",
                )
            )
        return results
    finally:
        engine.dispose()


def check_redis_reachable(settings: Settings) -> CheckResult:
    """Ping the configured Redis; for the embedded one, prove it starts (and leave it as found)."""
    if settings.redis_url:
        try:
            check_redis(settings.redis_url)
        except RedisUnavailable as error:
            return ("redis", False, f"{REDIS_SETTING}: {error}")
        return ("redis", True, redact_url(settings.redis_url))
    try:
        check_folder(settings.data_dir)
    except StartupError as error:
        return ("redis", False, f"embedded Redis: {error}")
    embedded = EmbeddedRedis(settings.data_dir)
    was_running = embedded.is_running()
    try:
        url = embedded.ensure_running()
        check_redis(url)
    except (RedisUnavailable, OSError) as error:
        return ("redis", False, f"embedded Redis: {error}")
    finally:
        if not was_running:
            embedded.stop()
    state = "running" if was_running else "starts on demand"
    return ("redis", True, f"embedded at {embedded.url} ({state})")


def run_checks(settings: Settings) -> list[CheckResult]:
    results = check_database(settings)
    results.append(check_redis_reachable(settings))
    if settings.jira_webhook_secret is None:
        results.append(
            ("webhook secret", True, "unset: every Jira delivery will be rejected with 401")
        )
    else:
        results.append(("webhook secret", True, "set"))
    return results
