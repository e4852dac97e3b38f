"""Benchmark: one million audit events pruned to the retention window.

A migrated SQLite file gets 1 000 000 audit events spread evenly over the last
365 days (so about three quarters are older than the 90-day window), 50 000 ledger
rows, 200 open dead letters and 100 creates of unknown outcome, whose old events the
keep rules protect. A child process runs the prune exactly as the worker's hourly
job does (``gateway.maintenance.retention.prune_audit``, default batch and pause)
while a second thread of the child inserts an audit event every 20 ms, as ticks and
webhook jobs do, and times each insert: its slowest insert is what a writer waited
for the prune's lock. The same writer first runs alone (30 s, 10 s with --quick), so
the machine's own noise is measured side by side. Reported: time, peak RSS of the
child (VmHWM), the longest single delete transaction (target < 100 ms; the time
includes the WAL checkpoint SQLite may run after a commit, once the lock is
released, so it is an upper bound of the lock), the writer's p99 and slowest insert,
and the file size before and after (SQLite keeps freed pages for new rows instead
of shrinking the file, so the pages in use are reported too).
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.report import BenchResult

EVENTS, QUICK_EVENTS = 1_000_000, 100_000
TASKS, DEAD_LETTERS, PENDING = 50_000, 200, 100
SPAN_DAYS, RETENTION_DAYS = 365, 90
WRITER_INTERVAL_SECONDS = 0.02
# How long the writer runs alone first, for its figures without a prune beside it.
BASELINE_SECONDS, QUICK_BASELINE_SECONDS = 30.0, 10.0
EVENT_TYPES = ("updated",) * 7 + ("created", "transitioned", "assignee_unmatched")
INSERT_EVENT = (
    "INSERT INTO sync_event (domain_id, pf_task_id, jira_issue_id, jira_issue_key, event_type,"
    " actor, reason, details, created_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)"
)


def _stamp(moment: datetime) -> str:
    """How SQLAlchemy stores a DateTime on SQLite."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _event_rows(count: int, now: datetime, domain_id: int) -> Any:
    """``count`` events oldest first, evenly over the last ``SPAN_DAYS`` days."""
    rng = random.Random(19)
    step = SPAN_DAYS * 86_400 / count
    start = now - timedelta(days=SPAN_DAYS)
    details = json.dumps({"fields": ["summary", "description"], "hash": "0" * 64})
    for index in range(count):
        task = rng.randrange(1, TASKS + 1)
        kind = rng.choice(EVENT_TYPES)
        yield (
            domain_id,
            task,
            str(10_000 + task),
            f"HR-{task}",
            kind,
            f"{kind} HR-{task} for task {task}",
            details,
            _stamp(start + timedelta(seconds=index * step)),
        )


def seed(path: Path, events: int) -> dict[str, int]:
    """A migrated database with ``events`` audit events and the rows keep rules read."""
    from gateway.db import make_engine
    from gateway.demo.records import domain_values, insert_domain
    from gateway.migrate import upgrade
    from gateway.security.crypto import load_cipher
    from gateway.settings import load_settings

    url = f"sqlite:///{path}"
    upgrade(url)
    settings = load_settings(data_dir=path.parent, database_url=url)
    engine = make_engine(url, cipher=load_cipher(settings))
    domain_id = insert_domain(engine, domain_values("http://pf.invalid", "http://jira.invalid"))
    engine.dispose()
    now = datetime.now(UTC)
    with sqlite3.connect(path) as db:
        db.executemany(INSERT_EVENT, _event_rows(events, now, domain_id))
        states = [
            (domain_id, task, "pending_create" if task <= PENDING else "synced", _stamp(now))
            for task in range(1, TASKS + 1)
        ]
        db.executemany(
            "INSERT INTO sync_state (domain_id, pf_task_id, status, is_completed, "
            "transient_failures, created_at, updated_at) VALUES (?, ?, ?, 0, 0, ?, ?)",
            [(*row, row[-1]) for row in states],
        )
        db.executemany(
            "INSERT INTO dead_letter (domain_id, pf_task_id, operation, error_message, attempts,"
            " created_at) VALUES (?, ?, 'update', 'HTTP 400', 1, ?)",
            [(domain_id, PENDING + n, _stamp(now)) for n in range(1, DEAD_LETTERS + 1)],
        )
    return {"domain_id": domain_id}


