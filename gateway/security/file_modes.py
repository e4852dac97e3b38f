"""Owner-only files and folders for what holds the database or secrets.

A default umask (022) makes new files readable by every local user: the SQLite
database (task titles, the audit log, encrypted credentials and password hashes),
the embedded Redis's append-only file (queued webhook payloads), backups and the
generated keys. The gateway therefore creates them 0600 in folders it makes 0700,
whatever the umask, and ``gateway check`` names those found readable by others.
A file or folder that already exists keeps the mode its owner gave it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_FILE_MODE = 0o600
OWNER_FOLDER_MODE = 0o700
# Read access for group or others: what a private file must not grant.
_SHARED_READ = stat.S_IRGRP | stat.S_IROTH
# How deep ``shared_files`` looks under the data folder (Redis keeps its AOF one level down).
_MAX_DEPTH = 2


def owner_only_folder(path: Path) -> None:
    """Create ``path`` (and missing parents) 0700; an existing folder is left as it is."""
    path.mkdir(mode=OWNER_FOLDER_MODE, parents=True, exist_ok=True)


def create_owner_only_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists, so whatever then writes it
    (SQLite, a copy) keeps that mode; SQLite gives its -wal and -shm files the same."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)


def readable_by_others(path: Path) -> bool:
    """Whether group or others may read the file at ``path`` (False when it is gone)."""
    try:
        return bool(path.stat().st_mode & _SHARED_READ)
    except OSError:
        return False


def shared_files(folder: Path) -> list[Path]:
    """Files under ``folder`` (two levels deep) that group or others may read, sorted."""
    found: list[Path] = []
    pending = [(folder, 0)]
    while pending:
        current, depth = pending.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir() and depth + 1 < _MAX_DEPTH:
                pending.append((Path(entry.path), depth + 1))
            elif entry.is_file() and readable_by_others(Path(entry.path)):
                found.append(Path(entry.path))
    return sorted(found)
