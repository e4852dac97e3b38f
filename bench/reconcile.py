"""Benchmark 6, the reconciler: one pass over every open mapping, a few drifted.

N synced tasks with their issues and the fields the gateway wrote; people drifted
K issues in Jira with no webhook: a fifth each had the tracking label stripped,
were moved to another project, deleted, closed, or had their summary edited. One
reconcile pass (``run_reconcile``, in a child process) reads every issue by id,
100 per bulkfetch, and repairs the drift with the domain's default policies.
Target: ``ceil(N/100)`` reads plus the repairs' own requests.
"""

from __future__ import annotations

import math
import random
from typing import Any

from sqlalchemy import bindparam, update

from bench.env import GatewayEnv
from bench.procs import run_gateway_op
from bench.report import BenchResult
from bench.upstreams import seed_issues, seed_open_tasks
from gateway.models import SyncState

TASKS, DRIFTED = 10_000, 50
QUICK_TASKS, QUICK_DRIFTED = 2_000, 10
BULK_PATH = "/rest/api/3/issue/bulkfetch"
KINDS = ("label", "move", "delete", "close", "edit")
REPAIRS = ("labels_restored", "moved", "deleted", "completed", "reopened", "fields_overwritten")


def _record_written_fields(env: GatewayEnv, tasks: list[dict[str, Any]]) -> None:
    """What a tick leaves in ``last_synced_fields``: the summary and the label it wrote."""
    rows = [
        {"task": t["id"], "fields": {"summary": t["title"], "labels": ["PeopleForce"]}}
        for t in tasks
    ]
    statement = (
        update(SyncState)
        .where(SyncState.pf_task_id == bindparam("task"))  # ty: ignore[invalid-argument-type]
        .values(last_synced_fields=bindparam("fields"))
    )
    with env.engine.begin() as connection:
        connection.execute(statement, rows)


def _drift(env: GatewayEnv, tasks: list[dict[str, Any]], issues: dict, drifted: int) -> None:
    """People drift ``drifted`` issues, a fifth of them each way."""
    jira = env.jira
    chosen = random.Random(5).sample(tasks, drifted)
    for n, task in enumerate(chosen):
        key = issues[task["id"]][1]
        kind = KINDS[n % len(KINDS)]
        if kind == "label":
            jira.remove_labels(key, "PeopleForce")
        elif kind == "move":
            jira.move(key, "IT")
        elif kind == "delete":
            jira.delete(key)
        elif kind == "close":
            jira.transition(key, to_category="done")
        else:
            jira.edit(key, summary="Renamed by a person")


def measure(n: int, drifted: int) -> dict[str, Any]:
    """Seed ``n`` synced mappings, drift ``drifted`` issues, run one reconcile pass."""
    with GatewayEnv("reconcile") as env:
        tasks = seed_open_tasks(env.pf, n)
        domain_id = env.add_domain()
        issues = seed_issues(env.jira, tasks, domain_id)
        env.seed_synced(domain_id, tasks, issues)
        _record_written_fields(env, tasks)
        _drift(env, tasks, issues, drifted)
        env.jira_faults.reset_log()
        env.pf_faults.reset_log()
        outcome = run_gateway_op("reconcile", env.runner_settings(), domain_id)
        jira_requests = env.jira_faults.requests
        pf_requests = env.pf_faults.requests
    reads = sum(1 for r in jira_requests if r.endpoint == BULK_PATH)
    report = outcome["outcome"]
    return {
        "wall": outcome["wall"],
        "cpu": outcome["cpu"],
        "peak_rss_mb": outcome["peak_rss_mb"],
        "bulk_reads": reads,
        "jira_other": len(jira_requests) - reads,
        "pf_requests": len(pf_requests),
        "report": {k: v for k, v in report.items() if isinstance(v, int)},
        "errors": report.get("errors", []),
    }


def run(quick: bool = False) -> BenchResult:
    n, drifted = (QUICK_TASKS, QUICK_DRIFTED) if quick else (TASKS, DRIFTED)
    result = BenchResult(
        "reconcile",
        "Reconciler: one pass over every open mapping",
        params={"open_mappings": n, "drifted_issues": drifted, "kinds": list(KINDS)},
    )
    figures = measure(n, drifted)
    result.figures = figures
    report = figures["report"]
    repaired = sum(report.get(name, 0) for name in REPAIRS)
    table = result.section(
        f"{n:,} open mappings, {drifted} issues drifted by people in Jira",
        ["bulk reads", "other Jira", "PeopleForce", "repaired", "edits left", "wall s", "CPU s"],
    )
    table.add(
        figures["bulk_reads"],
        figures["jira_other"],
        figures["pf_requests"],
        repaired,
        report.get("fields_left", 0),
        figures["wall"],
        figures["cpu"],
    )
    reads = math.ceil(n / 100)
    repair_requests = figures["jira_other"] + figures["pf_requests"]
    result.target(
        "requests",
        f"ceil({n}/100) = {reads} reads + the repairs' own",
        f"{figures['bulk_reads']} reads + {repair_requests} = "
        f"{figures['bulk_reads'] + repair_requests}",
        figures["bulk_reads"] == reads and not figures["errors"],
    )
    per_kind = drifted // len(KINDS)
    result.target(
        "every drift handled",
        f"{per_kind} each: label, move, delete, close, edit",
        ", ".join(
            f"{report.get(name, 0)} {name}"
            for name in ("labels_restored", "moved", "deleted", "completed", "fields_left")
        ),
        all(
            report.get(name, 0) == per_kind
            for name in ("labels_restored", "moved", "deleted", "completed", "fields_left")
        ),
    )
    result.notes.append(
        "repairs: a restored label is one PUT; a move and a deletion only write the ledger "
        "(the next tick recreates a deleted issue); a close re-reads nothing and completes "
        "the task in PeopleForce; an edited summary is left and audited (policy leave)"
    )
    return result
