"""A thread-safe, append-only log of what a fake or a probe saw."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class RecordLog(Generic[T]):
    """Records in arrival order; writers append from any thread, readers get a copy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[T] = []

    def append(self, record: T) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[T]:
        """A copy, oldest first."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
