"""The story the demo plays: HR and Jira users at work, while things go wrong.

Time is story time (real time multiplied by ``--speed``). Every beat someone does
something: new tasks arrive, HR edits or completes tasks, Jira users start and
close issues. A repeating fault schedule loses a share of Jira's webhooks, cuts
Jira off for a while, then lets the sweeper repair what the lost webhooks left.
"""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime

from arq.connections import ArqRedis

from fakes.jira_fields import JiraError
from gateway.demo.stack import Stack
from gateway.jobs import SWEEP_JOB, sweep_job_id

BEAT_SECONDS = 2.0
CYCLE_SECONDS = 60.0
DROP_WINDOW = (10.0, 40.0)
PARTITION_WINDOW = (22.0, 30.0)
SWEEP_AT = 45.0
WEBHOOK_DROP_RATE = 0.35
DONE = "done"
IN_PROGRESS = "indeterminate"


@dataclass(frozen=True)
class Happening:
    """One line of the story log."""

    at: datetime
    who: str
    text: str


class Story:
    """Drives the fakes like people and operators would; ``beat()`` advances it."""

    def __init__(
        self, stack: Stack, pool: ArqRedis, domain_id: int, *, seed: int, speed: float
    ) -> None:
        self.stack = stack
        self.pool = pool
        self.domain_id = domain_id
        self.rng = random.Random(seed)
        self.speed = speed
        self.started = time.monotonic()
        self.counts: Counter[str] = Counter()
        self.log: deque[Happening] = deque(maxlen=8)
        self.dropping = False
        self.partitioned = False
        self.swept_cycles: set[int] = set()
        self.next_beat = 0.0

    def story_time(self) -> float:
        return (time.monotonic() - self.started) * self.speed

    def say(self, who: str, text: str) -> None:
        self.log.append(Happening(self.stack.clock.now(), who, text))

    # -- the schedule ----------------------------------------------------------------

    async def advance(self) -> None:
        """Apply the fault schedule for now, then play every beat that is due."""
        now = self.story_time()
        cycle, phase = divmod(now, CYCLE_SECONDS)
        self._set_dropping(DROP_WINDOW[0] <= phase < DROP_WINDOW[1])
        self._set_partition(PARTITION_WINDOW[0] <= phase < PARTITION_WINDOW[1])
        if phase >= SWEEP_AT and int(cycle) not in self.swept_cycles:
            self.swept_cycles.add(int(cycle))
            await self.trigger_sweep("the scheduled sweep runs")
        while self.next_beat <= now:
            self.next_beat += BEAT_SECONDS
            self.act()

    def _set_dropping(self, on: bool) -> None:
        if on == self.dropping:
            return
        self.dropping = on
        rate = WEBHOOK_DROP_RATE if on else 0.0
        self.stack.jira.webhooks.set_faults(drop_rate=rate)
        if on:
            self.say("network", f"Jira starts losing {rate:.0%} of its webhooks")
        else:
            self.say("network", "Jira's webhooks arrive reliably again")

    def _set_partition(self, on: bool) -> None:
        if on == self.partitioned:
            return
        self.partitioned = on
        if on:
            self.stack.jira_faults.partition("refuse")
            self.counts["outages"] += 1
            self.say("network", "Jira is unreachable (outage starts)")
        else:
            self.stack.jira_faults.heal()
            self.say("network", "Jira is reachable again (outage over)")

    async def trigger_sweep(self, reason: str) -> None:
        """Queue the zombie sweep now, as its daily schedule would."""
        await self.pool.enqueue_job(SWEEP_JOB, self.domain_id, _job_id=sweep_job_id(self.domain_id))
        self.counts["sweeps"] += 1
        self.say("operator", reason)

    def heal(self) -> None:
        """End every fault (the finale)."""
        self._set_dropping(False)
        self._set_partition(False)
        self.stack.jira_faults.clear()
        self.stack.jira.webhooks.clear_faults()

    # -- people ----------------------------------------------------------------------

    def act(self) -> None:
        """One thing someone does."""
        roll = self.rng.random()
        try:
            if roll < 0.2:
                self.new_tasks()
            elif roll < 0.4:
                self.hr_edits()
            elif roll < 0.55:
                self.hr_completes()
            elif roll < 0.9:
                self.jira_closes()
            else:
                self.jira_starts()
        except (JiraError, KeyError, ValueError) as error:
            self.say("story", f"skipped: {error}")

    def _open_tasks(self) -> list[dict]:
        return self.stack.pf.list_tasks(completed=False)

    def new_tasks(self) -> None:
        made = self.stack.pf.seed_tasks(self.rng.randint(1, 2), rng=self.rng)
        self.counts["hr_created"] += len(made)
        titles = ", ".join(repr(task["title"]) for task in made)
        self.say("HR", f"creates {titles}")

    def hr_edits(self) -> None:
        tasks = self._open_tasks()
        if not tasks:
            return
        task = self.rng.choice(tasks)
        if self.rng.random() < 0.5:
            title = task["title"].removesuffix(" (urgent)") + " (urgent)"
            self.stack.pf.edit_task(task["id"], title=title)
            self.say("HR", f"marks task {task['id']} urgent")
        else:
            self.stack.pf.edit_task(
                task["id"],
                description=f"<p>Updated checklist, revision {self.rng.randint(2, 9)}</p>",
            )
            self.say("HR", f"rewrites the description of task {task['id']}")
        self.counts["hr_edited"] += 1

    def hr_completes(self) -> None:
        tasks = self._open_tasks()
        if not tasks:
            return
        task = self.rng.choice(tasks)
        self.stack.pf.complete_task(task["id"])
        self.counts["hr_completed"] += 1
        self.say("HR", f"completes task {task['id']} in PeopleForce")

    def _tracked_issues(self, *, done: bool) -> list[dict]:
        return [
            issue
            for issue in self.stack.jira.dump()["issues"]
            if "PeopleForce" in issue["labels"] and (issue["status_category"] == DONE) == done
        ]

    def jira_closes(self) -> None:
        issues = self._tracked_issues(done=False)
        if not issues:
            return
        issue = self.rng.choice(issues)
        steps = self.stack.jira.transition(issue["key"], to_category=DONE)
        self.counts["jira_closed"] += 1
        self.say("Jira user", f"closes {issue['key']} via {' -> '.join(steps)}")

    def jira_starts(self) -> None:
        issues = [
            i for i in self._tracked_issues(done=False) if i["status_category"] != IN_PROGRESS
        ]
        if not issues:
            return
        issue = self.rng.choice(issues)
        self.stack.jira.transition(issue["key"], to_category=IN_PROGRESS)
        self.counts["jira_started"] += 1
        self.say("Jira user", f"starts work on {issue['key']}")
