"""Routing at its edges: first match, tie-breaks, exact decisions and exact messages.

Written against the mutants ``make mutate`` found alive: a rule loop that stops at
the first non-matching rule, a tie-break that ignores ids, decisions that lose
their rule or reason, and messages the admin UI shows word for word.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.models import DomainConfig, FieldMapping, MappingKind, RoutingRule, RuleAction
from gateway.sync.routing import (
    Condition,
    DomainDefaults,
    MappingSpec,
    RouteAction,
    RouteDecision,
    RuleSpec,
    assignee_email,
    build_fields,
    condition_matches,
    route,
    summary_text,
    validate_condition,
    validate_mapping,
    validate_rule,
)

DEFAULTS = DomainDefaults(fallback_project_key="HR")
NO_FALLBACK = DomainDefaults()
TASK: dict[str, Any] = {"id": 7, "title": "Order laptop", "labels": ["alpha", "beta"]}


def rule(
    name: str,
    *,
    id: int | None = None,
    priority: int = 100,
    when: list[Condition] | None = None,
    action: RuleAction = RuleAction.SYNC,
    project: str | None = "IT",
    mappings: list[MappingSpec] | None = None,
) -> RuleSpec:
    return RuleSpec(
        id=id,
        name=name,
        priority=priority,
        enabled=True,
        conditions=when or [],
        action=action,
        target_project_key=project,
        mappings=mappings or [],
    )


NEVER = [Condition("title", "equals", "something else")]
URLS = {"pf_base_url": "https://pf.test", "jira_base_url": "https://jira.test"}


def test_a_rule_that_does_not_match_passes_the_task_to_the_next() -> None:
    rules = [rule("first", id=1, priority=10, when=NEVER), rule("second", id=2, priority=20)]
    decision = route(TASK, rules, DEFAULTS)
    assert (decision.rule_id, decision.rule_name, decision.reason) == (
        2,
        "second",
        "matched rule 'second'",
    )


def test_equal_priorities_go_by_id_not_by_name() -> None:
    rules = [rule("alpha", id=7, project="A"), rule("zeta", id=3, project="Z")]
    assert route(TASK, rules, DEFAULTS).project_key == "Z"


def test_an_unsaved_rule_comes_after_saved_ones_of_its_priority() -> None:
    rules = [rule("alpha", id=None, project="A"), rule("zeta", id=9, project="Z")]
    assert route(TASK, rules, DEFAULTS).project_key == "Z"
    unsaved = [rule("zeta", project="Z"), rule("alpha", project="A")]
    assert route(TASK, unsaved, DEFAULTS).project_key == "A"


def test_a_drop_decision_is_exactly_that() -> None:
    decision = route(TASK, [rule("private", id=4, action=RuleAction.DROP)], DEFAULTS)
    assert decision == RouteDecision(
        action=RouteAction.DROP,
        rule_id=4,
        rule_name="private",
        project_key=None,
        issue_type=None,
        fields={},
        reason="dropped by rule 'private'",
    )


def test_a_rule_without_a_project_and_no_fallback_is_unroutable() -> None:
    decision = route(TASK, [rule("nowhere", id=5, project=None)], NO_FALLBACK)
    assert decision == RouteDecision(
        action=RouteAction.UNROUTABLE,
        rule_id=5,
        rule_name="nowhere",
        project_key=None,
        issue_type=None,
        fields={},
        reason="rule 'nowhere' matched but names no project and the domain has no fallback project",
    )


def test_no_rule_and_no_fallback_is_unroutable() -> None:
    decision = route(TASK, [], NO_FALLBACK)
    assert decision == RouteDecision(
        action=RouteAction.UNROUTABLE,
        rule_id=None,
        rule_name=None,
        project_key=None,
        issue_type=None,
        fields={},
        reason="no rule matched and the domain has no fallback project",
    )


def test_the_fallback_decision_names_no_rule() -> None:
    decision = route(TASK, [rule("never", id=1, when=NEVER)], DEFAULTS)
    assert decision.action == RouteAction.SYNC
    assert (decision.rule_id, decision.rule_name) == (None, None)
    assert (decision.project_key, decision.issue_type) == ("HR", "Task")
    assert decision.reason == "no rule matched; domain fallback"


def test_a_matched_rule_without_a_project_uses_the_fallback_project() -> None:
    decision = route(TASK, [rule("typed", id=3, project=None)], DEFAULTS)
    assert (decision.project_key, decision.rule_name) == ("HR", "typed")


@pytest.mark.parametrize(
    ("condition", "task", "expected"),
    [
        (Condition("", "is_empty"), {"": "present"}, True),
        (Condition("title", "contains", None), TASK, False),
        (Condition("title", "regex", 5), TASK, False),
        (Condition("labels", "regex", "^beta$"), TASK, True),
        (Condition("labels", "regex", "^alpha, beta$"), TASK, False),
        (Condition("title", "equals", None), TASK, False),
        (Condition("missing", "equals", None), TASK, True),
    ],
    ids=[
        "no-path-reads-nothing",
        "contains-nothing",
        "regex-not-a-string",
        "regex-per-item",
        "regex-not-on-the-joined-list",
        "equals-none-needs-empty",
        "equals-none-on-missing",
    ],
)
def test_condition_edges(condition: Condition, task: dict[str, Any], expected: bool) -> None:
    assert condition_matches(task, condition) is expected


def test_conditions_read_from_json_are_trimmed_and_lowered() -> None:
    raw = {"path": " title ", "op": " EQUALS ", "value": 1}
    assert Condition.from_dict(raw) == Condition("title", "equals", 1)
    assert Condition.from_dict({}) == Condition("", "", None)
    assert Condition.from_dict({"path": None, "op": None}) == Condition("", "", None)


def test_defaults_from_a_domain_trim_and_fall_back() -> None:
    domain = DomainConfig(
        **URLS,
        name="acme",
        fallback_project_key=" HR ",
        fallback_issue_type="",
        tracking_label="HRSync",
    )
    assert DomainDefaults.from_model(domain) == DomainDefaults("HR", "Task", "HRSync")
    blank = DomainConfig(
        **URLS, name="acme", fallback_project_key="  ", fallback_issue_type="Story"
    )
    assert DomainDefaults.from_model(blank) == DomainDefaults(None, "Story", "PeopleForce")


def test_a_rule_read_from_the_database_keeps_every_part() -> None:
    model = RoutingRule(
        id=11,
        domain_id=1,
        name="equipment",
        priority=20,
        enabled=True,
        conditions=[{"path": "title", "op": "contains", "value": "laptop"}],
        action=RuleAction.DROP,
        target_project_key=" IT ",
        target_issue_type=" Bug ",
    )
    mapping = FieldMapping(
        rule_id=11, jira_field=" summary ", kind=MappingKind.TEMPLATE, value="{{title}}"
    )
    spec = RuleSpec.from_models(model, [mapping])
    assert spec == RuleSpec(
        id=11,
        name="equipment",
        priority=20,
        enabled=True,
        conditions=[Condition("title", "contains", "laptop")],
        action=RuleAction.DROP,
        target_project_key="IT",
        target_issue_type="Bug",
        mappings=[MappingSpec("summary", MappingKind.TEMPLATE, "{{title}}")],
    )
    bare = RuleSpec.from_models(
        RoutingRule(id=12, domain_id=1, name="n", target_project_key=None, target_issue_type=" "),
        [],
    )
    assert (bare.target_project_key, bare.target_issue_type) == (None, None)


def sync_fields(mappings: list[MappingSpec], task: dict[str, Any] = TASK) -> dict[str, Any]:
    return route(task, [rule("r", id=1, mappings=mappings)], DEFAULTS).fields


def test_mapped_summary_and_due_date_are_shaped_for_jira() -> None:
    fields = sync_fields(
        [
            MappingSpec("summary", MappingKind.STATIC, "  Two\n lines  "),
            MappingSpec("duedate", MappingKind.STATIC, "2026-12-01T10:00:00Z"),
            MappingSpec("labels", MappingKind.STATIC, "5"),
        ]
    )
    assert fields["summary"] == "Two lines"
    assert fields["duedate"] == "2026-12-01"
    assert fields["labels"] == ["PeopleForce", "5"]
    assert fields["issuetype"] == {"name": "Task"}
    assert fields["project"] == {"key": "IT"}


def test_a_skipped_mapping_does_not_end_the_mappings() -> None:
    fields = sync_fields(
        [
            MappingSpec("assignee", MappingKind.STATIC, "someone@example.com"),
            MappingSpec("project", MappingKind.STATIC, "NOPE"),
            MappingSpec("summary", MappingKind.STATIC, "After the skipped ones"),
        ]
    )
    assert fields["summary"] == "After the skipped ones"
    assert fields["project"] == {"key": "IT"}


def test_an_assignee_mapping_reads_the_task() -> None:
    task = {**TASK, "owner": {"email": " boss@example.com "}}
    mappings = [MappingSpec("assignee", MappingKind.PATH, "owner.email")]
    assert assignee_email(task, mappings) == "boss@example.com"


def test_fields_need_both_project_and_issue_type() -> None:
    decision = RouteDecision(RouteAction.DROP, None, None, "HR", None, {}, "")
    with pytest.raises(ValueError, match="no fields for a DROP decision"):
        build_fields(TASK, decision, [], label="PeopleForce")


def test_summary_edges() -> None:
    assert summary_text("   ") == "PeopleForce task"
    assert summary_text("", 12) == "PeopleForce task 12"
    exact = "x" * 255
    assert summary_text(exact) == exact
    cut = summary_text("a" * 253 + " " + "b" * 10)
    assert cut == "a" * 253 + "\u2026"


def test_condition_problems_are_worded_for_the_admin() -> None:
    assert validate_condition(Condition("", "equals", 1)) == ["a condition has no path"]
    assert validate_condition(Condition("", "bogus", 1)) == [
        "a condition has no path",
        "condition on '(no path)': unknown operator 'bogus'",
    ]
    assert validate_condition(Condition("title", "regex", 5)) == [
        "condition on 'title': regex must be a string"
    ]


def test_mapping_problems_are_worded_for_the_admin() -> None:
    assert validate_mapping(MappingSpec("", MappingKind.STATIC, "x")) == [
        "a field mapping has no Jira field"
    ]
    assert validate_mapping(MappingSpec("summary", MappingKind.PATH, "title")) == []
    assert validate_mapping(MappingSpec("summary", MappingKind.STATIC, "plain text")) == []
    broken = ["mapping for 'labels': value looks like JSON but does not parse"]
    assert validate_mapping(MappingSpec("labels", MappingKind.STATIC, "[1,")) == broken
    assert validate_mapping(MappingSpec("labels", MappingKind.STATIC, " {bad")) == broken


def test_a_rule_needs_a_name() -> None:
    assert validate_rule(rule("  ")) == ["the rule needs a name"]


def test_a_label_mapped_from_a_single_value_becomes_one_label() -> None:
    fields = sync_fields([MappingSpec("labels", MappingKind.PATH, "id")])
    assert fields["labels"] == ["PeopleForce", "7"]


def test_the_create_fields_are_exactly_the_defaults_and_nothing_else() -> None:
    fields = route(TASK, [], DEFAULTS).fields
    assert set(fields) == {"project", "issuetype", "summary", "description", "labels"}
    assert fields["labels"] == ["PeopleForce"]


def test_a_catastrophic_pattern_matches_in_linear_time() -> None:
    """^(a+)+$ against 40 a's and a '!' takes Python's backtracking re about 2^40 steps;
    RE2 answers at once. Counted in RE2's terms, not timed: the match must simply end."""
    task = {"title": "a" * 40 + "!"}
    assert not condition_matches(task, Condition("title", "regex", "^(a+)+$"))
    assert condition_matches({"title": "a" * 40}, Condition("title", "regex", "^(a+)+$"))


def test_patterns_re2_cannot_run_are_refused_when_saved_and_never_match() -> None:
    for pattern in (r"(a)\1", r"(?<=a)b", r"a(?=b)"):
        [problem] = validate_condition(Condition("title", "regex", pattern))
        assert problem.startswith("condition on 'title': invalid regex (RE2 syntax")
        assert not condition_matches({"title": "aab"}, Condition("title", "regex", pattern))
