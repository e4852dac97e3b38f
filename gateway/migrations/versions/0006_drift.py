"""Poison tasks (a parked operation and a back-off per task) and the circuit breaker.

Revision ID: 0006_drift
Revises: 0005_reconcile
Create Date: 2026-11-30 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0006_drift"
down_revision = "0005_reconcile"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parked_operation", AutoString(length=30), nullable=True))
        batch_op.add_column(
            sa.Column("transient_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("retry_not_before", UTCDateTime(), nullable=True))
    with op.batch_alter_table("domain_config", schema=None) as batch_op:
        batch_op.add_column(sa.Column("breaker_opened_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("breaker_reason", AutoString(), nullable=True))
        batch_op.add_column(sa.Column("breaker_next_probe_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("breaker_strikes", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("domain_config", schema=None) as batch_op:
        batch_op.drop_column("breaker_strikes")
        batch_op.drop_column("breaker_next_probe_at")
        batch_op.drop_column("breaker_reason")
        batch_op.drop_column("breaker_opened_at")
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.drop_column("retry_not_before")
        batch_op.drop_column("transient_failures")
        batch_op.drop_column("parked_operation")
