"""Operator commands run the real flows against the fakes: tick, sweep, backfill, dead letters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from gateway.models import SyncStatus
from gateway.settings import ENV_PREFIX
from tests.world import World


def gateway(world: World, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env.update(
        {
            "GATEWAY_DATABASE_URL": world.settings.effective_database_url,
            "GATEWAY_REDIS_URL": world.settings.redis_url or "",
            "GATEWAY_DATA_DIR": str(world.settings.data_dir),
            "COLUMNS": "200",
        }
    )
    if "GATEWAY_CLOCK_OFFSET_FILE" in os.environ:
        env["GATEWAY_CLOCK_OFFSET_FILE"] = os.environ["GATEWAY_CLOCK_OFFSET_FILE"]
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_tick_and_sweep_commands(world: World) -> None:
    world.add_domain()
    world.pf.create_task("Welcome lunch")
    world.pf.create_task("Order laptop")

    ticked = gateway(world, "tick", "acme")
    assert ticked.returncode == 0, ticked.stderr
    assert "acme: ok; 2 open, 2 created" in ticked.stdout
    assert len(world.issues()) == 2

    world.jira.webhooks.set_faults(drop_rate=1.0)
    for issue in world.issues():
        world.jira.transition(issue["key"], to_category="done")
    swept = gateway(world, "sweep", "acme", "--json")
    assert swept.returncode == 0, swept.stderr
    [report] = json.loads(swept.stdout)
    assert report["repaired"] == 2
    assert all(t["completed"] for t in world.pf.tasks.values())


async def test_unknown_domain_is_one_clear_line(world: World) -> None:
    result = gateway(world, "tick", "nope")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: no domain named 'nope' (see `gateway domain list`)"
    ]


async def test_paused_domain_can_be_ticked_by_hand(world: World) -> None:
    world.add_domain(is_active=False)
    world.pf.create_task("Welcome lunch")
    result = gateway(world, "tick", "acme")
    assert result.returncode == 0, result.stderr
    assert "paused" in result.stderr
    assert len(world.issues()) == 1


async def test_dead_letter_commands(world: World) -> None:
    world.add_domain()
    world.jira.require_field("HR", "Task", "priority")
    task = world.pf.create_task("Welcome lunch")
    assert gateway(world, "tick", "acme").returncode == 0

    listed = gateway(world, "deadletter", "list", "--json")
    [letter] = json.loads(listed.stdout)
    assert letter["pf_task_id"] == task["id"] and letter["error_status"] == 400

    still_broken = gateway(world, "deadletter", "replay", str(letter["id"]))
    assert still_broken.returncode == 1
    assert "failed again" in still_broken.stdout

    world.jira.require_field("HR", "Task", "priority", required=False)
    replayed = gateway(world, "deadletter", "replay", str(letter["id"]))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert world.issues_by_task() == {task["id"]: 1}
    assert json.loads(gateway(world, "deadletter", "list", "--json").stdout) == []

    again = gateway(world, "deadletter", "discard", str(letter["id"]))
    assert again.returncode == 1
    assert "already closed" in again.stderr


async def test_backfill_releases_historical_tasks(world: World) -> None:
    world.add_domain(sync_since=datetime(2026, 6, 1, tzinfo=UTC))
    old = world.pf.create_task("Old task", created_at="2026-01-10T09:00:00Z")
    newer = world.pf.create_task("Spring task", created_at="2026-04-10T09:00:00Z")
    await world.tick()
    assert world.issues() == []
    assert {s.status for s in world.states().values()} == {SyncStatus.HISTORICAL}

    result = gateway(world, "backfill", "acme", "--since", "2026-03-01")
    assert result.returncode == 0, result.stderr
    assert "1 historical tasks released" in result.stdout
    await world.tick()
    assert world.issues_by_task() == {newer["id"]: 1}
    assert world.states()[old["id"]].status == SyncStatus.HISTORICAL


async def test_tick_shows_the_progress_of_an_initial_sync(world: World) -> None:
    import re

    world.add_domain(max_concurrency=4)  # the window's cap: four at a time at most
    for n in range(40):
        world.pf.create_task(f"Onboarding step {n}")
    world.jira_faults.set_latency(0.2)  # 40 creates, 4 at a time: a few seconds
    ticked = gateway(world, "tick", "acme", "--progress")
    world.jira_faults.clear()
    assert ticked.returncode == 0, ticked.stderr
    assert "acme: ok; 40 open, 40 created" in ticked.stdout
    lines = [line for line in ticked.stderr.splitlines() if line.startswith("progress: ")]
    assert lines[0] == "progress: 0/40 tasks, 0 created", ticked.stderr
    moving = [
        re.fullmatch(r"progress: (\d+)/40 tasks, (\d+) created, [\d.]+ tasks/s", line)
        for line in lines[1:]
    ]
    assert moving and all(moving), lines
    # Done and created only grow (created may run ahead of done: four tasks at a time).
    done = [int(m.group(1)) for m in moving if m]
    created = [int(m.group(2)) for m in moving if m]
    assert done == sorted(done) and done[0] > 0 and done[-1] <= 40
    assert created == sorted(created) and 0 < created[-1] <= 40
