"""Sessions bound to their account: a random session epoch per admin account, and
admin ids that are never reused (AUTOINCREMENT on SQLite).

Existing accounts get a random epoch here; session cookies issued before this
revision carry none, so their holders sign in again once.

Revision ID: 0007_session_epoch
Revises: 0006_drift
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0007_session_epoch"
down_revision = "0006_drift"
branch_labels = None
depends_on = None

EPOCH_LENGTH = 64


def upgrade() -> None:
    with op.batch_alter_table("admin_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", AutoString(length=EPOCH_LENGTH), nullable=True)
        )
    connection = op.get_bind()
    users = sa.table("admin_user", sa.column("id", sa.Integer), sa.column("session_epoch"))
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(
            users.update()
            .where(users.c.id == user_id)
            .values(session_epoch=secrets.token_urlsafe(24))
        )
    # SQLite hands a deleted row's id (max(id) + 1) to the next insert unless the table is
    # AUTOINCREMENT, which only a rebuilt table can become; PostgreSQL's sequence never
    # goes back, so it needs no change.
    sqlite = connection.dialect.name == "sqlite"
    with op.batch_alter_table(
        "admin_user",
        schema=None,
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as batch_op:
        batch_op.alter_column(
            "session_epoch", existing_type=AutoString(length=EPOCH_LENGTH), nullable=False
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "admin_user",
        schema=None,
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": False} if sqlite else {},
    ) as batch_op:
        batch_op.drop_column("session_epoch")
