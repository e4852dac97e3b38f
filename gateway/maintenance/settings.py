"""Installation settings of the upkeep jobs (``GATEWAY_*``), mixed into ``Settings``.

Declared beside the code they tune, as ``gateway.sync.tuning`` does for the sync core.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class MaintenanceSettings(BaseModel):
    """Audit retention (see ``gateway.maintenance.retention``)."""

    audit_retention_days: int = Field(
        default=90,
        ge=0,
        le=36500,
        description="Audit events older than this many days are pruned hourly by the "
        "workers (what open dead letters and unsettled tasks need is kept); 0 = keep forever.",
    )
