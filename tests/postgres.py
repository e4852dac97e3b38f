"""A fresh PostgreSQL database per test when GATEWAY_TEST_DATABASE_URL names a server.

``make test-postgres`` sets it; the default test run stays on SQLite files. Each
test gets ``CREATE DATABASE test_<random>`` on that server and it is dropped
(connections forced closed) afterwards, so tests stay as isolated as with SQLite.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Generator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

TEST_DATABASE_URL_ENV = "GATEWAY_TEST_DATABASE_URL"
DROP_ATTEMPTS = 20
DROP_RETRY_SECONDS = 0.5


def server_url() -> str | None:
    """The PostgreSQL URL the tests should use, or None for SQLite."""
    return os.environ.get(TEST_DATABASE_URL_ENV) or None


@contextmanager
def fresh_database(url: str, template: str | None = None) -> Generator[str]:
    """Create a database next to the one ``url`` names; yield its URL; drop it.

    Empty by default; with ``template`` (the name of a database on the same server that
    nobody is connected to) a copy of that one, which PostgreSQL makes at file level:
    much cheaper than running the migrations again for every test.
    """
    base = make_url(url)
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_size=1)
    copy_of = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            _drop(admin, name)
    finally:
        admin.dispose()


def _drop(admin: Engine, name: str) -> None:
    """Drop the database, forcing its connections closed.

    An autovacuum worker may be busy in it: PostgreSQL before 18 lets only a superuser
    terminate one (InsufficientPrivilege), and it ends on its own within moments, so
    the drop is tried again for a few seconds before the error stands.
    """
    for attempt in range(DROP_ATTEMPTS):
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except ProgrammingError as error:
            if attempt + 1 == DROP_ATTEMPTS or "pg_signal_backend" not in str(error):
                raise
            time.sleep(DROP_RETRY_SECONDS)
