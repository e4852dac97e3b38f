"""The gateway's notion of now; scenarios shift it to make days pass in seconds.

``GATEWAY_CLOCK_OFFSET_FILE`` may name a file holding an offset in seconds; every
process of a scenario (API, workers) reads the same file, so simulated time moves
for all of them at once. Production never sets it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import overload

OFFSET_FILE_ENV = "GATEWAY_CLOCK_OFFSET_FILE"


def _offset_seconds() -> float:
    path = os.environ.get(OFFSET_FILE_ENV)
    if not path:
        return 0.0
    try:
        return float(Path(path).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0.0


def utcnow() -> datetime:
    """Aware UTC now, shifted by the scenario offset when one is configured."""
    return datetime.now(UTC) + timedelta(seconds=_offset_seconds())


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """Treat naive datetimes read back from SQLite as UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
