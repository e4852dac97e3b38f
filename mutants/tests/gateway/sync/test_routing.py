"""Routing rules: every operator, rule order, fallbacks, field building, diffs, validation."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.models import DomainConfig, FieldMapping, MappingKind, RoutingRule, RuleAction
from gateway.sync.adf import adf_to_text
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
    diff_fields,
    route,
    validate_rule,
)
from gateway.sync.templates import get_path, render_template, validate_template

TASK: dict[str, Any] = {
    "id": 42,
    "title": "Prepare laptop",
    "type": "Tasks::General",
    "description": "<p>Order a <b>MacBook</b></p>",
    "ends_on": "2026-11-09",
    "completed": False,
    "associated_to": {"id": 7, "type": "Employee", "full_name": "Jane Roe", "email": "j@x.test"},
    "assigned_to": {"id": 3, "full_name": "IT Desk", "email": "IT@Acme.test"},
    "tags": ["onboarding", "it"],
    "priority_level": 2,
    "blank": "  ",
}
DEFAULTS = DomainDefaults(fallback_project_key="OPS", fallback_issue_type="Task")


def rule(
    rule_id: int,
    *conditions: Condition,
    priority: int = 100,
    enabled: bool = True,
    action: RuleAction = RuleAction.SYNC,
    project: str | None = "HR",
    issue_type: str | None = None,
    mappings: list[MappingSpec] | None = None,
) -> RuleSpec:
    return RuleSpec(
        id=rule_id,
        name=f"rule {rule_id}",
        priority=priority,
        enabled=enabled,
        conditions=list(conditions),
        action=action,
        target_project_key=project,
        target_issue_type=issue_type,
        mappings=mappings or [],
    )


@pytest.mark.parametrize(
    ("path", "op", "value", "expected"),
    [
        ("type", "equals", "Tasks::General", True),
        ("type", "equals", "tasks::general", True),
        ("type", "equals", "Tasks::Other", False),
        ("assigned_to.email", "equals", "it@acme.test", True),
        ("associated_to.id", "equals", 7, True),
        ("associated_to.id", "equals", "7", True),
        ("completed", "equals", False, True),
        ("completed", "equals", 0, False),
        ("completed", "equals", "false", True),
        ("missing.path", "equals", "x", False),
        ("missing.path", "equals", None, True),
        ("type", "not_equals", "Tasks::Other", True),
        ("type", "not_equals", "Tasks::General", False),
        ("missing", "not_equals", "x", True),
        ("title", "contains", "LAPTOP", True),
        ("title", "contains", "phone", False),
        ("tags", "contains", "it", True),
        ("tags", "contains", "i", False),
        ("missing", "contains", "x", False),
        ("associated_to", "contains", "id", False),
        ("title", "regex", r"^Prep\w+ lap", True),
        ("title", "regex", r"^laptop", False),
        ("title", "regex", r"([unclosed", False),
        ("missing", "regex", ".*", False),
        ("priority_level", "regex", r"^\d$", True),
        ("type", "in", ["Tasks::Other", "Tasks::General"], True),
        ("type", "in", ["Tasks::Other"], False),
        ("associated_to.id", "in", [1, 7], True),
        ("tags", "in", ["hr", "it"], True),
        ("missing", "in", ["x"], False),
        ("type", "in", "Tasks::General", True),
        ("missing", "is_empty", None, True),
        ("blank", "is_empty", None, True),
        ("title", "is_empty", None, False),
        ("tags", "is_not_empty", None, True),
        ("missing.deeper.still", "is_not_empty", None, False),
        ("tags.0", "equals", "onboarding", True),
        ("tags.9", "is_empty", None, True),
        ("title", "no_such_op", "x", False),
    ],
)
def test_operators(path: str, op: str, value: Any, expected: bool) -> None:
    assert condition_matches(TASK, Condition(path, op, value)) is expected


def test_all_conditions_must_match() -> None:
    both = rule(
        1, Condition("type", "equals", "Tasks::General"), Condition("title", "contains", "x")
    )
    assert route(TASK, [both], DEFAULTS).rule_id is None


def test_priority_then_id_order_first_match_wins() -> None:
    rules = [
        rule(5, priority=20, project="LATE"),
        rule(9, priority=10, project="TIE_HIGH_ID"),
        rule(3, priority=10, project="TIE_LOW_ID"),
    ]
    decision = route(TASK, rules, DEFAULTS)
    assert (decision.rule_id, decision.project_key) == (3, "TIE_LOW_ID")


def test_disabled_rule_is_skipped() -> None:
    rules = [rule(1, priority=1, enabled=False, project="OFF"), rule(2, priority=2, project="ON")]
    assert route(TASK, rules, DEFAULTS).project_key == "ON"


def test_drop_rule() -> None:
    decision = route(TASK, [rule(1, action=RuleAction.DROP)], DEFAULTS)
    assert decision.action is RouteAction.DROP
    assert decision.fields == {} and "rule 1" in decision.reason


def test_fallback_when_nothing_matches() -> None:
    decision = route(TASK, [rule(1, Condition("type", "equals", "nope"))], DEFAULTS)
    assert decision.action is RouteAction.SYNC
    assert (decision.rule_id, decision.project_key, decision.issue_type) == (None, "OPS", "Task")
    assert decision.fields["project"] == {"key": "OPS"}
    assert "fallback" in decision.reason


def test_unroutable_without_fallback() -> None:
    decision = route(TASK, [], DomainDefaults(fallback_project_key=None))
    assert decision.action is RouteAction.UNROUTABLE
    assert "no fallback project" in decision.reason


def test_rule_without_project_uses_fallback_or_is_unroutable() -> None:
    loose = rule(1, project=None, issue_type="Story")
    decision = route(TASK, [loose], DEFAULTS)
    assert (decision.project_key, decision.issue_type) == ("OPS", "Story")
    assert route(TASK, [loose], DomainDefaults()).action is RouteAction.UNROUTABLE


def test_default_fields() -> None:
    decision = route(TASK, [rule(1, issue_type="10002")], DomainDefaults(tracking_label="PF"))
    fields = decision.fields
    assert fields["project"] == {"key": "HR"}
    assert fields["issuetype"] == {"id": "10002"}
    assert fields["summary"] == "Prepare laptop"
    assert fields["labels"] == ["PF"]
    assert fields["duedate"] == "2026-11-09"
    assert adf_to_text(fields["description"]) == "Order a MacBook"
    assert "assignee" not in fields
    assert decision.assignee_email == "IT@Acme.test"


def test_summary_is_one_line_and_truncated() -> None:
    fields = route({"id": 1, "title": "a\nb  " + "x" * 400}, [], DEFAULTS).fields
    assert fields["summary"].startswith("a b x")
    assert len(fields["summary"]) == 255
    assert route({"id": 9, "title": "  "}, [], DEFAULTS).fields["summary"] == "PeopleForce task 9"


@pytest.mark.parametrize(
    ("ends_on", "expected"),
    [("2026-11-09T00:00:00Z", "2026-11-09"), ("2026-13-40", None), ("", None), (None, None)],
)
def test_duedate(ends_on: str | None, expected: str | None) -> None:
    fields = route({"id": 1, "title": "t", "ends_on": ends_on}, [], DEFAULTS).fields
    assert fields.get("duedate") == expected


def test_mappings() -> None:
    mappings = [
        MappingSpec(
            "summary", MappingKind.TEMPLATE, "[HR] {{title}} for {{associated_to.full_name}}"
        ),
        MappingSpec("priority", MappingKind.STATIC, '{"name": "High"}'),
        MappingSpec("components", MappingKind.STATIC, '[{"name": "IT"}]'),
        MappingSpec("customfield_1", MappingKind.STATIC, "{not json"),
        MappingSpec("customfield_2", MappingKind.PATH, "associated_to.id"),
        MappingSpec("customfield_3", MappingKind.PATH, "no.such.path"),
        MappingSpec("customfield_4", MappingKind.TEMPLATE, "{{missing}}"),
        MappingSpec("labels", MappingKind.STATIC, "onboarding, it"),
        MappingSpec("environment", MappingKind.PATH, "title"),
        MappingSpec("project", MappingKind.STATIC, "EVIL"),
    ]
    fields = route(TASK, [rule(1, mappings=mappings)], DEFAULTS).fields
    assert fields["summary"] == "[HR] Prepare laptop for Jane Roe"
    assert fields["priority"] == {"name": "High"}
    assert fields["components"] == [{"name": "IT"}]
    assert fields["customfield_1"] == "{not json"
    assert fields["customfield_2"] == 7
    assert "customfield_3" not in fields and "customfield_4" not in fields
    assert fields["labels"] == ["PeopleForce", "onboarding", "it"]
    assert adf_to_text(fields["environment"]) == "Prepare laptop"
    assert fields["project"] == {"key": "HR"}


def test_labels_mapping_keeps_the_tracking_label_first_and_unique() -> None:
    mappings = [MappingSpec("labels", MappingKind.STATIC, '["x", "PeopleForce", "x y"]')]
    fields = route(TASK, [rule(1, mappings=mappings)], DEFAULTS).fields
    assert fields["labels"] == ["PeopleForce", "x", "x_y"]


def test_description_mapping_accepts_html_or_text() -> None:
    html = [MappingSpec("description", MappingKind.TEMPLATE, "<h2>{{title}}</h2>{{description}}")]
    fields = route(TASK, [rule(1, mappings=html)], DEFAULTS).fields
    assert fields["description"]["content"][0]["type"] == "heading"
    text = [MappingSpec("description", MappingKind.TEMPLATE, "For {{associated_to.full_name}}")]
    assert adf_to_text(route(TASK, [rule(1, mappings=text)], DEFAULTS).fields["description"]) == (
        "For Jane Roe"
    )


def test_assignee_email() -> None:
    assert assignee_email(TASK) == "IT@Acme.test"
    assert assignee_email({"id": 1}) is None
    override = [MappingSpec("assignee", MappingKind.STATIC, "boss@acme.test")]
    assert assignee_email(TASK, override) == "boss@acme.test"
    decision = route(TASK, [rule(1, mappings=override)], DEFAULTS)
    assert decision.assignee_email == "boss@acme.test" and "assignee" not in decision.fields


def test_build_fields_refuses_non_sync_decisions() -> None:
    drop = RouteDecision(RouteAction.DROP, 1, "r", None, None, {}, "dropped")
    with pytest.raises(ValueError):
        build_fields(TASK, drop, [], label="PeopleForce")


def test_template_rendering() -> None:
    assert render_template("{{ title }}|{{assigned_to.email}}|{{nope}}", TASK) == (
        "Prepare laptop|IT@Acme.test|"
    )
    assert render_template("{{completed}} {{tags}} {{associated_to.id}}", TASK) == (
        'false ["onboarding", "it"] 7'
    )
    assert render_template("{{__class__}}{{title.__len__}}", TASK) == ""
    assert get_path(TASK, "title.length") is None
    assert validate_template("{{title}") == ["unbalanced '{{' / '}}' in template"]
    assert validate_template("{{ bad path! }}")


def test_diff_fields() -> None:
    old = {
        "project": {"key": "HR"},
        "issuetype": {"name": "Task"},
        "summary": "a",
        "labels": ["PeopleForce"],
        "duedate": "2026-11-09",
        "customfield_1": 1,
    }
    new = {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Bug"},
        "summary": "b",
        "labels": ["PeopleForce"],
        "customfield_1": True,
        "customfield_2": "new",
    }
    assert diff_fields(old, new) == {
        "summary": "b",
        "customfield_1": True,
        "customfield_2": "new",
        "duedate": None,
    }
    assert diff_fields(new, new) == {}
    assert diff_fields(None, {"project": {}, "summary": "s"}) == {"summary": "s"}


@given(st.dictionaries(st.sampled_from(["summary", "labels", "duedate", "x"]), st.integers()))
def test_diff_of_identical_fields_is_empty(fields: dict[str, Any]) -> None:
    assert diff_fields(fields, dict(reversed(list(fields.items())))) == {}


def test_validate_rule() -> None:
    bad = rule(
        1,
        Condition("title", "regex", "([unclosed"),
        Condition("type", "in", "not a list"),
        Condition("", "equals", "x"),
        Condition("title", "sounds_like", "x"),
        Condition("bad path!", "is_empty"),
        Condition("title", "equals", None),
        mappings=[
            MappingSpec("summary", MappingKind.TEMPLATE, "{{title"),
            MappingSpec("summary", MappingKind.STATIC, "dup"),
            MappingSpec("issuetype", MappingKind.STATIC, "Bug"),
            MappingSpec("priority", MappingKind.STATIC, "{bad json"),
            MappingSpec("customfield_1", MappingKind.PATH, "not a path"),
            MappingSpec("", MappingKind.STATIC, "x"),
        ],
    )
    problems = validate_rule(bad)
    joined = "\n".join(problems)
    for fragment in (
        "invalid regex",
        "needs a list",
        "has no path",
        "unknown operator 'sounds_like'",
        "invalid path",
        "needs a value",
        "unbalanced",
        "mapped more than once",
        "rule's target",
        "does not parse",
        "no Jira field",
    ):
        assert fragment in joined, fragment
    good = rule(
        2,
        Condition("assigned_to.email", "regex", r"@acme\.test$"),
        Condition("type", "in", ["a"]),
        Condition("x", "is_empty"),
        mappings=[MappingSpec("summary", MappingKind.TEMPLATE, "[HR] {{title}}")],
    )
    assert validate_rule(good) == []


def test_from_models() -> None:
    # The JSON column may hold anything; a non-object entry must not break evaluation.
    stored: list[Any] = [{"path": "type", "op": "EQUALS ", "value": "Tasks::General"}, "junk"]
    model = RoutingRule(
        id=4,
        domain_id=1,
        name="IT",
        priority=5,
        conditions=stored,
        action=RuleAction.SYNC,
        target_project_key=" IT ",
        target_issue_type="",
    )
    mapping = FieldMapping(rule_id=4, jira_field="summary", kind=MappingKind.STATIC, value="S")
    spec = RuleSpec.from_models(model, [mapping])
    assert spec.conditions[0] == Condition("type", "equals", "Tasks::General")
    assert spec.conditions[1] == Condition("", "")
    assert (spec.target_project_key, spec.target_issue_type) == ("IT", None)
    assert spec.mappings == [MappingSpec("summary", MappingKind.STATIC, "S")]
    domain = DomainConfig(
        name="d", pf_base_url="https://pf", jira_base_url="https://j", fallback_project_key=""
    )
    defaults = DomainDefaults.from_model(domain)
    assert defaults == DomainDefaults(None, "Task", "PeopleForce")
    task = {"id": 1, "title": "t", "type": "tasks::general"}
    # A malformed condition never matches, so the rule stays inert until it is fixed.
    assert route(task, [spec], defaults).action is RouteAction.UNROUTABLE
    fixed = replace(spec, conditions=spec.conditions[:1])
    decision = route(task, [fixed], defaults)
    assert (decision.rule_id, decision.project_key, decision.issue_type) == (4, "IT", "Task")
    assert decision.fields["summary"] == "S"
