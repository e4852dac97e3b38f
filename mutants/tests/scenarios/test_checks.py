"""The detectors the scenarios rely on find what they claim to find."""

from __future__ import annotations

from scenarios.checks import concurrent_writes, retry_after_violations
from scenarios.probes import ProbedRequest
from scenarios.runner import normalised_counts


def probed(
    started: float,
    answered: float,
    *,
    status: int = 200,
    method: str = "POST",
    path: str = "/rest/api/3/issue",
    fingerprint: str = "a",
    task_id: int | None = 1,
    retry_after: float | None = None,
) -> ProbedRequest:
    return ProbedRequest(
        method=method,
        path=path,
        fingerprint=fingerprint,
        task_id=task_id,
        started=started,
        answered=answered,
        finished=answered,
        status=status,
        retry_after=retry_after,
    )


def test_a_repeat_before_retry_after_is_a_violation() -> None:
    early = [probed(0.0, 0.01, status=429, retry_after=1.0), probed(0.5, 0.6)]
    late = [probed(0.0, 0.01, status=429, retry_after=1.0), probed(1.02, 1.1)]
    assert len(retry_after_violations(early)) == 1
    assert retry_after_violations(late) == []


def test_other_requests_to_the_same_endpoint_may_follow_a_429() -> None:
    requests = [
        probed(0.0, 0.01, status=429, retry_after=1.0, fingerprint="task-1"),
        probed(0.02, 0.03, fingerprint="task-2"),
    ]
    assert retry_after_violations(requests) == []


def test_overlapping_writes_for_one_task_are_found() -> None:
    overlapping = [probed(0.0, 0.5), probed(0.2, 0.6, path="/rest/api/3/issue/1/transitions")]
    serial = [probed(0.0, 0.5), probed(0.6, 0.7)]
    other_tasks = [probed(0.0, 0.5, task_id=1), probed(0.2, 0.6, task_id=2)]
    reads = [probed(0.0, 0.5, method="GET"), probed(0.2, 0.6, method="GET")]
    assert len(concurrent_writes(overlapping)) == 1
    assert concurrent_writes(serial) == concurrent_writes(other_tasks) == []
    assert concurrent_writes(reads) == []


def test_raw_paths_fold_into_templates() -> None:
    counts = {
        ("GET", "/rest/api/3/issue/10005", 429): 2,
        ("GET", "/rest/api/3/issue/{issue_id_or_key}", 200): 3,
        ("PUT", "/tasks/11/complete", 429): 1,
    }
    assert normalised_counts(counts) == {
        ("GET", "/rest/api/3/issue/{id}", 429): 2,
        ("GET", "/rest/api/3/issue/{id}", 200): 3,
        ("PUT", "/tasks/{id}/complete", 429): 1,
    }
