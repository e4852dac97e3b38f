"""``gateway db backup``: a consistent copy of the SQLite database while the gateway runs.

SQLite's online backup API (``sqlite3.Connection.backup``) copies the database page
by page. It runs as one step, inside one read transaction: in WAL mode a reader
never blocks the API's or the workers' writes, and one step sees one snapshot (a
stepwise backup would start over each time another process writes, and might never
end on a busy gateway). The copy goes to ``PATH.partial`` and is renamed into place
only once it has been checked, so a crash never leaves a half-written file at PATH.
The copy is owner-only (0600): it is the whole database.

PostgreSQL has its own tool for this: ``pg_dump_command`` says how to call it.
"""

from __future__ import annotations

import contextlib
import shlex
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from gateway.migrate import MIGRATIONS_DIR
from gateway.security.file_modes import create_owner_only_file, owner_only_folder

SQLITE_HEADER = b"SQLite format 3\x00"
# Tables every gateway database has, whatever its revision.
GATEWAY_TABLES = frozenset({"alembic_version", "domain_config", "sync_state", "sync_event"})
PROGRESS_INTERVAL_SECONDS = 0.5


class BackupError(Exception):
    """A backup or restore refused or failed; the message is one line for the operator."""


def sqlite_file(database_url: str) -> Path | None:
    """The database file of a SQLite URL, or None for another backend."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database has no file to back up")
    return Path(url.database)


def pg_dump_command(database_url: str, target: Path) -> str:
    """The ``pg_dump`` command for a PostgreSQL URL: host, port, user and database, never
    the password (pg_dump asks for it, or reads PGPASSWORD or ~/.pgpass)."""
    url = make_url(database_url)
    words = ["pg_dump", "--format=custom", f"--file={target}"]
    if url.host:
        words.append(f"--host={url.host}")
    if url.port:
        words.append(f"--port={url.port}")
    if url.username:
        words.append(f"--username={url.username}")
    words.append(url.database or "")
    return shlex.join(words)


def known_revisions() -> set[str]:
    """Every migration revision this version of the gateway ships."""
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return {revision.revision for revision in script.walk_revisions()}


def check_gateway_database(path: Path) -> str:
    """The migration revision of the gateway database at ``path``; BackupError if it is
    not one (not SQLite, damaged, another application's, or a revision this version of
    the gateway does not know)."""
    if path.is_dir():
        raise BackupError(f"{path}: is a directory, not a database file")
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as file:
        if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{path}: not a SQLite database")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            missing = GATEWAY_TABLES - tables
            if missing:
                raise BackupError(f"{path}: not a gateway database (no {min(missing)} table)")
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path}: unreadable SQLite database: {error}") from None
    if verdict != "ok":
        raise BackupError(f"{path}: damaged database: {verdict}")
    revision = row[0] if row else None
    if revision not in known_revisions():
        raise BackupError(f"{path}: migration revision {revision!r} is unknown to this gateway")
    return revision


@dataclass(frozen=True)
class BackupReport:
    """What ``backup_sqlite`` wrote."""

    target: Path
    size_bytes: int
    seconds: float
    revision: str

    def summary(self) -> str:
        return (
            f"backed up to {self.target}: {self.size_bytes / 1e6:.1f} MB at revision "
            f"{self.revision} in {self.seconds:.1f} s"
        )


Progress = Callable[[int, int], None]


def _watch(partial: Path, total: int, done: threading.Event, progress: Progress) -> None:
    """Report the copy's growth while the one-step backup runs in another thread."""
    while not done.wait(PROGRESS_INTERVAL_SECONDS):
        with contextlib.suppress(OSError):
            progress(min(partial.stat().st_size, total), total)


def copy_database(source: Path, target: Path, progress: Progress | None = None) -> None:
    """Copy the SQLite database ``source`` to ``target`` in one consistent snapshot.

    ``target`` is made owner-only (it is the whole database) and left in rollback-journal
    mode: a copy of a WAL database would otherwise stay in WAL mode, and merely opening it
    (to check it) would leave ``-wal`` and ``-shm`` files beside it.
    """
    create_owner_only_file(target)
    with contextlib.closing(sqlite3.connect(source, timeout=10)) as src:
        pages = src.execute("PRAGMA page_count").fetchone()[0]
        total = pages * src.execute("PRAGMA page_size").fetchone()[0]
        done = threading.Event()
        watcher = None
        if progress is not None:
            watcher = threading.Thread(target=_watch, args=(target, total, done, progress))
            watcher.start()
        try:
            with contextlib.closing(sqlite3.connect(target)) as dst:
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            done.set()
            if watcher is not None:
                watcher.join()
        if progress is not None:
            progress(total, total)


def backup_sqlite(
    source: Path, target: Path, *, force: bool = False, progress: Progress | None = None
) -> BackupReport:
    """Back up the live database ``source`` to ``target`` (refused if it exists, unless
    ``force``); checked before it takes the name ``target``."""
    if not source.is_file():
        raise BackupError(f"{source}: no database to back up")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; pass --force to overwrite it")
    if target.resolve() == source.resolve():
        raise BackupError(f"{target} is the live database itself")
    owner_only_folder(target.parent)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        copy_database(source, partial, progress)
        revision = check_gateway_database(partial)
        partial.replace(target)
    except sqlite3.Error as error:
        raise BackupError(f"backup failed: {type(error).__name__}: {error}") from None
    finally:
        for leftover in ("", "-wal", "-shm", "-journal"):
            partial.with_name(partial.name + leftover).unlink(missing_ok=True)
    return BackupReport(target, target.stat().st_size, time.perf_counter() - started, revision)
