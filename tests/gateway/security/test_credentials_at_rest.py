"""Stored credentials are encrypted: a copy of the database is not a copy of the keys."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session
from typer.testing import CliRunner

from gateway.cli import app as cli
from gateway.db import make_engine
from gateway.migrate import downgrade, upgrade
from gateway.models import DomainConfig
from gateway.security.crypto import (
    CredentialCipher,
    CredentialKeyError,
    load_cipher,
    set_default_cipher,
)
from gateway.settings import ConfigurationError, Settings, load_settings

PF_KEY = "pf-key-7f3a9c1e5b2d4f60"
JIRA_TOKEN = "jira-token-0b8e2d6a4c1f3e57"
DOMAIN = {
    "name": "acme",
    "pf_base_url": "https://pf.test",
    "jira_base_url": "https://acme.test",
    "jira_email": "bot@acme.test",
    "pf_api_key": PF_KEY,
    "jira_api_token": JIRA_TOKEN,
}


def _raw_credentials(engine: Engine) -> tuple[str, str]:
    with engine.connect() as connection:
        row = connection.execute(text("SELECT pf_api_key, jira_api_token FROM domain_config")).one()
    return row[0], row[1]


def _database_bytes(settings: Settings) -> bytes:
    """Every byte the database keeps: the SQLite file with its WAL, or a pg_dump."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        database = Path(url.database or "")
        return b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    env = {"PGPASSWORD": url.password or ""}
    dump = subprocess.run(
        [
            "pg_dump",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "",
            url.database or "",
        ],
        check=True,
        capture_output=True,
        env=env,
    )
    return dump.stdout


def test_a_copy_of_the_database_holds_no_credential(
    client: TestClient, bearer: dict[str, str], engine: Engine, settings: Settings
):
    created = client.post("/api/v1/admin/domains", json=DOMAIN, headers=bearer)
    assert created.status_code == 201, created.text
    secrets_url = "/api/v1/admin/domains/acme/webhook-secret"
    first = client.post(secrets_url, json={}, headers=bearer)
    assert first.status_code == 200, first.text
    rotated = client.post(secrets_url, json={"rotate": True}, headers=bearer)
    assert rotated.status_code == 200, rotated.text
    webhook_secrets = {first.json()["secret"], rotated.json()["secret"]}
    assert len(webhook_secrets) == 2
    stored = _database_bytes(settings)
    assert b"acme.test" in stored  # the dump is real: other columns are there in clear
    assert PF_KEY.encode() not in stored
    assert JIRA_TOKEN.encode() not in stored
    for secret in webhook_secrets:  # the domain's current and previous webhook secrets
        assert secret.encode() not in stored
    with Session(engine) as session:
        domain = session.get(DomainConfig, 1)
        assert domain is not None
        assert (domain.pf_api_key, domain.jira_api_token) == (PF_KEY, JIRA_TOKEN)


def test_the_generated_key_is_private_and_stable(settings: Settings):
    first = load_cipher(settings)
    path = settings.data_dir / "credentials_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_cipher(settings).decrypt(first.encrypt("x")) == "x"


def test_the_migration_encrypts_existing_rows_and_downgrade_decrypts(settings: Settings):
    url = settings.effective_database_url
    set_default_cipher(load_cipher(settings))
    upgrade(url, "0002")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO domain_config (name, is_active, poll_interval_seconds, "
                    "max_concurrency, pf_base_url, pf_api_key, jira_base_url, jira_email, "
                    "jira_api_token, tracking_label, property_key, fallback_issue_type, "
                    "reopen_policy, deletion_policy, sweep_time, sweep_window_hours, "
                    "consecutive_tick_failures, created_at, updated_at) VALUES ('old', true, "
                    "60, 4, 'https://pf.test', :key, 'https://j.test', 'a@b.c', :token, 'L', "
                    "'p', 'Task', 'leave', 'leave', '03:00', 24, 0, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"key": PF_KEY, "token": JIRA_TOKEN},
            )
        upgrade(url)
        raw_key, raw_token = _raw_credentials(engine)
        assert PF_KEY not in raw_key and JIRA_TOKEN not in raw_token
        cipher = load_cipher(settings)
        assert (cipher.decrypt(raw_key), cipher.decrypt(raw_token)) == (PF_KEY, JIRA_TOKEN)
        downgrade(url, "0002")
        assert _raw_credentials(engine) == (PF_KEY, JIRA_TOKEN)
    finally:
        engine.dispose()


def test_rekey_moves_every_credential_to_the_newest_key(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old_engine = make_engine(settings.effective_database_url, cipher=CredentialCipher([old], "t"))
    with Session(old_engine) as session:
        session.add(
            DomainConfig(
                name="acme",
                pf_base_url="https://pf.test",
                jira_base_url="https://j.test",
                pf_api_key=PF_KEY,
                jira_api_token=JIRA_TOKEN,
            )
        )
        session.commit()
    old_engine.dispose()
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_CREDENTIALS_KEYS", f"{new},{old}")
    result = CliRunner().invoke(cli, ["credentials", "rekey"])
    assert result.exit_code == 0, result.output
    assert "re-encrypted 2 stored credential(s)" in result.output
    raw_key, raw_token = _raw_credentials(engine)
    only_new = CredentialCipher([new], "new")
    assert (only_new.decrypt(raw_key), only_new.decrypt(raw_token)) == (PF_KEY, JIRA_TOKEN)
    with pytest.raises(CredentialKeyError, match="GATEWAY_CREDENTIALS_KEYS"):
        CredentialCipher([old], "old").decrypt(raw_key)


def test_rekey_without_the_old_key_fails_with_one_line(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
):
    with Session(engine) as session:
        session.add(
            DomainConfig(
                name="acme",
                pf_base_url="https://pf.test",
                jira_base_url="https://j.test",
                pf_api_key=PF_KEY,
            )
        )
        session.commit()
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_CREDENTIALS_KEYS", Fernet.generate_key().decode())
    result = CliRunner().invoke(cli, ["credentials", "rekey"])
    assert result.exit_code == 1
    assert "does not decrypt with the configured keys" in result.output


def test_a_bad_key_setting_is_named_without_echoing_it():
    with pytest.raises(ConfigurationError) as caught:
        load_settings(credentials_keys="not-a-fernet-key-but-secret")
    assert "GATEWAY_CREDENTIALS_KEYS" in str(caught.value)
    assert "not-a-fernet-key-but-secret" not in str(caught.value)


def test_new_key_prints_a_usable_key():
    result = CliRunner().invoke(cli, ["credentials", "new-key"])
    assert result.exit_code == 0
    Fernet(result.stdout.strip())
