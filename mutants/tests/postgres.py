"""A fresh PostgreSQL database per test when GATEWAY_TEST_DATABASE_URL names a server.

``make test-postgres`` sets it; the default test run stays on SQLite files. Each
test gets ``CREATE DATABASE test_<random>`` on that server and it is dropped
(connections forced closed) afterwards, so tests stay as isolated as with SQLite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Generator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

TEST_DATABASE_URL_ENV = "GATEWAY_TEST_DATABASE_URL"


def server_url() -> str | None:
    """The PostgreSQL URL the tests should use, or None for SQLite."""
    return os.environ.get(TEST_DATABASE_URL_ENV) or None


@contextmanager
def fresh_database(url: str) -> Generator[str]:
    """Create an empty database next to the one ``url`` names; yield its URL; drop it."""
    base = make_url(url)
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_size=1)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
