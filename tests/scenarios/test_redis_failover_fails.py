"""redis-failover FAILS when the gateway cannot follow Sentinel to the new master.

Sentinel support is switched off from outside: the API and the workers are given
the first primary's plain URL instead of the sentinels. The sentinels still promote
the replica, but nothing of the gateway reaches it.
"""

from __future__ import annotations

from scenarios import Knobs, run_scenario


def test_redis_failover_without_sentinel_support_fails() -> None:
    result = run_scenario("redis-failover", seed=1, tasks=8, knobs=Knobs(sentinel=False))
    outcome = {check.name: check.ok for check in result.checks}
    assert outcome["the sentinels promoted the replica"], "the failover itself must work"
    assert not result.passed
    assert not outcome[
        "deliveries in the failover window were answered 503 and retried until accepted"
    ]
    assert not outcome["every task synced"]
