"""Hypothesis explores interleavings of people, faults and the gateway; the guarantees hold.

Each example assembles the real system (``scenarios.harness``: fakes on
loopback, the gateway API, real ARQ workers in-process, embedded Redis,
migrated SQLite) and applies a random sequence of rules: HR creates, edits,
completes and reopens tasks; people close and reopen issues, and drift them the
way people do in Jira (strip the tracking label, move an issue to the other
project, delete it, edit its summary); webhook delivery faults (drop, duplicate,
reorder) apply to the deliveries that follow; partitions start and stop; the
Jira token or the PeopleForce key is revoked and restored (the domain's circuit
breaker opens and closes); ticks, deliveries, webhook jobs, sweeps and reconcile
passes run; a tick "crashes" (every Jira request is processed and its answer
lost). At teardown every fault heals, every credential is restored, the system
settles, one reconcile pass and one sweep run, and the
guarantees are asserted: one issue per open task and never two, completion
agrees for every pair, zero writes at rest.

People never reopen an issue in Jira while its task is completed in
PeopleForce: under the default ``leave`` policy that pair disagrees by design
(tested in tests/gateway/sync/test_inbound.py), so it is not generated. Nor do
they strip the label of an issue whose create answer was lost before the gateway
recorded it: the orphan search can only find such an issue by its label (entity
properties are not searchable), so that window of seconds is a known limit.

A targeted rule makes the rarest dangerous path one step long: a create whose
answer is lost ("crash after Jira acted") followed at once by HR completing,
deleting, or completing and reopening the task, so the orphan must be adopted
on the completion/deletion path. CI's fixed examples are checked to reach it.

CI runs a few fixed examples (about a minute); ``make soak`` (or
``GATEWAY_SOAK_EXAMPLES=500``, optionally ``GATEWAY_SOAK_STEPS``) runs a long,
randomised soak.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gateway.clients.retry import RetryPolicy
from gateway.demo.records import JIRA_TOKEN, PF_KEY
from gateway.redis import EmbeddedRedis
from scenarios.checks import (
    check_at_rest,
    check_completion_agrees,
    check_one_issue_per_task,
    repairs_reported,
)
from scenarios.harness import Harness, HarnessConfig
from scenarios.result import Knobs, RunContext

SOAK_EXAMPLES = int(os.environ.get("GATEWAY_SOAK_EXAMPLES", "0"))
SOAK_STEPS = int(os.environ.get("GATEWAY_SOAK_STEPS", "40"))
CI_EXAMPLES = 6
CI_STEPS = 15
MAX_TASKS = 8
BREAKER_PROBE_SECONDS = 300
SETTINGS = settings(
    max_examples=SOAK_EXAMPLES or CI_EXAMPLES,
    stateful_step_count=SOAK_STEPS if SOAK_EXAMPLES else CI_STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=not SOAK_EXAMPLES,
    print_blob=True,
)


class GatewayMachine(RuleBasedStateMachine):
    """Rules are the actions of people, the network and the gateway's own processes."""

    redis_url: str = ""
    lost_creates_finished: Counter[str] = Counter()
    """How often each finish followed a lost create, over the whole run (all examples)."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.h: Harness | None = None
        self.tasks: list[int] = []

    # --- plumbing --------------------------------------------------------------------------

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    @property
    def harness(self) -> Harness:
        assert self.h is not None
        return self.h

    def pick(self, candidates: list[int], index: int) -> int:
        return candidates[index % len(candidates)]

    def open_tasks(self) -> list[int]:
        tasks = self.harness.pf.tasks
        return [t for t in self.tasks if not tasks[t]["completed"]]

    def delete_task(self, task_id: int) -> None:
        """HR deletes a task; it leaves every PeopleForce list (the machine forgets it too)."""
        self.harness.counters.human_changes += 1
        self.harness.pf.delete_task(task_id)
        self.tasks.remove(task_id)

    def completed_tasks(self) -> list[int]:
        tasks = self.harness.pf.tasks
        return [t for t in self.tasks if tasks[t]["completed"]]

    def issues_in(self, category_done: bool, *, task_open: bool | None = None) -> list[int]:
        tasks = self.harness.pf.tasks
        found = []
        for task_id, issues in self.harness.issues_by_task().items():
            if task_id not in tasks or len(issues) != 1:
                continue
            if (issues[0]["status_category"] == "done") != category_done:
                continue
            if task_open is not None and tasks[task_id]["completed"] == task_open:
                continue
            found.append(task_id)
        return sorted(found)

    # --- setup and teardown ----------------------------------------------------------------

    @initialize(seed=st.integers(min_value=0, max_value=2**16))
    def start(self, seed: int) -> None:
        note(f"harness seed={seed}")
        policy = RetryPolicy(
            max_attempts=3, base_delay=0.01, max_delay=0.05, rng=random.Random(seed)
        )
        self.h = Harness(
            HarnessConfig(seed=seed, redis_url=self.redis_url, retry_policy=policy, page_size=5)
        )
        self.run(self.harness.start())

    def teardown(self) -> None:
        if self.h is None:
            self.loop.close()
            return
        try:
            self.run(self._converge_and_check())
        finally:
            self.run(self.harness.stop())
            self.loop.close()

    async def _converge_and_check(self) -> None:
        h = self.harness
        h.heal_all()
        h.jira.api_token, h.pf.api_key = JIRA_TOKEN, PF_KEY
        h.advance(BREAKER_PROBE_SECONDS)  # an open breaker's probe is due
        await h.settle()
        await h.reconcile()  # what people did in Jira that no webhook or sweep reports
        await h.settle()
        await h.sweep()
        await h.settle()
        ctx = RunContext(tasks=len(self.tasks), knobs=Knobs())
        check_one_issue_per_task(h, ctx)
        check_completion_agrees(h, ctx)
        await check_at_rest(h, ctx)
        failures = [f"{c.name}: {c.detail}" for c in ctx.checks if not c.ok]
        note(f"sweep repairs: {repairs_reported(h)}; notes: {h.counters.notes}")
        assert not failures, "; ".join(failures)

    @invariant()
    def never_two_issues_for_one_task(self) -> None:
        if self.h is None:
            return
        doubled = {t: len(i) for t, i in self.harness.issues_by_task().items() if len(i) > 1}
        assert not doubled, f"tasks with several issues: {doubled}"

    # --- people ----------------------------------------------------------------------------

    @precondition(lambda self: len(self.tasks) < MAX_TASKS)
    @rule()
    def hr_creates_a_task(self) -> None:
        self.tasks.append(self.harness.create_task()["id"])

    @precondition(lambda self: self.tasks)
    @rule(index=st.integers(0, MAX_TASKS - 1))
    def hr_edits_a_task(self, index: int) -> None:
        task_id = self.pick(self.tasks, index)
        self.harness.edit_task(task_id, description=f"<p>revision {random.random():.6f}</p>")

    @precondition(lambda self: self.open_tasks())
    @rule(index=st.integers(0, MAX_TASKS - 1))
    def hr_completes_a_task(self, index: int) -> None:
        self.harness.complete_task(self.pick(self.open_tasks(), index))

    @precondition(lambda self: self.completed_tasks())
    @rule(index=st.integers(0, MAX_TASKS - 1))
    def hr_reopens_a_task(self, index: int) -> None:
        self.harness.reopen_task(self.pick(self.completed_tasks(), index))

    @precondition(lambda self: self.tasks)
    @rule(index=st.integers(0, MAX_TASKS - 1))
    def hr_deletes_a_task(self, index: int) -> None:
        self.delete_task(self.pick(self.tasks, index))

    @precondition(lambda self: self.issues_in(False))
    @rule(index=st.integers(0, MAX_TASKS - 1))
    def someone_closes_an_issue(self, index: int) -> None:
        self.harness.close_issue(self.pick(self.issues_in(False), index))

    @precondition(lambda self: self.issues_in(True, task_open=True))
    @rule(index=st.integers(0, MAX_TASKS - 1))
    def someone_reopens_an_issue_of_an_open_task(self, index: int) -> None:
        self.harness.reopen_issue(self.pick(self.issues_in(True, task_open=True), index))

    # --- people drifting issues in Jira ------------------------------------------------------

    def tracked_issues(self) -> list[int]:
        return self.issues_in(False) + self.issues_in(True)

    def mapped_issues(self) -> list[int]:
        """Tasks whose issue the gateway has recorded (not an orphan of a lost create)."""
        states = self.harness.states()
        issues = self.harness.issues_by_task()
        return [
            t
            for t in self.tracked_issues()
            if t in states and states[t].jira_issue_id == issues[t][0]["id"]
        ]

    @precondition(lambda self: self.mapped_issues())
    @rule(index=st.integers(0, MAX_TASKS - 1))
    def someone_strips_the_label(self, index: int) -> None:
        self.harness.remove_label(self.pick(self.mapped_issues(), index))

    @precondition(lambda self: self.tracked_issues())
    @rule(index=st.integers(0, MAX_TASKS - 1))
    def someone_moves_an_issue(self, index: int) -> None:
        task_id = self.pick(self.tracked_issues(), index)
        project = self.harness.issue_of(task_id)["project"]
        self.harness.move_issue(task_id, "IT" if project == "HR" else "HR")

    @precondition(lambda self: self.tracked_issues())
    @rule(index=st.integers(0, MAX_TASKS - 1))
    def someone_deletes_an_issue(self, index: int) -> None:
        self.harness.delete_issue(self.pick(self.tracked_issues(), index))

    @precondition(lambda self: self.tracked_issues())
    @rule(index=st.integers(0, MAX_TASKS - 1))
    def someone_edits_a_summary(self, index: int) -> None:
        task_id = self.pick(self.tracked_issues(), index)
        self.harness.edit_issue(task_id, summary=f"Edited in Jira {random.random():.6f}")

    # --- faults ----------------------------------------------------------------------------

    @rule(
        drop=st.sampled_from([0.0, 0.5, 1.0]),
        duplicates=st.integers(0, 3),
        reorder=st.booleans(),
    )
    def webhook_faults_for_following_deliveries(
        self, drop: float, duplicates: int, reorder: bool
    ) -> None:
        self.harness.webhooks.set_faults(
            drop_rate=drop,
            duplicate_rate=1.0 if duplicates else 0.0,
            duplicate_count=max(1, duplicates),
            reorder=reorder,
        )

    @rule(service=st.sampled_from(["peopleforce", "jira"]), cut=st.booleans())
    def partition(self, service: str, cut: bool) -> None:
        h = self.harness
        plane = h.pf_faults if service == "peopleforce" else h.jira_faults
        if cut:
            plane.partition("refuse")
        else:
            plane.heal()

    @rule(service=st.sampled_from(["peopleforce", "jira"]), revoke=st.booleans())
    def a_credential_is_revoked_or_restored(self, service: str, revoke: bool) -> None:
        """An admin revokes the gateway's Jira token or PeopleForce key (or restores it)."""
        h = self.harness
        if service == "jira":
            h.jira.api_token = "revoked-token" if revoke else JIRA_TOKEN
        else:
            h.pf.api_key = "revoked-key" if revoke else PF_KEY

    @rule()
    def a_tick_crashes_after_jira_acted(self) -> None:
        """Every Jira request is processed and its answer lost, as if the worker died."""
        h = self.harness
        h.jira_faults.set_error_rate(1.0, status=502, after=True)
        try:
            self.run(h.tick())
        finally:
            h.jira_faults.set_error_rate(0.0)

    # One rule per way of finishing, so each weighs as much as any other rule: the drift
    # and credential rules made one rule with three finishes too rare to reach in CI.
    @precondition(lambda self: len(self.tasks) < MAX_TASKS)
    @rule()
    def a_create_is_lost_then_hr_completes_the_task(self) -> None:
        self.a_create_is_lost_then_hr_finishes_the_task("complete")

    @precondition(lambda self: len(self.tasks) < MAX_TASKS)
    @rule()
    def a_create_is_lost_then_hr_deletes_the_task(self) -> None:
        self.a_create_is_lost_then_hr_finishes_the_task("delete")

    @precondition(lambda self: len(self.tasks) < MAX_TASKS)
    @rule()
    def a_create_is_lost_then_hr_completes_and_reopens_the_task(self) -> None:
        self.a_create_is_lost_then_hr_finishes_the_task("complete-and-reopen")

    def a_create_is_lost_then_hr_finishes_the_task(self, finish: str) -> None:
        """Jira creates the issue, the answer is lost, and the task is finished at once."""
        h = self.harness
        task_id = h.create_task()["id"]
        self.tasks.append(task_id)
        self.a_tick_crashes_after_jira_acted()
        if finish == "delete":
            self.delete_task(task_id)
        else:
            h.complete_task(task_id)
            if finish == "complete-and-reopen":
                h.reopen_task(task_id)
        type(self).lost_creates_finished[finish] += 1

    # --- the gateway -----------------------------------------------------------------------

    @rule()
    def tick(self) -> None:
        self.run(self.harness.tick())

    @rule()
    def deliver_webhooks(self) -> None:
        self.run(self.harness.deliver())

    @rule()
    def run_webhook_jobs(self) -> None:
        self.run(self.harness.run_jobs(wait_deferred=False))

    @rule()
    def sweep(self) -> None:
        self.run(self.harness.sweep())

    @rule()
    def reconcile(self) -> None:
        self.run(self.harness.reconcile())


@pytest.fixture(scope="module")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("machine-redis"))
    yield server.ensure_running()
    server.stop()


def test_random_interleavings_converge(shared_redis: str) -> None:
    GatewayMachine.redis_url = shared_redis
    GatewayMachine.lost_creates_finished.clear()
    run_state_machine_as_test(GatewayMachine, settings=SETTINGS)
    if not SOAK_EXAMPLES:
        # CI's budget must reach the lost-create -> completion/deletion paths.
        reached = GatewayMachine.lost_creates_finished
        assert reached["complete"] and reached["delete"], f"lost creates finished: {reached}"
