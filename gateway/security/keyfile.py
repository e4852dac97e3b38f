"""Secrets generated once and kept in a private file under the data folder.

Used for the session-signing key and the credentials key when the operator sets
neither: the file is created with mode 0600 and ``O_EXCL``, so two processes that
start together agree on one value instead of each writing its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from gateway.security.file_modes import owner_only_folder


def read_or_create_private_file(path: Path, make: Callable[[], str]) -> str:
    """The file's stripped content; when it is missing or empty, ``make()`` written 0600."""
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    owner_only_folder(path.parent)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process won the race; use its value so both agree.
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value
