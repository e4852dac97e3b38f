"""Telling a person's edit in Jira from Jira echoing what the gateway wrote (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.clients.models import JiraIssue
from gateway.models import DomainConfig, EditedFieldPolicy, ReopenPolicy
from gateway.sync.adf import text_to_adf
from gateway.sync.drift import edited_fields, fields_to_read, missing_labels, value_agrees
from gateway.sync.reconcile_repairs import TrackedRow, plan_repairs


@pytest.mark.parametrize(
    ("written", "current"),
    [
        ("Onboard Ada", "Onboard Ada"),
        ({"accountId": "a1"}, {"accountId": "a1", "displayName": "Ada", "active": True}),
        ({"value": "People"}, {"self": "x", "value": "People", "id": "10100"}),
        ("People", {"self": "x", "value": "People", "id": "10100"}),
        (5, 5.0),
        (
            text_to_adf("Hello"),
            {
                "type": "doc",
                "version": 1,
                "content": [
                    {
                        "type": "paragraph",
                        "attrs": {"localId": "x"},
                        "content": [{"type": "text", "text": "Hello"}],
                    }
                ],
            },
        ),
        (text_to_adf(""), None),
        ({"weird": 1}, {"other": 2}),
    ],
)
def test_what_jira_echoes_agrees(written: Any, current: Any) -> None:
    assert value_agrees(written, current)


@pytest.mark.parametrize(
    ("written", "current"),
    [
        ("Onboard Ada", "Renamed"),
        ({"accountId": "a1"}, {"accountId": "b2"}),
        ({"accountId": "a1"}, None),
        ("2030-01-01", "2031-01-31"),
        (True, 1),
        (text_to_adf("Hello"), text_to_adf("Bye")),
        (["a", "b"], ["a"]),
    ],
)
def test_a_persons_edit_disagrees(written: Any, current: Any) -> None:
    assert not value_agrees(written, current)


def test_only_written_fields_are_judged_and_labels_by_set() -> None:
    written = {"project": {"key": "HR"}, "summary": "S", "duedate": "2030-01-01", "labels": ["A"]}
    assert edited_fields(written, {"summary": "T", "project": {"key": "IT"}}) == ["summary"]
    assert missing_labels(["A", "B"], ["B", "C"]) == ["A"]
    assert fields_to_read([written, None, {"customfield_1": 1}]) == [
        "status",
        "labels",
        "project",
        "summary",
        "duedate",
        "customfield_1",
    ]


def issue(summary: str, *, done: bool = False, labels: list[str] | None = None) -> JiraIssue:
    category = "done" if done else "new"
    return JiraIssue(
        id="10",
        key="HR-1",
        fields={
            "status": {"name": "x", "statusCategory": {"key": category}},
            "labels": ["PeopleForce"] if labels is None else labels,
            "summary": summary,
        },
    )


def domain(**values: Any) -> DomainConfig:
    return DomainConfig(name="d", pf_base_url="http://p", jira_base_url="http://j", **values)


def row(*, completed: bool = False, ack: dict[str, Any] | None = None) -> TrackedRow:
    return TrackedRow(
        1, 7, "10", "HR-1", completed, {"summary": "S", "labels": ["PeopleForce"]}, ack
    )


def test_nothing_drifted_plans_nothing() -> None:
    plan = plan_repairs(domain(), row(), issue("S"))
    assert not plan.needs_lock and not plan.status_changed


def test_an_overwrite_is_made_once_even_if_jira_keeps_its_own_form() -> None:
    overwrite = domain(edited_field_policy=EditedFieldPolicy.OVERWRITE)
    first = plan_repairs(overwrite, row(), issue("T"))
    assert first.overwrite == {"summary": "S"} and first.acknowledged
    again = plan_repairs(overwrite, row(ack=first.acknowledged), issue("T"))
    assert again.overwrite == {} and not again.needs_lock
    cleared = plan_repairs(overwrite, row(ack=first.acknowledged), issue("S"))
    assert cleared.acknowledged is None and cleared.needs_lock


def test_a_reopen_left_by_policy_is_acknowledged_once() -> None:
    leave = domain(reopen_policy=ReopenPolicy.LEAVE)
    first = plan_repairs(leave, row(completed=True), issue("S"))
    assert first.status_changed and first.acknowledged == {"status": "reopened"}
    again = plan_repairs(leave, row(completed=True, ack=first.acknowledged), issue("S"))
    assert not again.status_changed and not again.needs_lock


def test_a_stripped_label_is_restored_and_a_missing_status_judges_nothing() -> None:
    plan = plan_repairs(domain(), row(), issue("S", labels=["mine"]))
    assert plan.restore_labels == ["PeopleForce"] and plan.label_removed
    blind = JiraIssue(id="10", key="HR-1", fields={"labels": ["PeopleForce"]})
    assert not plan_repairs(domain(), row(completed=True), blind).status_changed
