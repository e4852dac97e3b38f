"""One process's view of whether Redis answers, and the embedded Redis's supervision.

The worker's poll loop, its presence thread and the API's watcher all report to
``redis_link``, so an outage is one warning and its end one info line, not a line per
failed call. Any of them that finds the embedded Redis dead restarts it
(``heal_embedded``): the file lock makes one process the winner, and the server
starts on its own data folder, replaying its append-only file.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from gateway.redis import EmbeddedRedis, RedisUnavailable
from gateway.settings import Settings

log = logging.getLogger("gateway.redis")


class RedisLink:
    """A process's view of whether Redis answers, logged once per change of state."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._down_since: float | None = None

    @property
    def is_down(self) -> bool:
        return self._down_since is not None

    def down(self, error: BaseException) -> None:
        with self._guard:
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        log.warning("Redis unreachable, retrying: %s: %s", type(error).__name__, error)

    def up(self) -> None:
        with self._guard:
            if self._down_since is None:
                return
            lasted = time.monotonic() - self._down_since
            self._down_since = None
        log.info("Redis reachable again after %.1f s", lasted)


redis_link = RedisLink()
"""This process's link state (one per process: every component shares it)."""


def heal_embedded_redis(settings: Settings) -> bool:
    """Restart the embedded Redis if it died; True when it answers afterwards.

    A configured GATEWAY_REDIS_URL is someone else's server: nothing is started.
    """
    if not settings.uses_embedded_redis:
        return False
    return heal_embedded(settings.data_dir)


def heal_embedded(data_dir: Path) -> bool:
    """``EmbeddedRedis.heal`` that logs instead of raising."""
    try:
        return EmbeddedRedis(data_dir).heal()
    except (RedisUnavailable, OSError) as error:
        log.warning("embedded Redis could not be restarted: %s", error)
        return False
