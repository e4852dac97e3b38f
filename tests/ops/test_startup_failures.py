"""A command that cannot reach Redis, the database or its data folder says so in one
line naming the setting, exits non-zero, and prints no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

UNUSABLE_FOLDER = "/proc/nope"
UNUSABLE_DATA_DIR = {"GATEWAY_DATA_DIR": UNUSABLE_FOLDER}
UNREACHABLE_POSTGRES = "postgresql+psycopg://gateway:pw-hunter2@127.0.0.1:{port}/gateway"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CASES = {
    "serve, Redis unreachable": (["serve"], {"GATEWAY_REDIS_URL": "redis://127.0.0.1:{port}"}),
    "worker, Redis unreachable": (["worker"], {"GATEWAY_REDIS_URL": "redis://127.0.0.1:{port}"}),
    "check, data folder unusable": (["check"], {"GATEWAY_DATA_DIR": UNUSABLE_FOLDER}),
    "serve, data folder unusable": (["serve"], {"GATEWAY_DATA_DIR": UNUSABLE_FOLDER}),
    "worker, data folder unusable": (["worker"], {"GATEWAY_DATA_DIR": UNUSABLE_FOLDER}),
    "db upgrade, data folder unusable": (["db", "upgrade"], {"GATEWAY_DATA_DIR": UNUSABLE_FOLDER}),
    "db upgrade, database unreachable": (
        ["db", "upgrade"],
        {
            "GATEWAY_DATABASE_URL": "postgresql+psycopg://gateway:pw-hunter2@127.0.0.1:{port}/gateway"
        },
    ),
    "serve, database unreachable": (
        ["serve"],
        {
            "GATEWAY_DATABASE_URL": "postgresql+psycopg://gateway:pw-hunter2@127.0.0.1:{port}/gateway"
        },
    ),
    "demo, data folder unusable": (["demo", "--data-dir", UNUSABLE_FOLDER], {}),
    "check, Redis unreachable": (["check"], {"GATEWAY_REDIS_URL": "redis://127.0.0.1:{port}"}),
    "check, database unreachable": (["check"], {"GATEWAY_DATABASE_URL": UNREACHABLE_POSTGRES}),
    "worker, database unreachable": (["worker"], {"GATEWAY_DATABASE_URL": UNREACHABLE_POSTGRES}),
    # Every other command needs the same things and says so the same way.
    "domain list, data folder unusable": (["domain", "list"], UNUSABLE_DATA_DIR),
    "audit, data folder unusable": (["audit"], UNUSABLE_DATA_DIR),
    "db current, data folder unusable": (["db", "current"], UNUSABLE_DATA_DIR),
    "admin list, database unreachable": (
        ["admin", "list"],
        {
            "GATEWAY_DATABASE_URL": "postgresql+psycopg://gateway:pw-hunter2@127.0.0.1:{port}/gateway"
        },
    ),
}


def run_gateway(
    args: list[str], tmp_path: Path, overrides: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_DATA_DIR"] = str(tmp_path / "data")
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=tmp_path,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("case", list(CASES))
def test_a_startup_failure_is_one_line(case: str, tmp_path: Path) -> None:
    args, overrides = CASES[case]
    port = closed_port()
    result = run_gateway(
        args, tmp_path, {name: value.format(port=port) for name, value in overrides.items()}
    )
    assert_one_line(result, next(iter(overrides), "--data-dir"))


@pytest.mark.parametrize("command", [["tick", "demo"], ["sweep", "demo"]])
def test_a_command_that_runs_like_a_worker_says_redis_is_unreachable_in_one_line(
    command: list[str], tmp_path: Path
) -> None:
    where = ["--pf-base-url", "http://127.0.0.1:9/api/public/v3"]
    where += ["--jira-base-url", "http://127.0.0.1:9", "--jira-email", "bot@example.com"]
    added = run_gateway(
        ["domain", "add", "demo", *where, "--fallback-project", "HR"],
        tmp_path,
        {},
        stdin="pf-key\njira-token\n",
    )
    assert added.returncode == 0, added.stderr
    unreachable = {"GATEWAY_REDIS_URL": f"redis://127.0.0.1:{closed_port()}"}
    assert_one_line(run_gateway(command, tmp_path, unreachable), "GATEWAY_REDIS_URL")


def assert_one_line(result: subprocess.CompletedProcess[str], setting: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stdout
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert setting in lines[0], lines[0]
    assert "pw-hunter2" not in result.stdout + result.stderr
