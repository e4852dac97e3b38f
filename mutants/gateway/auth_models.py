"""Admin accounts and API tokens: who may use the admin UI, JSON API and CLI.

Kept apart from ``gateway.models`` (the sync state) because nothing in the sync
path reads them; ``gateway/migrations/env.py`` imports this module so Alembic sees
the tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from gateway.clock import utcnow


class AdminUser(SQLModel, table=True):
    """A person who signs in to the admin UI; only the argon2 hash of the password is kept."""

    __tablename__ = "admin_user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=100)
    password_hash: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None


class ApiToken(SQLModel, table=True):
    """A bearer token for the JSON admin API; only its SHA-256 is kept, so a leak of the
    database does not leak usable tokens."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
