"""The Grafana dashboard queries only metrics the gateway exports; the README places them all."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from gateway import metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "ops" / "grafana" / "gateway.json"
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}
MAIN_PANELS = ("lag", "ticks", "writes", "errors", "webhooks", "dead letters")


def exported_names() -> set[str]:
    """Every sample name the gateway's metrics produce (``_total``, ``_bucket``...)."""
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


def test_every_queried_metric_exists_and_the_main_panels_are_there() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exported = exported_names()
    queried: set[str] = set()
    for panel in dashboard["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            queried.update(re.findall(r"\bgateway_[a-z_]+\b", target["expr"]))
    assert queried, "the dashboard queries nothing"
    assert queried <= exported, sorted(queried - exported)
    titles = " | ".join(panel["title"].lower() for panel in dashboard["panels"])
    assert all(word in titles for word in MAIN_PANELS), titles


def test_the_readme_metrics_table_says_where_each_metric_is_served() -> None:
    readme = (DASHBOARD.parents[2] / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `gateway_")]
    assert rows and all("/metrics" in row for row in rows)
    table = "\n".join(rows)
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                shown = family.name + ("_total" if family.type == "counter" else "")
                assert f"`{shown}`" in table, shown
