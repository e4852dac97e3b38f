"""The retry loop at its edges: exact policies, exact back-off, what the operator sees.

Written against the mutants ``make mutate`` found alive: bounds off by one, the
previous delay lost, a cause dropped, and log lines or events with the wrong words.
"""

from __future__ import annotations

import logging
import random
from typing import Any

import httpx
import pytest

from gateway.clients.errors import TransientUpstreamError
from gateway.clients.retry import Jitter, RetryEvent, RetryPolicy, Send, send_with_retries

from .conftest import RecordingSleep

URL = "https://acme.atlassian.test/rest/api/3/issue/1?fields=status"
PATH = "/rest/api/3/issue/1"


def policy(sleep: RecordingSleep, **values: object) -> RetryPolicy:
    defaults: dict[str, object] = {"max_attempts": 3, "base_delay": 0.1, "max_delay": 10.0}
    return RetryPolicy(sleep=sleep, rng=random.Random(3), **(defaults | values))  # ty: ignore[invalid-argument-type]


async def send_jira_get(send: Send, *, policy: RetryPolicy, **overrides: Any) -> httpx.Response:
    """``send_with_retries`` for an idempotent Jira GET, unless ``overrides`` say otherwise."""
    arguments: dict[str, Any] = {
        "service": "jira",
        "method": "GET",
        "url": URL,
        "idempotent": True,
    }
    return await send_with_retries(send, policy=policy, **(arguments | overrides))


def answers(*outcomes: int | Exception):
    calls: list[int] = []

    async def send() -> httpx.Response:
        outcome = outcomes[min(len(calls), len(outcomes) - 1)]
        calls.append(1)
        if isinstance(outcome, Exception):
            raise outcome
        headers = {"Retry-After": "2"} if outcome == 429 else {}
        return httpx.Response(outcome, headers=headers, request=httpx.Request("GET", URL))

    return send, calls


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"base_delay": -0.1}, "delays must not be negative"),
        ({"base_delay": 0.0, "max_delay": -1.0}, "delays must not be negative"),
        ({"max_retry_after": -1.0}, "delays must not be negative"),
        ({"base_delay": 2.0, "max_delay": 1.0}, "base_delay must not exceed max_delay"),
    ],
)
def test_invalid_policies_say_why(values: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        RetryPolicy(**values)  # ty: ignore[invalid-argument-type]


def test_the_smallest_valid_policies_are_accepted() -> None:
    RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0, max_retry_after=0.0)
    RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.5, max_retry_after=0.5)


def test_without_jitter_the_delay_doubles_from_the_base() -> None:
    plain = RetryPolicy(base_delay=0.5, max_delay=1e300, jitter=Jitter.NONE)
    assert [plain.backoff(n) for n in (0, 1, 2, 3, 4)] == [0.5, 0.5, 1.0, 2.0, 4.0]
    assert plain.backoff(63) == plain.backoff(64) == 0.5 * 2.0**62


