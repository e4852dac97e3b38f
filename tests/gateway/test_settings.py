"""Settings validation: one clear line per bad value, secrets masked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.settings import ConfigurationError, load_settings


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    full_env.update(env or {})
    full_env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_database_url_names_the_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(database_url="not a url")
    message = str(caught.value)
    assert message.startswith("GATEWAY_DATABASE_URL: not a database URL")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            {"database_url": "mysql://u:p@localhost/db"},
            "GATEWAY_DATABASE_URL: unsupported database",
            id="unsupported-database-backend",
        ),
        pytest.param(
            {"jira_webhook_secret": "   "},
            "GATEWAY_JIRA_WEBHOOK_SECRET: is empty",
            id="empty-webhook-secret",
        ),
        pytest.param(
            {"jira_webhook_secret": "short"},
            "GATEWAY_JIRA_WEBHOOK_SECRET: is too short",
            id="short-webhook-secret",
        ),
        pytest.param(
            {"redis_url": "http://localhost:6379"},
            "GATEWAY_REDIS_URL: must start with",
            id="bad-redis-scheme",
        ),
    ],
)
def test_bad_value_is_rejected(value: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings(**value)


def test_several_bad_values_are_all_named() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(database_url="nope", log_level="LOUD")
    assert "GATEWAY_DATABASE_URL" in str(caught.value)
    assert "GATEWAY_LOG_LEVEL" in str(caught.value)


def test_secrets_are_masked_in_repr() -> None:
    settings = load_settings(
        jira_webhook_secret="super-secret-value-123", admin_password="hunter2hunter2"
    )
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert "super-secret-value-123" not in shown
    assert "hunter2hunter2" not in shown


def test_default_database_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "d")
    assert settings.effective_database_url == f"sqlite:///{(tmp_path / 'd' / 'gateway.db')}"
    assert settings.uses_embedded_redis


def test_cli_prints_one_line_and_exits_2_on_bad_config(tmp_path: Path) -> None:
    result = run_cli("check", cwd=tmp_path, env={"GATEWAY_DATABASE_URL": "::bad::"})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "GATEWAY_DATABASE_URL" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("task", "show", "acme", "seven"), "error: Invalid value for 'task_id'"),
        (("domain", "list", "--bogus"), "error: No such option: --bogus"),
        (("nosuch",), "error: No such command 'nosuch'"),
    ],
)
def test_a_usage_error_is_one_line_naming_the_help(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(message) and "--help')" in result.stderr


def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GATEWAY_LOG_LEVEL=loud\n")
    result = run_cli("db", "current", cwd=tmp_path)
    assert result.returncode == 2
    assert "GATEWAY_LOG_LEVEL" in result.stderr


def test_an_unknown_variable_is_named_with_the_setting_it_resembles() -> None:
    from gateway.runtime.unknown_settings import unknown_variables

    environ = {
        "GATEWAY_JIRA_WEBHOOK_SECRT": "x" * 20,
        "GATEWAY_DATA_DIR": "data",
        "GATEWAY_NEW_PF_API_KEY": "read by domain add",
        "GATEWAY_SOMETHING_ELSE_ENTIRELY": "1",
        "HOME": "/root",
    }
    assert unknown_variables(environ, env_file=None) == [
        "GATEWAY_JIRA_WEBHOOK_SECRT is not a setting and is ignored; "
        "did you mean GATEWAY_JIRA_WEBHOOK_SECRET?",
        "GATEWAY_SOMETHING_ELSE_ENTIRELY is not a setting and is ignored",
    ]


def test_every_command_warns_and_check_fails_on_a_misspelled_variable(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GATEWAY_LOG_LEVL=DEBUG\n")
    env = {"GATEWAY_JIRA_WEBHOOK_SECRT": "a-secret-of-twenty-chars", "GATEWAY_DATA_DIR": "d"}
    current = run_cli("db", "current", cwd=tmp_path, env=env)
    assert current.returncode == 0, current.stderr
    assert "did you mean GATEWAY_JIRA_WEBHOOK_SECRET?" in current.stderr
    assert "GATEWAY_LOG_LEVL is not a setting and is ignored; did you mean GATEWAY_LOG_LEVEL?" in (
        current.stderr
    )
    check = run_cli("check", cwd=tmp_path, env=env)
    assert check.returncode == 1, check.stdout + check.stderr
    assert "FAIL unknown setting: GATEWAY_JIRA_WEBHOOK_SECRT" in check.stdout
