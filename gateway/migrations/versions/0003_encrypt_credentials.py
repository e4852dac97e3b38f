"""Credentials encrypted at rest; roles on accounts and API tokens; who did an admin change.

Existing PeopleForce keys and Jira tokens are encrypted with the credentials key
(``GATEWAY_CREDENTIALS_KEYS`` or the key generated under the data folder), and
decrypted again on downgrade. Existing accounts and tokens become ``admin``, as
they could do everything before. ``sync_event.actor`` names who made an admin
change (empty for the gateway's own events).

Revision ID: 0003_encrypt_credentials
Revises: 0002
Create Date: 2026-11-30 21:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

from gateway.security.crypto import CREDENTIAL_COLUMNS, default_cipher, transform_stored

revision = "0003_encrypt_credentials"
down_revision = "0002"
branch_labels = None
depends_on = None


def _encrypt(value: str) -> str:
    return default_cipher().encrypt(value)


def _decrypt(value: str) -> str:
    return default_cipher().decrypt(value)


def upgrade() -> None:
    for table in ("admin_user", "api_token"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("role", AutoString(length=20), nullable=False, server_default="admin")
            )
    with op.batch_alter_table("sync_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor", AutoString(length=120), nullable=True))
        batch_op.create_index(batch_op.f("ix_sync_event_actor"), ["actor"], unique=False)
    transform_stored(op.get_bind(), _encrypt, CREDENTIAL_COLUMNS)


def downgrade() -> None:
    transform_stored(op.get_bind(), _decrypt, CREDENTIAL_COLUMNS)
    with op.batch_alter_table("sync_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_event_actor"))
        batch_op.drop_column("actor")
    for table in ("api_token", "admin_user"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("role")
