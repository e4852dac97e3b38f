"""How hard the sync core tries before it gives up on a task, a domain or a search.

Installation settings (``GATEWAY_*``), declared here beside the code they tune
and mixed into ``gateway.settings.Settings``: the per-task back-off and its dead
letter, the circuit breaker, and the hard caps of the sweep and of completion
confirmation. Each cap is loud when hit, never a silent stop.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class SyncTuning(BaseModel):
    """Back-off, breaker and cap settings (see ``gateway.sync.breaker``, ``sweeper``,
    ``completion`` and ``tick_context``)."""

    task_backoff_base_seconds: float = Field(
        default=60.0,
        gt=0,
        description="First wait before a task whose upstream call failed transiently is "
        "tried again; doubles with each failure.",
    )
    task_backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest wait between tries of one failing task."
    )
    task_transient_dead_letter_after: int = Field(
        default=8,
        ge=1,
        le=100,
        description="Transient failures of one task in a row before it is dead-lettered "
        "(only while other tasks of its domain sync: an outage is waited out).",
    )
    breaker_threshold: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Authentication failures (401/403) in a row, or creates refused with "
        "400 in one tick with none accepted, that open a domain's circuit breaker: its "
        "ticks stop writing until a probe succeeds.",
    )
    breaker_probe_seconds: float = Field(
        default=300.0, gt=0, description="How often an open circuit breaker probes the upstream."
    )
    sweep_page_size: int = Field(
        default=100, ge=1, le=100, description="Issues per page of the sweep's JQL search."
    )
    sweep_max_pages: int = Field(
        default=1000,
        ge=1,
        description="Hard cap of the sweep's search pages; a sweep that hits it keeps its "
        "window, counts gateway_sweep_capped_total and alerts (raise it, do not ignore it).",
    )
    completed_scan_max_pages: int = Field(
        default=2000,
        ge=1,
        description="Hard cap of the pages of PeopleForce's completed list read to confirm "
        "that tasks which left the open list were completed (50 tasks a page).",
    )
