"""Migration 0004_webhook_secrets: domains that existed before it get their own webhook URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from gateway.db import make_engine
from gateway.migrate import downgrade, upgrade

REVISION = "0004_webhook_secrets"
BEFORE = "0003_encrypt_credentials"


def test_existing_domains_get_distinct_public_ids_and_no_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, BEFORE)
    engine = make_engine(url)
    with engine.begin() as connection:
        for name in ("acme", "globex"):
            connection.execute(
                text(
                    "INSERT INTO domain_config (name, is_active, poll_interval_seconds, "
                    "max_concurrency, pf_base_url, pf_api_key, jira_base_url, jira_email, "
                    "jira_api_token, tracking_label, property_key, fallback_issue_type, "
                    "reopen_policy, deletion_policy, sweep_time, sweep_window_hours, "
                    "consecutive_tick_failures, created_at, updated_at) VALUES (:name, 1, 60, "
                    "4, 'https://pf.test', '', 'https://j.test', '', '', 'PeopleForce', 'p', "
                    "'Task', 'leave', 'leave', '03:00', 24, 0, '2026-01-01', '2026-01-01')"
                ),
                {"name": name},
            )
    upgrade(url, REVISION)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT public_id, webhook_secret, webhook_secret_previous FROM domain_config")
        ).all()
    assert len(rows) == 2
    assert len({row[0] for row in rows}) == 2 and all(len(row[0]) == 16 for row in rows)
    assert all(row[1] is None and row[2] is None for row in rows)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE domain_config SET public_id = :p"), {"p": rows[0][0]})

    downgrade(url, BEFORE)
    with engine.connect() as connection:
        columns = {row[1] for row in connection.execute(text("PRAGMA table_info(domain_config)"))}
    assert "public_id" not in columns and "webhook_secret" not in columns
    engine.dispose()