def peak_rss_mb() -> float:
    """VmHWM of this process: the child's own peak, not inherited from the parent."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _sizes(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
        rows = db.execute("SELECT count(*) FROM sync_event").fetchone()[0]
    return {"file": path.stat().st_size, "in_use": (pages - free) * size, "events": rows}


def _writer(url: str, stop: threading.Event, waits: list[float]) -> None:
    """Insert an audit event every few ms, as the sync flows do, timing each insert."""
    from gateway.db import make_engine, session_scope
    from gateway.models import SyncEvent

    engine = make_engine(url)
    while not stop.is_set():
        started = time.perf_counter()
        with session_scope(engine) as session:
            session.add(SyncEvent(domain_id=1, event_type="updated", reason="writer"))
        waits.append(time.perf_counter() - started)
        stop.wait(WRITER_INTERVAL_SECONDS)
    engine.dispose()


def _writer_alone(url: str, seconds: float) -> list[float]:
    """The writer's insert times with no prune running: the machine's own noise."""
    stop, waits = threading.Event(), list[float]()
    writer = threading.Thread(target=_writer, args=(url, stop, waits))
    writer.start()
    time.sleep(seconds)
    stop.set()
    writer.join()
    return waits


def _p99_ms(waits: list[float]) -> float:
    ordered = sorted(waits)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def child(path: str, baseline_seconds: float) -> dict[str, Any]:
    """The writer alone, then the prune as the worker's job does beside the same writer."""
    from dataclasses import asdict

    from gateway.db import make_engine
    from gateway.maintenance.retention import prune_audit

    url = f"sqlite:///{path}"
    alone = _writer_alone(url, baseline_seconds)
    engine = make_engine(url)
    stop, waits = threading.Event(), list[float]()
    writer = threading.Thread(target=_writer, args=(url, stop, waits))
    writer.start()
    started, cpu = time.perf_counter(), time.process_time()
    report = asyncio.run(prune_audit(engine, RETENTION_DAYS))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    stop.set()
    writer.join()
    engine.dispose()
    figures = asdict(report) | {"wall": wall, "cpu": cpu, "peak_rss_mb": peak_rss_mb()}
    figures["cutoff"] = str(figures["cutoff"])
    return figures | {
        "writer_inserts": len(waits),
        "writer_max_ms": max(waits) * 1000,
        "writer_p99_ms": _p99_ms(waits),
        "alone_inserts": len(alone),
        "alone_max_ms": max(alone) * 1000,
        "alone_p99_ms": _p99_ms(alone),
    }


def run(quick: bool = False) -> BenchResult:
    events = QUICK_EVENTS if quick else EVENTS
    result = BenchResult(
        "prune",
        f"{events:,} audit events pruned to a {RETENTION_DAYS}-day window",
        params={"events": events, "span_days": SPAN_DAYS, "retention_days": RETENTION_DAYS},
    )
    with tempfile.TemporaryDirectory(prefix="bench-prune-") as folder:
        path = Path(folder) / "gateway.db"
        seeding = time.perf_counter()
        seed(path, events)
        seed_seconds = time.perf_counter() - seeding
        before = _sizes(path)
        baseline = QUICK_BASELINE_SECONDS if quick else BASELINE_SECONDS
        done = subprocess.run(
            [sys.executable, "-m", "bench.prune", str(path), str(baseline)],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        after = _sizes(path)
    result.figures = {"prune": figures, "before": before, "after": after, "seed_s": seed_seconds}
    mb = 1024 * 1024
    table = result.section(
        "the worker job's prune (batches of up to 5 000 aimed at 50 ms, 50 ms pause)",
        ["deleted", "kept by rules", "batches", "wall s", "CPU s", "peak RSS MB",
         "median batch ms", "longest batch ms"],
    )  # fmt: skip
    table.add(
        figures["deleted"],
        figures["kept_by_rules"],
        figures["batches"],
        figures["wall"],
        figures["cpu"],
        figures["peak_rss_mb"],
        figures["median_batch_ms"],
        figures["longest_batch_ms"],
    )
    writer = result.section(
        "a writer inserting an audit event every 20 ms", ["", "inserts", "p99 ms", "slowest ms"]
    )
    writer.add("alone", figures["alone_inserts"], figures["alone_p99_ms"], figures["alone_max_ms"])
    writer.add(
        "beside the prune",
        figures["writer_inserts"],
        figures["writer_p99_ms"],
        figures["writer_max_ms"],
    )
    sizes = result.section("database", ["", "events", "file MB", "pages in use MB"])
    sizes.add("before", before["events"], before["file"] / mb, before["in_use"] / mb)
    sizes.add("after", after["events"], after["file"] / mb, after["in_use"] / mb)
    result.target(
        "longest single write lock",
        "< 100 ms",
        f"{figures['longest_batch_ms']:.0f} ms",
        figures["longest_batch_ms"] < 100,
    )
    result.notes.append(
        "SQLite keeps freed pages for new rows; the file shrinks only with VACUUM "
        "(offline), which a steady retention never needs"
    )
    return result


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], float(sys.argv[2]))))
