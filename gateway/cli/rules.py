"""``gateway rule add|list|check|delete``: routing rules of a domain."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from gateway.admin import domains, rules
from gateway.admin.domains import DOMAIN_REF_HELP
from gateway.admin.rule_checks import validate_rule_against_jira
from gateway.admin.schemas import RuleIn, RuleOut
from gateway.cli._common import command_group, database, out, print_json, report, run_action
from gateway.models import RuleAction
from gateway.sync.conditions import OP_SEMANTICS

app = command_group(help="Routing rules of a domain.", no_args_is_help=True)

DomainRef = Annotated[str, typer.Argument(help=DOMAIN_REF_HELP)]
RuleId = Annotated[int, typer.Argument(help="The rule's id.")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _parse_condition(text: str) -> dict[str, Any]:
    """'PATH OP [VALUE]'; VALUE is JSON when it parses (so lists work for 'in'), else text."""
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise typer.BadParameter(f"{text!r}: expected 'PATH OP [VALUE]'", param_hint="--when")
    value: Any = None
    if len(parts) == 3:
        try:
            value = json.loads(parts[2])
        except json.JSONDecodeError:
            value = parts[2]
    return {"path": parts[0], "op": parts[1], "value": value}


def _parse_mapping(text: str) -> dict[str, str]:
    """'FIELD=KIND:VALUE', e.g. 'summary=TEMPLATE:[HR] {{title}}'."""
    field, sep, rest = text.partition("=")
    kind, sep2, value = rest.partition(":")
    if not sep or not sep2 or not field.strip():
        raise typer.BadParameter(f"{text!r}: expected 'FIELD=KIND:VALUE'", param_hint="--map")
    return {"jira_field": field.strip(), "kind": kind.strip().upper(), "value": value}


_OPERATORS_HELP = "\n\n".join(
    ["Condition operators (--when 'PATH OP [VALUE]', VALUE parsed as JSON when it can be):"]
    + [f"{op.value}: {meaning}." for op, meaning in OP_SEMANTICS.items()]
    + ["PATH is a dotted task field such as title, assigned_to.email or associated_to.full_name."]
)


@app.command("add", epilog=_OPERATORS_HELP)
def rule_add(
    domain: DomainRef,
    name: Annotated[str, typer.Option(help="Rule name.")],
    action: Annotated[RuleAction, typer.Option(help="SYNC or DROP.")] = RuleAction.SYNC,
    project: Annotated[str | None, typer.Option(help="Target Jira project key.")] = None,
    issue_type: Annotated[str | None, typer.Option(help="Target issue type.")] = None,
    when: Annotated[
        list[str] | None,
        typer.Option(help="Condition 'PATH OP [VALUE]', repeatable, all must match."),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Field mapping 'FIELD=KIND:VALUE' (STATIC|PATH|TEMPLATE)."),
    ] = None,
    priority: Annotated[int | None, typer.Option(help="Lower runs first; default: last.")] = None,
    disabled: Annotated[bool, typer.Option(help="Create it disabled.")] = False,
) -> None:
    """Add a routing rule to a domain."""
    conditions = [_parse_condition(c) for c in when or []]
    mappings = [_parse_mapping(m) for m in map_ or []]
    with database() as session:
        found = domains.find_domain(session, domain)
        data = RuleIn.model_validate(
            {
                "name": name,
                "enabled": not disabled,
                "priority": priority,
                "conditions": conditions,
                "action": action,
                "target_project_key": project,
                "target_issue_type": issue_type,
                "mappings": mappings,
            }
        )
        rule = rules.create_rule(session, found, data)
        rule_id, rule_priority = rule.id, rule.priority
    out.print(f"created rule {rule_id} (priority {rule_priority})", highlight=False)


def _rules_table(listed: list[RuleOut]) -> Table:
    table = Table(show_header=True)
    for column in ("id", "priority", "name", "enabled", "action", "target", "conditions"):
        table.add_column(column)
    for r in listed:
        target = f"{r.target_project_key or '-'}/{r.target_issue_type or '-'}"
        conditions = "; ".join(
            f"{c.get('path')} {c.get('op')} {c.get('value')}" for c in r.conditions
        )
        table.add_row(
            str(r.id),
            str(r.priority),
            r.name,
            "yes" if r.enabled else "no",
            r.action.value,
            target if r.action == RuleAction.SYNC else "",
            conditions or "always",
        )
    return table


@app.command("list")
def rule_list(domain: DomainRef, as_json: AsJson = False) -> None:
    """List a domain's rules in evaluation order."""
    with database() as session:
        found = domains.find_domain(session, domain)
        listed = [RuleOut.of(r, m) for r, m in rules.rules_with_mappings(session, found.id or 0)]
    if as_json:
        print_json([r.model_dump(mode="json") for r in listed])
        return
    out.print(_rules_table(listed))


@app.command("check")
def rule_check(rule_id: RuleId, as_json: AsJson = False) -> None:
    """Check a rule's project, issue type and fields against Jira; the UI shows the result."""
    result = run_action(
        lambda engine, settings: validate_rule_against_jira(engine, settings, rule_id)
    )
    report(result, as_json)


@app.command("delete")
def rule_delete(rule_id: RuleId) -> None:
    """Delete a routing rule."""
    with database() as session:
        rules.delete_rule(session, rules.get_rule(session, rule_id))
    out.print(f"rule {rule_id} deleted")
