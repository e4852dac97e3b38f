"""Every ARQ job name and job-id builder, in one place.

The API and CLI enqueue, the scheduler enqueues, the worker registers, and scenarios,
tests and benchmarks drive the same jobs: all of them import the names from here so a
rename cannot leave one producer talking to a function no worker serves. The queue
itself (its name and the pool that enqueues on it) lives here too.
"""

from __future__ import annotations

from arq.connections import ArqRedis

from gateway.redis import RedisTarget, create_arq_pool

QUEUE_NAME = "gateway:queue"

TICK_JOB = "sync_pf_to_jira_task"
SWEEP_JOB = "zombie_recovery_task"
REPLAY_JOB = "replay_dead_letter"
ISSUE_EVENT_JOB = "process_jira_issue_event"
RECONCILE_JOB = "reconcile_drift_task"


def tick_job_id(domain_id: int) -> str:
    """One queued tick per domain: a second enqueue with this id is refused by ARQ."""
    return f"tick:{domain_id}"


def sweep_job_id(domain_id: int) -> str:
    """One queued sweep per domain."""
    return f"sweep:{domain_id}"


def reconcile_job_id(domain_id: int) -> str:
    """One queued reconcile pass per domain."""
    return f"reconcile:{domain_id}"


def replay_job_id(dead_letter_id: int) -> str:
    """One queued replay per dead letter."""
    return f"replay:{dead_letter_id}"


async def open_pool(redis_url: RedisTarget) -> ArqRedis:
    """An ARQ Redis pool whose enqueues land on the gateway's queue."""
    return await create_arq_pool(redis_url, QUEUE_NAME)
