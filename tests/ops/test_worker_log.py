"""A real `gateway worker` process's log after a small story: quiet, whole, one line per write.

Three tasks are created, one is renamed, one issue is done in Jira and its webhook job
completes the task; then the domain is paused and a webhook job for it is skipped.
The log is read as the operator would: every line is JSON, each write has one INFO
line naming the issue key, and the scheduler and heartbeat say nothing at INFO.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from gateway.jobs import ISSUE_EVENT_JOB
from gateway.settings import ENV_PREFIX
from tests.ops.test_metrics_after_a_story import eventually
from tests.world import World


def worker_environment(world: World) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update(
        {
            "GATEWAY_DATABASE_URL": world.settings.effective_database_url,
            "GATEWAY_REDIS_URL": world.settings.redis_url or "",
            "GATEWAY_DATA_DIR": str(world.settings.data_dir),
            "GATEWAY_SCHEDULER_INTERVAL_SECONDS": "1",
            "GATEWAY_LOG_FORMAT": "json",
            "GATEWAY_LOG_LEVEL": "INFO",
        }
    )
    return env


def issue_of(world: World, task_id: int) -> dict[str, Any]:
    """The one Jira issue whose lineage names the task."""
    (issue,) = world.issues_grouped_by_task()[task_id]
    return issue


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every line of the log as JSON; a line that is not JSON fails the test here."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def info_lines(entries: list[dict[str, Any]], logger: str) -> list[dict[str, Any]]:
    return [e for e in entries if e["logger"] == logger and e["level"] == "info"]


async def test_worker_log_has_one_info_line_per_write(world: World, tmp_path: Path) -> None:
    world.add_domain(poll_interval_seconds=1)
    tasks = [world.pf.create_task(f"Onboarding step {n}")["id"] for n in range(3)]
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log_file:
        worker = subprocess.Popen(
            [sys.executable, "-W", "always", "-m", "gateway.cli", "worker"],
            env=worker_environment(world),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            await eventually(lambda: len(world.issues()) == 3, "three issues")
            world.pf.edit_task(tasks[0], title="Onboarding step zero")
            await eventually(
                lambda: "zero" in issue_of(world, tasks[0])["summary"], "the rename in Jira"
            )
            done = issue_of(world, tasks[1])
            world.jira.transition(done["key"], to_category="done")
            await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, done["id"])
            await eventually(lambda: world.pf.tasks[tasks[1]]["completed"], "the completion")
            world.update_domain(is_active=False)
            await world.pool.enqueue_job(ISSUE_EVENT_JOB, world.domain_id, done["id"])
            await eventually(lambda: "is paused" in log_path.read_text(), "the skipped job")
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)

    entries = read_log(log_path)
    keys = {task: issue_of(world, task)["key"] for task in tasks}
    writes = [e["message"] for e in info_lines(entries, "gateway.sync.writes")]
    assert sorted(writes) == sorted(
        [
            *(f"created {keys[task]} for task {task}" for task in tasks),
            f"updated {keys[tasks[0]]} for task {tasks[0]} (changed: summary)",
            f"completed task {tasks[1]} from {keys[tasks[1]]}",
        ]
    )
    # The issue_key field holds the key (IT-8), never the numeric id.
    created = [e for e in entries if e["message"].startswith("created ")]
    assert {(e["task_id"], e["issue_key"]) for e in created} == set(keys.items())
    # Nothing routine at INFO: no scheduler, heartbeat or migration narration.
    routine = [
        e
        for e in entries
        if e["level"] == "info"
        and (
            "schedule_due_work" in e["message"]
            or "record_heartbeat" in e["message"]
            or e["logger"].startswith("alembic")
        )
    ]
    assert routine == []
    # The tick's summary is whole, and ARQ's truncated result line is not written.
    worker_lines = [e["message"] for e in info_lines(entries, "gateway.worker")]
    ticks = [message for message in worker_lines if message.startswith("tick of")]
    assert any("3 created" in message for message in ticks), ticks
    assert not [e for e in entries if "'created':" in e["message"]]
    # The start line names the worker in its own field (presence and recovery use that id).
    (started,) = [
        e for e in info_lines(entries, "gateway.worker") if e["message"] == "worker started"
    ]
    assert started["worker"] and "job_id" not in started
    skipped = [e for e in info_lines(entries, "gateway.worker") if "is paused" in e["message"]]
    assert len(skipped) == 1 and skipped[0]["issue_id"] == done["id"]


def test_python_warnings_are_log_lines_in_the_chosen_format() -> None:
    script = (
        "import warnings\n"
        "from gateway.logs import configure_logging\n"
        "configure_logging('INFO', 'json')\n"
        "warnings.warn('an old API', DeprecationWarning, stacklevel=1)\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert [(e["logger"], e["level"]) for e in lines] == [("py.warnings", "warning")]
    assert "an old API" in lines[0]["message"]
