"""A wall clock that scenarios can push forward.

The fakes stamp every record (``created_at``, ``updated_at``, webhook
timestamps, JQL relative dates) with this clock, so a scenario can make "three
days pass" instantly by advancing it instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class FakeClock:
    """Real UTC time plus an adjustable offset in seconds.

    The offset only ever moves by whole assignments of a float, so reading it
    from another thread (the fake server runs on its own loop) is safe; the lock
    only keeps ``advance`` from losing concurrent increments.
    """

    def __init__(self, offset: float = 0.0, *, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = float(offset)
        if start is not None:
            if start.tzinfo is None:
                raise ValueError("start must be timezone-aware")
            self._offset += start.timestamp() - time.time()

    @property
    def offset(self) -> float:
        """Seconds this clock runs ahead of real time."""
        return self._offset

    def set_offset(self, seconds: float) -> None:
        """Place the clock ``seconds`` ahead of (or behind, if negative) real time."""
        with self._lock:
            self._offset = float(seconds)

    def advance(self, seconds: float) -> None:
        """Make ``seconds`` pass instantly; time never runs backwards through this call."""
        if seconds < 0:
            raise ValueError("a clock only advances; use set_offset to rewind")
        with self._lock:
            self._offset += float(seconds)

    def timestamp(self) -> float:
        """POSIX seconds of the fake now."""
        return time.time() + self._offset

    def now(self) -> datetime:
        """The fake now as a UTC-aware datetime."""
        return datetime.fromtimestamp(self.timestamp(), tz=UTC)

    def __repr__(self) -> str:
        return f"FakeClock(now={self.now().isoformat()}, offset={self._offset:g})"
