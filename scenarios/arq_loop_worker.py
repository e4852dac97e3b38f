"""A worker on ARQ's own run loop, as ``gateway worker`` ran before it rode out outages.

For negative tests only (``python -m scenarios.arq_loop_worker``, configured like
``gateway worker`` through GATEWAY_ variables): it exits at the first Redis error.
"""

from __future__ import annotations

from arq.worker import run_worker

from gateway.logs import configure_logging
from gateway.redis import arq_redis_settings, resolve_redis
from gateway.settings import load_settings
from gateway.worker import WorkerSettings, cron_jobs


def main() -> None:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    run_worker(
        WorkerSettings,  # ty: ignore[invalid-argument-type]
        redis_settings=arq_redis_settings(resolve_redis(settings)),
        cron_jobs=cron_jobs(settings),
        ctx={"settings": settings},
    )


if __name__ == "__main__":
    main()
