"""``gateway worker`` without its retry of one-shot jobs that meet an outage: a webhook
job that finds the database locked or gone is dropped, as before the worker retried it.

For negative tests only (``python -m scenarios.unretried_worker``, configured like
``gateway worker`` through GATEWAY_ variables).
"""

from __future__ import annotations

import gateway.worker
from gateway.cli.main import main as gateway_main


def main() -> None:
    gateway.worker.RETRIED_WHEN_UNAVAILABLE = frozenset()
    gateway_main(["worker"])


if __name__ == "__main__":
    main()
