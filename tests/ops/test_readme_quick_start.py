"""The README's step-by-step quick start, run command by command as a newcomer would.

The commands are read from the README's "Step by step against the fakes" block, so
the README cannot drift from what works. They run through bash in an empty working
folder (``./data`` lands there, as the README's working-folder rule says) with the
repository's ``.venv`` linked into it. Two things differ from a newcomer's run, to
share the machine with other tests: each fake gets a free port instead of 9001/9002
(the URLs in the commands follow), and Redis is the test session's embedded server
(``GATEWAY_REDIS_URL``) instead of one started under ``./data``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from gateway.demo.records import group_by_task
from gateway.settings import ENV_PREFIX

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()
SECTION = "### Step by step against the fakes"
PORTS = {"peopleforce": 9001, "jira": 9002}


def quick_start_commands() -> list[str]:
    """The shell commands of the section's first ``sh`` block: continuation lines joined,
    trailing ``# comments`` dropped."""
    section = README.split(SECTION, 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert match, f"no sh block under {SECTION!r}"
    joined = match.group(1).replace("\\\n", " ")
    lines = (re.sub(r"\s+# .*$", "", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the fake on port {port} exited"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


def on_free_ports(command: str, ports: dict[str, int]) -> str:
    for service, default in PORTS.items():
        command = command.replace(f":{default}", f":{ports[service]}")
        if f"-m fakes {service}" in command:
            command = command.removesuffix("&").rstrip() + f" --port {ports[service]} &"
    return command


def test_the_readme_quick_start_reaches_a_synced_domain(tmp_path: Path, redis_url: str) -> None:
    commands = quick_start_commands()
    assert commands[0] == "make venv", "the quick start begins by making the venv"
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env |= {"GATEWAY_REDIS_URL": redis_url, "COLUMNS": "200"}
    ports = {service: free_port() for service in PORTS}
    background: list[subprocess.Popen[bytes]] = []
    outputs: list[str] = []
    try:
        for command in commands[1:]:  # this test's interpreter is the venv make venv made
            command = on_free_ports(command, ports)
            if command.endswith("&"):
                service = "peopleforce" if "fakes peopleforce" in command else "jira"
                process = subprocess.Popen(
                    ["bash", "-c", f"exec {command.removesuffix('&')}"],
                    cwd=tmp_path,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                background.append(process)
                wait_for_port(ports[service], process)
                continue
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            outputs.append(" ".join(done.stdout.split()))
        issues = httpx.get(f"http://127.0.0.1:{ports['jira']}/_fake/state").json()["issues"]
        tasks = httpx.get(f"http://127.0.0.1:{ports['peopleforce']}/_fake/state").json()["tasks"]
    finally:
        for process in background:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=10)

    text = "\n".join(outputs)
    assert "warning" not in text.lower(), text
    assert "PeopleForce: connected (4 open tasks)" in text
    assert "sync_since is unset (the default): every open task syncs" in text
    assert "demo: ok; 4 open, 4 created" in text
    assert "verdict: Synced as HR-" in text
    assert (tmp_path / "data" / "gateway.db").exists()
    open_ids = [task["id"] for task in tasks if not task["completed"]]
    assert (len(tasks), len(open_ids)) == (5, 4)
    assert {task_id: len(found) for task_id, found in group_by_task(issues).items()} == {
        task_id: 1 for task_id in open_ids
    }
