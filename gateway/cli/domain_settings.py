"""The option lists of ``gateway domain add`` and ``gateway domain update``.

Every domain setting is an option of both commands, which makes them long; they
live here so ``domains.py`` keeps the short commands. Secrets are read from stdin
or the ``GATEWAY_NEW_*`` variables, never from the command line.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import Annotated

import typer

from gateway.admin import domains
from gateway.admin.base_urls import PF_BASE_URL_EXAMPLE
from gateway.admin.domains import DOMAIN_REF_HELP
from gateway.admin.schemas import DomainCreate, DomainOut, DomainUpdate
from gateway.cli._common import database, fail, out
from gateway.models import (
    DOMAIN_DEFAULTS,
    DeletedIssuePolicy,
    DeletionPolicy,
    EditedFieldPolicy,
    ReopenPolicy,
)

PF_KEY_ENV = "GATEWAY_NEW_PF_API_KEY"
JIRA_TOKEN_ENV = "GATEWAY_NEW_JIRA_API_TOKEN"

DomainRef = Annotated[str, typer.Argument(help=DOMAIN_REF_HELP)]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def read_secrets(pf_stdin: bool, jira_stdin: bool) -> tuple[str | None, str | None]:
    """Stdin lines (PeopleForce key first) win over the GATEWAY_NEW_* environment variables."""
    pf_key = os.environ.get(PF_KEY_ENV) or None
    jira_token = os.environ.get(JIRA_TOKEN_ENV) or None
    if pf_stdin:
        pf_key = sys.stdin.readline().rstrip("\r\n") or None
    if jira_stdin:
        jira_token = sys.stdin.readline().rstrip("\r\n") or None
    return pf_key, jira_token


def domain_add(
    name: Annotated[
        str,
        typer.Argument(help="Unique domain name: letters, digits, '.', '_', '-' (not all digits)."),
    ],
    pf_base_url: Annotated[
        str, typer.Option(help=f"PeopleForce base URL, e.g. {PF_BASE_URL_EXAMPLE}.")
    ],
    jira_base_url: Annotated[str, typer.Option(help="Jira Cloud site URL.")],
    jira_email: Annotated[str, typer.Option(help="Jira account email of the API token.")] = "",
    pf_api_key_stdin: Annotated[
        bool,
        typer.Option(
            "--pf-api-key-stdin",
            help=f"Read the PeopleForce API key from stdin (else ${PF_KEY_ENV}).",
        ),
    ] = False,
    jira_api_token_stdin: Annotated[
        bool,
        typer.Option(
            "--jira-api-token-stdin",
            help=f"Read the Jira API token from stdin, after the PeopleForce key "
            f"(else ${JIRA_TOKEN_ENV}).",
        ),
    ] = False,
    poll_interval: Annotated[
        int, typer.Option(help="Seconds between ticks.")
    ] = DOMAIN_DEFAULTS.poll_interval_seconds,
    max_concurrency: Annotated[
        int, typer.Option(help="Cap of parallel Jira requests (the window adapts below it).")
    ] = DOMAIN_DEFAULTS.max_concurrency,
    tracking_label: Annotated[
        str, typer.Option(help="Jira label on synced issues.")
    ] = DOMAIN_DEFAULTS.tracking_label,
    property_key: Annotated[
        str, typer.Option(help="Jira entity property key.")
    ] = DOMAIN_DEFAULTS.property_key,
    fallback_project: Annotated[
        str | None, typer.Option(help="Project when no rule matches.")
    ] = None,
    fallback_issue_type: Annotated[
        str, typer.Option(help="Issue type when no rule sets one.")
    ] = DOMAIN_DEFAULTS.fallback_issue_type,
    sync_since: Annotated[
        datetime | None, typer.Option(help="Ignore tasks created before this time (UTC).")
    ] = None,
    reopen_policy: Annotated[
        ReopenPolicy, typer.Option(help="On a reopened Jira issue.")
    ] = DOMAIN_DEFAULTS.reopen_policy,
    deletion_policy: Annotated[
        DeletionPolicy, typer.Option(help="On a deleted PeopleForce task.")
    ] = DOMAIN_DEFAULTS.deletion_policy,
    sweep_time: Annotated[
        str, typer.Option(help="Daily sweep time, HH:MM UTC.")
    ] = DOMAIN_DEFAULTS.sweep_time,
    sweep_window_hours: Annotated[
        int, typer.Option(help="Sweep look-back, hours (>= 24).")
    ] = DOMAIN_DEFAULTS.sweep_window_hours,
    reconcile_interval_minutes: Annotated[
        int, typer.Option(help="Minutes between reconcile passes (drift made in Jira).")
    ] = DOMAIN_DEFAULTS.reconcile_interval_minutes,
    reopen_window_days: Annotated[
        int, typer.Option(help="Days a completed task's issue is still read for reopens.")
    ] = DOMAIN_DEFAULTS.reopen_window_days,
    deleted_issue_policy: Annotated[
        DeletedIssuePolicy, typer.Option(help="On an issue deleted in Jira.")
    ] = DOMAIN_DEFAULTS.deleted_issue_policy,
    edited_field_policy: Annotated[
        EditedFieldPolicy, typer.Option(help="On a synced field edited in Jira.")
    ] = DOMAIN_DEFAULTS.edited_field_policy,
    paused: Annotated[
        bool, typer.Option("--paused", help="Create it paused.")
    ] = not DOMAIN_DEFAULTS.is_active,
) -> None:
    """Add a sync domain.

    Secrets never go on the command line: with both --pf-api-key-stdin and
    --jira-api-token-stdin, stdin holds two lines, the PeopleForce API key first and
    the Jira API token second (or set GATEWAY_NEW_PF_API_KEY / GATEWAY_NEW_JIRA_API_TOKEN).
    Without --sync-since every open task syncs, however old.
    """
    pf_key, jira_token = read_secrets(pf_api_key_stdin, jira_api_token_stdin)
    with database() as session:
        data = DomainCreate.model_validate(
            {
                "name": name,
                "is_active": not paused,
                "poll_interval_seconds": poll_interval,
                "max_concurrency": max_concurrency,
                "pf_base_url": pf_base_url,
                "pf_api_key": pf_key,
                "jira_base_url": jira_base_url,
                "jira_email": jira_email,
                "jira_api_token": jira_token,
                "tracking_label": tracking_label,
                "property_key": property_key,
                "fallback_project_key": fallback_project,
                "fallback_issue_type": fallback_issue_type,
                "sync_since": sync_since,
                "reopen_policy": reopen_policy,
                "deletion_policy": deletion_policy,
                "sweep_time": sweep_time,
                "sweep_window_hours": sweep_window_hours,
                "reconcile_interval_minutes": reconcile_interval_minutes,
                "reopen_window_days": reopen_window_days,
                "deleted_issue_policy": deleted_issue_policy,
                "edited_field_policy": edited_field_policy,
            }
        )
        shown = DomainOut.of(domains.create_domain(session, data))
    out.print(f"created domain {shown.id} ({shown.name})", highlight=False)
    print_warnings(shown)


def print_warnings(shown: DomainOut) -> None:
    for warning in shown.warnings:
        out.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)


def domain_update(
    domain: DomainRef,
    name: Annotated[str | None, typer.Option(help="Rename the domain.")] = None,
    pf_base_url: Annotated[
        str | None, typer.Option(help=f"PeopleForce base URL, e.g. {PF_BASE_URL_EXAMPLE}.")
    ] = None,
    jira_base_url: Annotated[str | None, typer.Option(help="Jira Cloud site URL.")] = None,
    jira_email: Annotated[
        str | None, typer.Option(help="Jira account email of the API token.")
    ] = None,
    pf_api_key_stdin: Annotated[
        bool,
        typer.Option(
            "--pf-api-key-stdin",
            help=f"Read a new PeopleForce API key from stdin (else ${PF_KEY_ENV}, if set).",
        ),
    ] = False,
    jira_api_token_stdin: Annotated[
        bool,
        typer.Option(
            "--jira-api-token-stdin",
            help=f"Read a new Jira API token from stdin, after the PeopleForce key "
            f"(else ${JIRA_TOKEN_ENV}, if set).",
        ),
    ] = False,
    active: Annotated[
        bool | None, typer.Option("--active/--paused", help="Resume or pause syncing.")
    ] = None,
    poll_interval: Annotated[int | None, typer.Option(help="Seconds between ticks.")] = None,
    max_concurrency: Annotated[
        int | None, typer.Option(help="Cap of parallel Jira requests (the window adapts below it).")
    ] = None,
    tracking_label: Annotated[str | None, typer.Option(help="Jira label on synced issues.")] = None,
    property_key: Annotated[str | None, typer.Option(help="Jira entity property key.")] = None,
    fallback_project: Annotated[
        str | None, typer.Option(help='Project when no rule matches ("" removes it).')
    ] = None,
    fallback_issue_type: Annotated[
        str | None, typer.Option(help="Issue type when no rule sets one.")
    ] = None,
    sync_since: Annotated[
        datetime | None, typer.Option(help="Ignore tasks created before this time (UTC).")
    ] = None,
    clear_sync_since: Annotated[
        bool, typer.Option(help="Remove sync_since: every open task syncs.")
    ] = False,
    reopen_policy: Annotated[
        ReopenPolicy | None, typer.Option(help="On a reopened Jira issue.")
    ] = None,
    deletion_policy: Annotated[
        DeletionPolicy | None, typer.Option(help="On a deleted PeopleForce task.")
    ] = None,
    sweep_time: Annotated[str | None, typer.Option(help="Daily sweep time, HH:MM UTC.")] = None,
    sweep_window_hours: Annotated[
        int | None, typer.Option(help="Sweep look-back, hours (>= 24).")
    ] = None,
    reconcile_interval_minutes: Annotated[
        int | None, typer.Option(help="Minutes between reconcile passes (drift made in Jira).")
    ] = None,
    reopen_window_days: Annotated[
        int | None, typer.Option(help="Days a completed task's issue is still read for reopens.")
    ] = None,
    deleted_issue_policy: Annotated[
        DeletedIssuePolicy | None, typer.Option(help="On an issue deleted in Jira.")
    ] = None,
    edited_field_policy: Annotated[
        EditedFieldPolicy | None, typer.Option(help="On a synced field edited in Jira.")
    ] = None,
) -> None:
    """Change a domain's settings; options not given keep their value.

    Secrets never go on the command line: --pf-api-key-stdin and
    --jira-api-token-stdin read one line each from stdin (PeopleForce key first),
    or set GATEWAY_NEW_PF_API_KEY / GATEWAY_NEW_JIRA_API_TOKEN.
    """
    pf_key, jira_token = read_secrets(pf_api_key_stdin, jira_api_token_stdin)
    given = {
        "name": name,
        "is_active": active,
        "poll_interval_seconds": poll_interval,
        "max_concurrency": max_concurrency,
        "pf_base_url": pf_base_url,
        "pf_api_key": pf_key,
        "jira_base_url": jira_base_url,
        "jira_email": jira_email,
        "jira_api_token": jira_token,
        "tracking_label": tracking_label,
        "property_key": property_key,
        "fallback_project_key": fallback_project,
        "fallback_issue_type": fallback_issue_type,
        "sync_since": sync_since,
        "reopen_policy": reopen_policy,
        "deletion_policy": deletion_policy,
        "sweep_time": sweep_time,
        "sweep_window_hours": sweep_window_hours,
        "reconcile_interval_minutes": reconcile_interval_minutes,
        "reopen_window_days": reopen_window_days,
        "deleted_issue_policy": deleted_issue_policy,
        "edited_field_policy": edited_field_policy,
    }
    changes: dict[str, object] = {k: v for k, v in given.items() if v is not None}
    if clear_sync_since:
        changes["sync_since"] = None
    if not changes:
        raise fail("nothing to change: give at least one option (see --help)")
    with database() as session:
        found = domains.find_domain(session, domain)
        data = DomainUpdate.model_validate(changes)
        shown = DomainOut.of(domains.update_domain(session, found, data))
    changed = ", ".join(sorted(changes))
    out.print(f"updated domain {shown.id} ({shown.name}): {changed}", highlight=False)
    print_warnings(shown)
