"""The ARQ queue shared by the API (producer) and workers (consumers)."""

from __future__ import annotations

from arq import create_pool
from arq.connections import ArqRedis

from gateway.redis import arq_redis_settings

QUEUE_NAME = "gateway:queue"


async def open_pool(redis_url: str) -> ArqRedis:
    """An ARQ Redis pool whose enqueues land on the gateway's queue."""
    return await create_pool(arq_redis_settings(redis_url), default_queue_name=QUEUE_NAME)
