"""The breaker counts creates Jira refused with 400 across ticks, not within one.

Revision ID: 0008_refused_creates
Revises: 0007_session_epoch
Create Date: 2026-12-01 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_refused_creates"
down_revision = "0007_session_epoch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("domain_config", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("breaker_refused_creates", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("domain_config", schema=None) as batch_op:
        batch_op.drop_column("breaker_refused_creates")
