"""Back-off maths and the retry loop, with an injected sleep (nothing waits)."""

from __future__ import annotations

import logging
import random

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.clients.errors import PermanentUpstreamError, TransientUpstreamError
from gateway.clients.retry import Jitter, RetryEvent, RetryPolicy, send_with_retries

from .conftest import RecordingSleep

URL = "https://acme.atlassian.test/rest/api/3/issue/1?fields=status"


def scripted(*outcomes: int | Exception):
    """A ``send`` callable answering the given statuses (or raising) in order."""
    calls: list[int] = []

    async def send() -> httpx.Response:
        outcome = outcomes[min(len(calls), len(outcomes) - 1)]
        calls.append(1)
        if isinstance(outcome, Exception):
            raise outcome
        return httpx.Response(outcome, request=httpx.Request("GET", URL))

    return send, calls


@given(
    attempt=st.integers(min_value=1, max_value=200),
    base=st.floats(min_value=0.0, max_value=5.0),
    cap=st.floats(min_value=5.0, max_value=60.0),
    seed=st.integers(),
    jitter=st.sampled_from(list(Jitter)),
    previous=st.none() | st.floats(min_value=0.0, max_value=120.0),
)
def test_backoff_never_exceeds_cap(
    attempt: int, base: float, cap: float, seed: int, jitter: Jitter, previous: float | None
) -> None:
    policy = RetryPolicy(base_delay=base, max_delay=cap, jitter=jitter, rng=random.Random(seed))
    delay = policy.backoff(attempt, previous)
    assert 0.0 <= delay <= cap


def test_full_jitter_stays_under_the_exponential_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0, rng=random.Random(1))
    for attempt in range(1, 12):
        ceiling = min(30.0, 0.5 * 2 ** (attempt - 1))
        assert all(0 <= policy.backoff(attempt) <= ceiling for _ in range(50))


def test_decorrelated_jitter_stays_between_base_and_cap() -> None:
    policy = RetryPolicy(jitter=Jitter.DECORRELATED, rng=random.Random(3))
    previous = None
    for attempt in range(1, 30):
        previous = policy.backoff(attempt, previous)
        assert 0.5 <= previous <= 30.0


@given(retry_after=st.floats(min_value=0, max_value=10_000), seed=st.integers())
def test_retry_after_is_a_clamped_minimum(retry_after: float, seed: int) -> None:
    policy = RetryPolicy(rng=random.Random(seed), max_retry_after=300.0)
    delay = policy.delay(3, None, retry_after)
    assert delay >= min(retry_after, 300.0)
    assert delay <= max(300.0, policy.max_delay)


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=10, max_delay=1)


async def test_idempotent_call_retried_until_success(
    policy: RetryPolicy, sleep: RecordingSleep, retry_events: list[RetryEvent]
) -> None:
    send, calls = scripted(503, 502, 200)
    result = await send_with_retries(
        send, service="jira", method="GET", url=URL, policy=policy, idempotent=True
    )
    assert result.status_code == 200
    assert len(calls) == 3
    assert len(sleep.delays) == 2
    assert [(e.attempt, e.status, e.path) for e in retry_events] == [
        (1, 503, "/rest/api/3/issue/1"),
        (2, 502, "/rest/api/3/issue/1"),
    ]


@pytest.mark.parametrize(
    ("status", "method", "idempotent", "raised"),
    [
        pytest.param(503, "POST", False, TransientUpstreamError, id="non-idempotent-call"),
        pytest.param(400, "GET", True, PermanentUpstreamError, id="permanent-error"),
    ],
)
async def test_tried_once(
    policy: RetryPolicy,
    sleep: RecordingSleep,
    status: int,
    method: str,
    idempotent: bool,
    raised: type[Exception],
) -> None:
    """A non-idempotent call is not retried on a 5xx, nor any call on a permanent error."""
    send, calls = scripted(status, 200)
    with pytest.raises(raised):
        await send_with_retries(
            send, service="jira", method=method, url=URL, policy=policy, idempotent=idempotent
        )
    assert len(calls) == 1
    assert sleep.delays == []


async def test_non_idempotent_call_retried_only_when_refused_with_429(
    policy: RetryPolicy, sleep: RecordingSleep
) -> None:
    send, calls = scripted(429, 200)
    result = await send_with_retries(
        send, service="jira", method="POST", url=URL, policy=policy, idempotent=False
    )
    assert result.status_code == 200
    assert len(calls) == 2
    strict = RetryPolicy(retry_refused_writes=False, sleep=sleep)
    send, calls = scripted(429, 200)
    with pytest.raises(TransientUpstreamError):
        await send_with_retries(
            send, service="jira", method="POST", url=URL, policy=strict, idempotent=False
        )
    assert len(calls) == 1


async def test_gives_up_after_max_attempts(sleep: RecordingSleep) -> None:
    policy = RetryPolicy(max_attempts=4, sleep=sleep, rng=random.Random(0))
    send, calls = scripted(503)
    with pytest.raises(TransientUpstreamError) as caught:
        await send_with_retries(
            send, service="peopleforce", method="GET", url=URL, policy=policy, idempotent=True
        )
    assert caught.value.status == 503
    assert len(calls) == 4
    assert len(sleep.delays) == 3


async def test_transport_error_then_success(policy: RetryPolicy, sleep: RecordingSleep) -> None:
    send, _calls = scripted(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), 200)
    result = await send_with_retries(
        send, service="jira", method="GET", url=URL, policy=policy, idempotent=True
    )
    assert result.status_code == 200
    assert len(sleep.delays) == 2


async def test_retry_is_logged_without_query_or_headers(
    policy: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    send, _calls = scripted(429, 200)
    with caplog.at_level(logging.INFO, logger="gateway.clients"):
        await send_with_retries(
            send, service="jira", method="GET", url=URL, policy=policy, idempotent=True
        )
    [record] = [r for r in caplog.records if r.name == "gateway.clients"]
    message = record.getMessage()
    assert "jira GET /rest/api/3/issue/1 after status 429" in message
    assert "fields=status" not in message
    assert record.__dict__["status"] == 429
