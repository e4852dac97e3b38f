"""The reconciler's domain settings and bookkeeping, and drift already audited per task.

Revision ID: 0005_reconcile
Revises: 0004_webhook_secrets
Create Date: 2026-11-30 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

revision = "0005_reconcile"
down_revision = "0004_webhook_secrets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("domain_config", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reconcile_interval_minutes", sa.Integer(), nullable=False, server_default="60"
            )
        )
        batch_op.add_column(
            sa.Column("reopen_window_days", sa.Integer(), nullable=False, server_default="30")
        )
        batch_op.add_column(
            sa.Column(
                "deleted_issue_policy",
                AutoString(length=30),
                nullable=False,
                server_default="recreate",
            )
        )
        batch_op.add_column(
            sa.Column(
                "edited_field_policy", AutoString(length=30), nullable=False, server_default="leave"
            )
        )
        batch_op.add_column(sa.Column("last_reconcile_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("next_reconcile_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_reconcile_outcome", AutoString(), nullable=True))
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_drift", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_state", schema=None) as batch_op:
        batch_op.drop_column("acknowledged_drift")
    with op.batch_alter_table("domain_config", schema=None) as batch_op:
        batch_op.drop_column("last_reconcile_outcome")
        batch_op.drop_column("next_reconcile_at")
        batch_op.drop_column("last_reconcile_at")
        batch_op.drop_column("edited_field_policy")
        batch_op.drop_column("deleted_issue_policy")
        batch_op.drop_column("reopen_window_days")
        batch_op.drop_column("reconcile_interval_minutes")
