"""Each human-drift scenario FAILS when the reconcile pass is left out.

Nothing else notices what people do in Jira to an open issue (a removed label, a
move, a deletion of an issue whose task does not change, a reopen, an edited
field): the ``skip_reconcile`` knob takes the pass away and each scenario's own
check breaks.
"""

from __future__ import annotations

from scenarios import Knobs, ScenarioResult, run_scenario

OFF = Knobs(skip_reconcile=True)


def failing(name: str, *checks: str) -> ScenarioResult:
    """Run ``name`` (seed 1, 8 tasks) without the reconciler; each of ``checks`` fails."""
    result = run_scenario(name, seed=1, tasks=8, knobs=OFF)
    assert not result.passed
    failed = {c.name for c in result.checks if not c.ok}
    for check in checks:
        assert check in failed, (check, result.reasons)
    return result


def test_label_removed_without_the_reconciler_fails() -> None:
    result = failing(
        "label-removed", "labels restored", "closed victims completed", "completion agrees"
    )
    assert result.disagreements > 0


def test_issue_moved_without_the_reconciler_fails() -> None:
    failing("issue-moved", "mappings follow the new keys", "each move audited once")


def test_issue_deleted_quietly_without_the_reconciler_fails() -> None:
    result = failing("issue-deleted-quietly", "recreated exactly once", "one issue per task")
    assert result.issues_per_task[0] > 0


def test_reopened_in_jira_without_the_reconciler_fails() -> None:
    failing(
        "reopened-in-jira",
        "'incomplete' reopens the task",
        "'leave' audits each reopen once",
        "completion agrees",
    )


def test_field_edited_in_jira_without_the_reconciler_fails() -> None:
    failing(
        "field-edited-in-jira",
        "'leave' audits each edit once",
        "'overwrite' writes the task's title back",
    )
