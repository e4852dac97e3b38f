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
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_startup_failure_is_one_line(case: str, tmp_path: Path) -> None:
    args, overrides = CASES[case]
    port = closed_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_DATA_DIR"] = str(tmp_path / "data")
    env.update({name: value.format(port=port) for name, value in overrides.items()})
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stdout
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    setting = next(iter(overrides), "--data-dir")
    assert setting in lines[0], lines[0]
    assert "pw-hunter2" not in result.stdout + result.stderr
