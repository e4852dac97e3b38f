"""`gateway demo` runs the whole system, ends with a good verdict, and leaves nothing behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

VERDICT = re.compile(r"VERDICT: CONSISTENT - (\d+)/(\d+) pairs agree, duplicates=0, missing=0")
PIDS = re.compile(r"worker pid=(\d+) redis pid=(\d+)")


def demo_command(data_dir: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gateway.cli",
        "demo",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        *args,
    ]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["COLUMNS"] = "200"
    return env


def processes_using(folder: Path) -> list[int]:
    """Live processes whose command line or working directory mentions ``folder``."""
    found = []
    needle = str(folder).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "stat").read_text().split(") ", 1)[1].startswith("Z"):
                continue
            cmdline = (entry / "cmdline").read_bytes()
            cwd = os.readlink(entry / "cwd").encode()
        except OSError:
            continue
        if needle in cmdline or cwd.startswith(needle):
            found.append(int(entry.name))
    return found


def assert_gone(pids: list[int], data_dir: Path) -> None:
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert processes_using(data_dir) == []


def test_demo_with_a_duration_ends_consistent_and_cleans_up(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    result = subprocess.run(
        demo_command(data_dir, "--duration", "20", "--tasks", "15", "--speed", "4"),
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    verdict = VERDICT.search(result.stdout)
    assert verdict is not None, result.stdout[-3000:]
    assert int(verdict.group(1)) == int(verdict.group(2)) > 0
    assert "admin UI" in result.stdout and "password" in result.stdout
    pids = PIDS.search(result.stdout)
    assert pids is not None
    assert_gone([int(pids.group(1)), int(pids.group(2))], data_dir)


def test_ctrl_c_ends_the_story_gives_a_verdict_and_stops_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    demo = subprocess.Popen(
        demo_command(data_dir, "--tasks", "8", "--speed", "4"),
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert demo.stdout is not None
    seen = ""
    deadline = time.monotonic() + 60
    while "story running" not in seen and time.monotonic() < deadline:
        line = demo.stdout.readline()
        if not line:
            break
        seen += line
    time.sleep(3)
    demo.send_signal(signal.SIGINT)
    try:
        rest, _ = demo.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        demo.kill()
        raise
    output = seen + rest
    assert demo.returncode == 0, output[-3000:]
    assert VERDICT.search(output), output[-3000:]
    pids = PIDS.search(output)
    assert pids is not None
    assert_gone([int(pids.group(1)), int(pids.group(2))], data_dir)


def test_the_demo_never_wipes_a_folder_it_did_not_make(tmp_path: Path) -> None:
    from gateway.demo.stack import MARKER, NotADemoFolder, clean_leftovers

    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(NotADemoFolder):
        clean_leftovers(precious)
    assert (precious / "thesis.tex").exists()

    demo = tmp_path / "demo"
    clean_leftovers(demo)
    (demo / "demo.db").write_text("old run")
    clean_leftovers(demo)
    assert sorted(p.name for p in demo.iterdir()) == [MARKER]
