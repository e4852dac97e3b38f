"""Start-up checks shared by ``gateway check``: database, schema, Redis, domain URLs."""

from __future__ import annotations

import contextlib

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from gateway.admin.accounts import AccountError, check_password_rules, normalize_username
from gateway.admin.base_urls import pf_base_url_warning
from gateway.db import make_engine
from gateway.maintenance.backup import BackupError, sqlite_file
from gateway.migrate import current_revision, head_revision
from gateway.models import AdminUser, DomainConfig
from gateway.redis import EmbeddedRedis, RedisUnavailable, check_redis, redact_url, resolve_redis
from gateway.runtime.preflight import (
    StartupError,
    check_database_reachable,
    check_folder,
    redis_setting,
)
from gateway.runtime.unknown_settings import unknown_variables
from gateway.security.crypto import KEYS_VARIABLE, key_file, parse_keys
from gateway.security.file_modes import readable_by_others, shared_files
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
    """Ping the configured Redis (with Sentinel: say which master the sentinels named); for
    the embedded one, prove it starts (and leave it as found)."""
    if settings.redis_url or settings.redis_sentinels:
        try:
            found = check_redis(resolve_redis(settings))
        except RedisUnavailable as error:
            return ("redis", False, f"{redis_setting(settings)}: {error}")
        return ("redis", True, found)
    try:
        check_folder(settings.data_dir)
    except StartupError as error:
        return ("redis", False, f"embedded Redis: {error}")
    embedded = EmbeddedRedis(settings.data_dir)
    was_running = embedded.is_running()
    if not was_running and embedded.stopped_on_purpose:
        return (
            "redis",
            False,
            f"embedded Redis at {embedded.url} was stopped with `gateway redis stop`: "
            "`gateway redis start` starts it again",
        )
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


def check_credentials_key(settings: Settings) -> CheckResult:
    """Where the key that encrypts stored credentials comes from; never the key itself."""
    if settings.credentials_keys is not None:
        count = len(parse_keys(settings.credentials_keys.get_secret_value()))
        return ("credentials key", True, f"{count} key(s) from {KEYS_VARIABLE}; the first encrypts")
    path = key_file(settings)
    where = f"generated in {path}" if path.exists() else f"generated in {path} on first use"
    return (
        "credentials key",
        True,
        f"{where}: back it up with the database (without it the stored credentials are "
        f"lost); in production set {KEYS_VARIABLE} instead",
    )


def check_domain_urls(settings: Settings) -> list[CheckResult]:
    """One warning line per domain whose PeopleForce base URL lacks the API path.

    A warning, not a failure: the URL is valid and a proxy may add the path, but the
    real service answers 404 without it. Nothing is reported when the domains cannot be
    read (the database checks above say why).
    """
    engine = make_engine(settings.effective_database_url)
    try:
        with Session(engine) as session:
            query = select(DomainConfig.name, DomainConfig.pf_base_url)
            rows = list(session.exec(query.order_by(col(DomainConfig.name))))
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()
    results: list[CheckResult] = []
    for name, url in rows:
        warning = pf_base_url_warning(url)
        if warning:
            results.append((f"domain {name}", True, f"warning: {warning}"))
    return results


def check_bootstrap_admin(settings: Settings) -> CheckResult | None:
    """Whether ``gateway serve`` can create GATEWAY_ADMIN_USERNAME from the environment:
    the same rules ``create_user`` applies at start-up, so the reason is the one serve logs
    ("bootstrap admin not created: ..."). An existing account is not recreated, so then
    the rules do not matter. None when no bootstrap admin is configured."""
    if not settings.admin_username or settings.admin_password is None:
        return None
    try:
        name = normalize_username(settings.admin_username)
        check_password_rules(settings.admin_password.get_secret_value())
    except AccountError as error:
        if _account_exists(settings, settings.admin_username):
            return ("bootstrap admin", True, f"account exists; GATEWAY_ADMIN_* unused ({error})")
        return ("bootstrap admin", False, f"bootstrap admin not created: {error}")
    return ("bootstrap admin", True, f"{name!r} is created at start-up if missing")


def _account_exists(settings: Settings, username: str) -> bool:
    """Whether the account is already there (False when the database cannot say)."""
    try:
        name = normalize_username(username)
        engine = make_engine(settings.effective_database_url)
        try:
            with Session(engine) as session:
                found = session.exec(select(AdminUser).where(AdminUser.username == name))
                return found.first() is not None
        finally:
            engine.dispose()
    except (AccountError, SQLAlchemyError):
        return False


def check_file_modes(settings: Settings) -> CheckResult:
    """A warning naming the files under the data folder (and the SQLite database) that
    other local users may read: they hold the database, queued payloads or keys."""
    found = set(shared_files(settings.data_dir))
    with contextlib.suppress(BackupError):  # an in-memory database has no file
        database = sqlite_file(settings.effective_database_url)
        if database is not None:
            files = (database.with_name(database.name + end) for end in ("", "-wal", "-shm"))
            found.update(path for path in files if readable_by_others(path))
    if not found:
        return ("file permissions", True, "database and data folder files are owner-only")
    names = ", ".join(str(path) for path in sorted(found))
    return (
        "file permissions",
        True,
        f"warning: readable by group or others: {names}; make them owner-only "
        "(chmod 600 FILE, chmod 700 on their folders)",
    )


def run_checks(settings: Settings) -> list[CheckResult]:
    results = check_database(settings)
    if all(ok for _, ok, _ in results):  # else the database lines above say why
        results.extend(check_domain_urls(settings))
    results.append(check_redis_reachable(settings))
    results.append(check_credentials_key(settings))
    results.append(check_file_modes(settings))
    bootstrap = check_bootstrap_admin(settings)
    if bootstrap is not None:
        results.append(bootstrap)
    results.extend(("unknown setting", False, line) for line in unknown_variables())
    if settings.jira_webhook_secret is None:
        results.append(
            ("webhook secret", True, "unset: every Jira delivery will be rejected with 401")
        )
    else:
        results.append(("webhook secret", True, "set"))
    return results
