"""The JQL subset: table tests for each clause, errors, ordering, and algebraic properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fakes.clock import FakeClock
from fakes.jql import JqlError, JqlRecord, parse_jql

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)

CATEGORY = {
    "new": ("To Do", 2),
    "indeterminate": ("In Progress", 4),
    "done": ("Done", 3),
}


def rec(
    id: int,
    key: str,
    *,
    labels: tuple[str, ...] = (),
    status: str = "To Do",
    category: str = "new",
    created: datetime = NOW - timedelta(days=10),
    updated: datetime = NOW - timedelta(hours=1),
    old_keys: tuple[str, ...] = (),
    duedate: date | None = None,
    assignee: tuple[str, ...] = (),
    resolution: str | None = None,
) -> JqlRecord:
    project = key.split("-")[0]
    name, cat_id = CATEGORY[category]
    return JqlRecord(
        id=id,
        key=key,
        keys=(key, *old_keys),
        project_key=project,
        project_id={"HR": "10000", "IT": "10001"}.get(project, "10009"),
        project_name={"HR": "Human Resources", "IT": "IT Operations"}.get(project, project),
        issue_type="Task",
        status=status,
        status_id={"To Do": "10000", "In Progress": "3", "Done": "10001"}.get(status, "5"),
        category_key=category,
        category_name=name,
        category_id=cat_id,
        created=created,
        updated=updated,
        labels=labels,
        duedate=duedate,
        assignee=assignee,
        resolution=resolution,
    )


RECORDS = [
    rec(10000, "HR-1", labels=("PeopleForce",), status="Done", category="done", resolution="Done"),
    rec(
        10001,
        "HR-2",
        labels=("PeopleForce", "urgent"),
        status="In Progress",
        category="indeterminate",
    ),
    rec(10002, "HR-3", created=NOW - timedelta(days=40), updated=NOW - timedelta(days=30)),
    rec(
        10003,
        "IT-1",
        labels=("PeopleForce",),
        status="Resolved",
        category="done",
        updated=NOW - timedelta(days=2),
        old_keys=("HR-4",),
        resolution="Done",
    ),
    rec(
        10004,
        "IT-2",
        labels=("other",),
        status="In Review",
        category="indeterminate",
        duedate=date(2025, 3, 1),
        assignee=("acc-1", "bob@example.com"),
    ),
]


def keys(jql: str, now: datetime = NOW) -> list[str]:
    return [r.key for r in parse_jql(jql).filter(RECORDS, now)]


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("labels = PeopleForce", ["HR-1", "HR-2", "IT-1"]),
        ("labels = peopleforce", ["HR-1", "HR-2", "IT-1"]),
        ("labels in (urgent, other)", ["HR-2", "IT-2"]),
        ("labels != PeopleForce", ["IT-2"]),  # != never matches an empty field
        ("labels not in (PeopleForce)", ["IT-2"]),
        ("NOT labels = PeopleForce", ["HR-3", "IT-2"]),
        ("labels is EMPTY", ["HR-3"]),
        ("labels is not empty", ["HR-1", "HR-2", "IT-1", "IT-2"]),
        ("statusCategory = Done", ["HR-1", "IT-1"]),
        ("statusCategory = done", ["HR-1", "IT-1"]),
        ('statusCategory = "In Progress"', ["HR-2", "IT-2"]),
        ("statusCategory = indeterminate", ["HR-2", "IT-2"]),
        ("statusCategory != Done", ["HR-2", "HR-3", "IT-2"]),
        ("statusCategory in ('To Do', 3)", ["HR-1", "HR-3", "IT-1"]),
        ('status = "In Progress"', ["HR-2"]),
        ("status in (Resolved, 'In Review')", ["IT-1", "IT-2"]),
        ("status != Done", ["HR-2", "HR-3", "IT-1", "IT-2"]),
        ("project = HR", ["HR-1", "HR-2", "HR-3"]),
        ("project in (HR, IT)", ["HR-1", "HR-2", "HR-3", "IT-1", "IT-2"]),
        ('project = "IT Operations"', ["IT-1", "IT-2"]),
        ("project != hr", ["IT-1", "IT-2"]),
        ("issuekey = HR-1", ["HR-1"]),
        ("key = hr-2", ["HR-2"]),
        ("issuekey in (HR-1, IT-2)", ["HR-1", "IT-2"]),
        ("issuekey = HR-4", ["IT-1"]),  # a moved issue answers to its old key
        ("id in (10000, 10001)", ["HR-1", "HR-2"]),
        ("id = 10004", ["IT-2"]),
        ("id > 10002", ["IT-1", "IT-2"]),
        ("issuekey <= HR-2", ["HR-1", "HR-2"]),
        ('updated >= "-24h"', ["HR-1", "HR-2", "IT-2"]),
        ("updated >= -24h", ["HR-1", "HR-2", "IT-2"]),
        ("updated >= '-3d'", ["HR-1", "HR-2", "IT-1", "IT-2"]),
        ("updated < -30m", ["HR-1", "HR-2", "HR-3", "IT-1", "IT-2"]),
        ("updated > -30m", []),
        ("updated >= -2w", ["HR-1", "HR-2", "IT-1", "IT-2"]),
        ('updated >= "-1w 2d"', ["HR-1", "HR-2", "IT-1", "IT-2"]),
        ("created <= -30d", ["HR-3"]),
        ('created >= "2025/02/20"', ["HR-1", "HR-2", "IT-1", "IT-2"]),
        ('created < "2025-02-01"', ["HR-3"]),
        ('updated > "2025/03/10 10:59"', ["HR-1", "HR-2", "IT-2"]),
        ('updated > "2025-03-10 11:00"', []),
        ("duedate < 2025-03-02", ["IT-2"]),
        ("duedate is EMPTY", ["HR-1", "HR-2", "HR-3", "IT-1"]),
        ("assignee = bob@example.com", ["IT-2"]),
        ("assignee is EMPTY AND project = IT", ["IT-1"]),
        ("resolution = Unresolved", ["HR-2", "HR-3", "IT-2"]),
        ("resolution is not EMPTY", ["HR-1", "IT-1"]),
        ("labels = PeopleForce AND statusCategory = Done", ["HR-1", "IT-1"]),
        (
            'labels = PeopleForce AND statusCategory = Done AND updated >= "-24h"',
            ["HR-1"],
        ),
        ("labels = urgent OR project = IT", ["HR-2", "IT-1", "IT-2"]),
        ("project = HR AND (labels = urgent OR statusCategory = Done)", ["HR-1", "HR-2"]),
        ("NOT (project = HR OR labels = other)", ["IT-1"]),
        ("NOT NOT project = IT", ["IT-1", "IT-2"]),
        ("LaBeLs = PeopleForce aNd StatusCategory = DONE", ["HR-1", "IT-1"]),
        ('labels = "PeopleForce"', ["HR-1", "HR-2", "IT-1"]),
    ],
)
def test_clause_table(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("project in (HR, IT) ORDER BY key DESC", ["IT-2", "IT-1", "HR-3", "HR-2", "HR-1"]),
        ("project in (HR, IT) order by updated asc", ["HR-3", "IT-1", "HR-1", "HR-2", "IT-2"]),
        (
            "project in (HR, IT) ORDER BY created DESC, id DESC",
            ["IT-2", "IT-1", "HR-2", "HR-1", "HR-3"],
        ),
        ("project = HR ORDER BY id desc", ["HR-3", "HR-2", "HR-1"]),
        (
            "project in (IT, HR) order by project desc, key",
            ["IT-1", "IT-2", "HR-1", "HR-2", "HR-3"],
        ),
    ],
)
def test_order_by(jql: str, expected: list[str]) -> None:
    assert keys(jql) == expected


def test_key_order_is_numeric_not_lexical() -> None:
    many = [rec(20000 + n, f"HR-{n}") for n in (10, 9, 100, 1)]
    ordered = parse_jql("project = HR ORDER BY key").filter(many, NOW)
    assert [r.key for r in ordered] == ["HR-1", "HR-9", "HR-10", "HR-100"]


@pytest.mark.parametrize("jql", ["", "   ", "ORDER BY created DESC", "order by key"])
def test_unbounded_queries_parse_but_are_flagged(jql: str) -> None:
    assert not parse_jql(jql).is_bounded


@pytest.mark.parametrize(
    ("jql", "fragment"),
    [
        ("summary ~ onboarding", "summary"),
        ("text ~ ada", "text"),
        ("labels ~ People", "~"),
        ("issue.property[pf_sync_metadata].pf_task_id = 7", "issue.property[pf_sync_metadata]"),
        ("cf[10020] = People", "cf[10020]"),
        ("updated > startOfDay()", "startOfDay()"),
        ("status WAS Done", "WAS"),
        ("status CHANGED", "CHANGED"),
        ("labels > a", "'>'"),
        ("statusCategory = Finished", "Finished"),
        ('updated >= "-24x"', "-24x"),
        ("created > yesterday", "yesterday"),
        ("labels in (a, b", "')'"),
        ("labels = a AND", "end of query"),
        ("labels = ", "end of query"),
        ("(labels = a", "')'"),
        ("labels = a b", "'b'"),
        ("labels = a && labels = b", "&"),
        ('labels = "unterminated', "quote"),
        ("labels is a", "EMPTY"),
        ("project = HR ORDER BY summary", "summary"),
    ],
)
def test_errors_name_the_problem(jql: str, fragment: str) -> None:
    with pytest.raises(JqlError) as info:
        parse_jql(jql)
    assert fragment in str(info.value)


def test_relative_dates_follow_the_fake_clock() -> None:
    clock = FakeClock()
    touched = rec(1, "HR-1", labels=("PeopleForce",), category="done", updated=clock.now())
    sweep = parse_jql('labels = PeopleForce AND statusCategory = Done AND updated >= "-24h"')
    assert sweep.matches(touched, clock.now())
    clock.advance(23 * 3600)
    assert sweep.matches(touched, clock.now())
    clock.advance(2 * 3600)
    assert not sweep.matches(touched, clock.now())
    assert parse_jql("updated >= -2d").matches(touched, clock.now())


def test_quotes_and_escapes() -> None:
    spaced = rec(1, "HR-1", status="In Progress", category="indeterminate", labels=("it's",))
    assert parse_jql("status = 'In Progress'").matches(spaced, NOW)
    assert parse_jql('labels = "it\'s"').matches(spaced, NOW)
    assert parse_jql("labels = 'it\\'s'").matches(spaced, NOW)


# -- properties -------------------------------------------------------------------

LABELS = ["A", "B", "C"]
CLAUSES = [
    "labels = A",
    "labels = B",
    "labels != C",
    "statusCategory = Done",
    "project = HR",
    "labels is EMPTY",
]

records = st.builds(
    lambda i, labels, cat, project: rec(
        i,
        f"{project}-{i}",
        labels=tuple(labels),
        category=cat,
        status={"new": "To Do", "indeterminate": "In Progress", "done": "Done"}[cat],
    ),
    st.integers(1, 10_000),
    st.lists(st.sampled_from(LABELS), unique=True, max_size=3),
    st.sampled_from(["new", "indeterminate", "done"]),
    st.sampled_from(["HR", "IT"]),
)


def holds(jql: str, record: JqlRecord) -> bool:
    return parse_jql(jql).matches(record, NOW)


@given(records, st.lists(st.sampled_from(LABELS), min_size=1, max_size=3, unique=True))
def test_in_is_a_disjunction_of_equalities(record: JqlRecord, values: list[str]) -> None:
    as_in = holds(f"labels in ({', '.join(values)})", record)
    as_or = holds(" OR ".join(f"labels = {v}" for v in values), record)
    assert as_in == as_or == bool(set(values) & set(record.labels))


@given(records, st.sampled_from(CLAUSES), st.sampled_from(CLAUSES))
def test_de_morgan_and_negation(record: JqlRecord, x: str, y: str) -> None:
    assert holds(f"NOT ({x})", record) != holds(x, record)
    assert holds(f"NOT ({x} AND {y})", record) == holds(f"NOT ({x}) OR NOT ({y})", record)
    assert holds(f"{x} AND {y}", record) == (holds(x, record) and holds(y, record))
    assert holds(f"({x}) OR ({y})", record) == (holds(x, record) or holds(y, record))


@given(records, st.sampled_from(LABELS))
def test_not_equal_excludes_empty_fields(record: JqlRecord, label: str) -> None:
    expected = bool(record.labels) and label not in record.labels
    assert holds(f"labels != {label}", record) == expected


@given(st.lists(records, max_size=12, unique_by=lambda r: r.id))
def test_ordering_is_a_permutation_sorted_by_the_key(batch: list[JqlRecord]) -> None:
    ordered = parse_jql("project in (HR, IT) ORDER BY id DESC").filter(batch, NOW)
    assert sorted(r.id for r in ordered) == sorted(r.id for r in batch)
    assert [r.id for r in ordered] == sorted((r.id for r in batch), reverse=True)
