"""Per-domain webhooks: a public id for each domain's URL, its secret and the previous one.

Existing domains get a random public id here, so every domain has its own URL at once.

Revision ID: 0004_webhook_secrets
Revises: 0003_encrypt_credentials
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0004_webhook_secrets"
down_revision = "0003_encrypt_credentials"
branch_labels = None
depends_on = None

PUBLIC_ID_LENGTH = 16


def upgrade() -> None:
    with op.batch_alter_table("domain_config", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public_id", AutoString(length=PUBLIC_ID_LENGTH), nullable=True)
        )
        batch_op.add_column(sa.Column("webhook_secret", AutoString(length=255), nullable=True))
        batch_op.add_column(
            sa.Column("webhook_secret_previous", AutoString(length=255), nullable=True)
        )
    connection = op.get_bind()
    domains = sa.table("domain_config", sa.column("id", sa.Integer), sa.column("public_id"))
    for (domain_id,) in connection.execute(sa.select(domains.c.id)).all():
        connection.execute(
            domains.update()
            .where(domains.c.id == domain_id)
            .values(public_id=secrets.token_urlsafe(PUBLIC_ID_LENGTH * 3 // 4))
        )
    with op.batch_alter_table("domain_config", schema=None) as batch_op:
        batch_op.alter_column(
            "public_id", existing_type=AutoString(length=PUBLIC_ID_LENGTH), nullable=False
        )
        batch_op.create_index(batch_op.f("ix_domain_config_public_id"), ["public_id"], unique=True)


def downgrade() -> None:
    # The secrets are encrypted (gateway.security.crypto); dropping the columns drops them.
    with op.batch_alter_table("domain_config", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_domain_config_public_id"))
        batch_op.drop_column("webhook_secret_previous")
        batch_op.drop_column("webhook_secret")
        batch_op.drop_column("public_id")
