"""bench.charts draws every chart from the JSON the benchmark rows write.

Synthetic documents in the rows' own format go in; real PNG files must come out,
and a row that did not run (or lacks a series) means no chart rather than an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.charts import CHARTS, write_charts
from bench.series import per_second
from fakes.faults import RecordedRequest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MACHINE = {"cpu_count": 2, "cpu_model": "Test CPU", "python": "3.11.7"}
CREATE = "/rest/api/3/issue"


def _closed(scale: float) -> list[dict[str, Any]]:
    return [
        {"level": level, "throughput": scale * level**0.5, "p50_ms": level, "p99_ms": 3 * level}
        for level in (1, 4, 16, 64)
    ]


def _timeline() -> dict[str, Any]:
    requests = [
        RecordedRequest("POST", CREATE, CREATE, 429 if i % 40 == 0 else 201, at=100 + i / 90)
        for i in range(300)
    ]
    return per_second(requests, "POST", CREATE)


DOCUMENTS: dict[str, dict[str, Any]] = {
    "ingress": {"figures": {"closed": {"gateway": _closed(900), "bare": _closed(2000)}}},
    "initial_sync": {
        "params": {"tasks": 300, "limit_per_s": 100},
        "figures": {"runs": [{"concurrency": 4, "timeline": _timeline()}]},
    },
    "tick": {
        "figures": {
            "sizes": [
                {
                    "tasks": n,
                    "cpu_per_task_us": 90.0,
                    "listing_client_cpu": n * 30e-6,
                    "decode_per_task_us": 6.0,
                    "parse_per_task_us": 5.0,
                    "hash_per_task_us": 11.0,
                }
                for n in (1_000, 10_000, 50_000)
            ]
        }
    },
    "fleet": {
        "params": {"domains": 3, "tasks_per_domain": 2500, "workers": 3, "database": "sqlite"},
        "figures": {
            "domains": [
                {"domain": i, "interval": 10 + i, "lateness": [0.02, 0.1 * i, 0.3]}
                for i in range(3)
            ]
        },
    },
}


def _write(folder: Path, name: str, document: dict[str, Any]) -> None:
    full = {"name": name, "machine": MACHINE, "started_at": "2026-12-01T00:00:00", **document}
    (folder / f"latest-{name}.json").write_text(json.dumps(full))


def test_every_chart_is_drawn_from_the_rows_json(tmp_path: Path) -> None:
    for name, document in DOCUMENTS.items():
        _write(tmp_path, name, document)
    out = tmp_path / "charts"

    written = write_charts(tmp_path, out)

    assert sorted(p.name for p in written) == sorted(CHARTS)
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert len(data) > 10_000  # axes, lines and labels, not an empty canvas


def test_a_row_that_did_not_run_has_no_chart_and_no_error(tmp_path: Path) -> None:
    _write(tmp_path, "tick", DOCUMENTS["tick"])
    # An initial-sync JSON from before the timeline series: nothing to draw.
    _write(tmp_path, "initial_sync", {"figures": {"runs": [{"concurrency": 4}]}})

    written = write_charts(tmp_path)

    assert [p.name for p in written] == ["tick.png"]
    assert not (tmp_path / "initial_sync.png").exists()


def test_per_second_counts_creates_and_429s_by_second_of_arrival() -> None:
    requests = [
        RecordedRequest("POST", CREATE, CREATE, 201, at=10.0),
        RecordedRequest("POST", CREATE, CREATE, 201, at=10.9),
        RecordedRequest("POST", CREATE, CREATE, 429, at=11.2),
        RecordedRequest("GET", "/rest/api/3/user/search", "/rest/api/3/user/search", 200, at=12.5),
        RecordedRequest("POST", CREATE, CREATE, 201, at=12.1),
    ]

    series = per_second(requests, "POST", CREATE)

    assert series == {"seconds": [0, 1, 2], "ok": [2, 0, 1], "rate_limited": [0, 1, 0]}