def test_decorrelated_jitter_grows_from_the_previous_delay() -> None:
    class Highest(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    tight = RetryPolicy(base_delay=1.0, max_delay=100.0, jitter=Jitter.DECORRELATED, rng=Highest())
    assert tight.backoff(1, None) == 3.0
    assert tight.backoff(2, 5.0) == 15.0
    assert tight.delay(2, 5.0, None) == 15.0


def test_a_negative_retry_after_counts_as_zero() -> None:
    plain = RetryPolicy(base_delay=0.25, max_delay=1.0, jitter=Jitter.NONE)
    assert plain.delay(1, None, -5.0) == 0.25
    assert plain.delay(1, None, 0.5) == 0.5


async def test_each_retry_waits_its_delay_and_reports_it() -> None:
    sleep = RecordingSleep()
    events: list[RetryEvent] = []
    rules = policy(sleep, jitter=Jitter.DECORRELATED, on_retry=events.append)
    send, calls = answers(503, 429, 200)

    response = await send_with_retries(
        send, service="jira", method="GET", url=URL, policy=rules, idempotent=True
    )

    assert response.status_code == 200 and len(calls) == 3
    assert [e.attempt for e in events] == [1, 2]
    assert [e.status for e in events] == [503, 429]
    assert [e.delay for e in events] == sleep.delays
    assert all((e.service, e.method, e.path) == ("jira", "GET", PATH) for e in events)
    assert sleep.delays[1] >= 2.0, "the 429's Retry-After is the minimum"
    assert isinstance(events[0].error, TransientUpstreamError)
    assert events[0].error.status == 503 and events[0].error.service == "jira"


async def test_the_previous_delay_feeds_decorrelated_jitter() -> None:
    class Recording(RetryPolicy):
        previous: list[float | None]

        def backoff(self, attempt: int, previous: float | None = None) -> float:
            self.previous.append(previous)
            return 0.5 * attempt

    sleep = RecordingSleep()
    rules = Recording(max_attempts=4, base_delay=0.1, max_delay=10.0, sleep=sleep)
    object.__setattr__(rules, "previous", [])
    send, _ = answers(500, 500, 500, 200)
    await send_with_retries(
        send, service="jira", method="GET", url=URL, policy=rules, idempotent=True
    )
    assert rules.previous == [None, 0.5, 1.0]
    assert sleep.delays == [0.5, 1.0, 1.5]


async def test_a_transport_failure_keeps_its_cause_and_its_request() -> None:
    sleep = RecordingSleep()
    failure = httpx.ConnectError("refused")
    send, _ = answers(failure)
    with pytest.raises(TransientUpstreamError) as raised:
        await send_jira_get(send, service="peopleforce", method="PUT", policy=policy(sleep))
    error = raised.value
    assert error.__cause__ is failure
    assert (error.service, error.method, error.status) == ("peopleforce", "PUT", None)
    assert str(error.url).startswith("https://acme.atlassian.test/rest/api/3/issue/1")


async def test_an_http_failure_names_its_service() -> None:
    send, _ = answers(400)
    with pytest.raises(Exception) as raised:
        await send_jira_get(send, policy=policy(RecordingSleep()))
    assert getattr(raised.value, "service", None) == "jira"
    assert raised.value.__cause__ is None


async def test_retries_and_giving_up_are_logged_for_the_operator(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sleep = RecordingSleep()
    send, _ = answers(httpx.ReadTimeout("slow"), 503)
    caplog.set_level(logging.INFO, logger="gateway.clients")
    with pytest.raises(TransientUpstreamError):
        await send_jira_get(send, policy=policy(sleep, max_attempts=2))
    [retry, give_up] = caplog.records
    assert retry.getMessage() == (
        f"retrying jira GET {PATH} after status transport-error in "
        f"{sleep.delays[0]:.2f}s (attempt 1 of 2)"
    )
    assert (retry.service, retry.method, retry.path, retry.status, retry.delay) == (  # ty: ignore[missing-attribute]
        "jira",
        "GET",
        PATH,
        None,
        sleep.delays[0],
    )
    assert give_up.levelno == logging.WARNING
    assert give_up.getMessage() == f"giving up on jira GET {PATH} after 2 attempts (status 503)"
    assert (give_up.service, give_up.method, give_up.path) == ("jira", "GET", PATH)  # ty: ignore[missing-attribute]


async def test_a_failure_on_the_first_attempt_is_not_logged_as_giving_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    send, _ = answers(503)
    caplog.set_level(logging.INFO, logger="gateway.clients")
    with pytest.raises(TransientUpstreamError):
        await send_jira_get(send, method="POST", policy=policy(RecordingSleep()), idempotent=False)
    assert caplog.records == []


SECRET = "tok-5ecret-abcdef"


async def test_secrets_are_redacted_from_transport_errors() -> None:
    send, _ = answers(httpx.ConnectError(f"refused while sending {SECRET}"))
    with pytest.raises(TransientUpstreamError) as raised:
        await send_jira_get(send, policy=policy(RecordingSleep(), max_attempts=1), secrets=[SECRET])
    message = str(raised.value)
    assert "ConnectError: refused while sending" in message
    assert SECRET not in message


async def test_secrets_are_redacted_from_error_answers() -> None:
    async def send() -> httpx.Response:
        return httpx.Response(
            400,
            json={"errorMessages": [f"bad token {SECRET}"]},
            request=httpx.Request("GET", URL),
        )

    with pytest.raises(Exception) as raised:
        await send_jira_get(send, policy=policy(RecordingSleep()), secrets=[SECRET])
    message = str(raised.value)
    assert "bad token" in message
    assert SECRET not in message
