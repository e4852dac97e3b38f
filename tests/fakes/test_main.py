"""``python -m fakes peopleforce|jira``: flags build the fake they name, and it serves."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx
import pytest

from fakes.__main__ import build_parser


def test_command_line_builds_a_seeded_fake() -> None:
    args = build_parser().parse_args(
        ["peopleforce", "--port", "9001", "--api-key", "K", "--page-size", "10", "--tasks", "4"]
    )
    app = args.build(args)
    assert (args.port, app.state.pf.api_key, app.state.pf.page_size) == (9001, "K", 10)
    assert len(app.state.pf.tasks) == 4
    jira = build_parser().parse_args(["jira", "--webhook-url", "http://gw/hook", "--seed", "3"])
    assert (jira.webhook_url, jira.seed, jira.port) == ("http://gw/hook", 3, 9002)
    # Issue links name the fake's real address, as the gateway's site lookup needs.
    assert jira.build(jira).state.jira.base_url == "http://127.0.0.1:9002"


def test_command_line_serves_in_another_process() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "fakes", "peopleforce", "--port", str(port)]
    command += ["--api-key", "cli-key", "--tasks", "2", "--log-level", "warning"]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        try:
            response = None
            deadline = time.monotonic() + 15
            while response is None and time.monotonic() < deadline:
                try:
                    url = f"http://127.0.0.1:{port}/tasks?completed=true"
                    response = httpx.get(url, headers={"X-API-KEY": "cli-key"})
                except httpx.TransportError:
                    assert process.poll() is None, process.stderr and process.stderr.read()
                    time.sleep(0.05)
            assert response is not None and response.status_code == 200
            state = httpx.get(f"http://127.0.0.1:{port}/_fake/state").json()
            assert len(state["tasks"]) == 2
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_help_prints_the_default_credentials_and_the_base_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for service in ("peopleforce", "jira"):
        with pytest.raises(SystemExit):
            build_parser().parse_args([service, "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "X-API-KEY pf-test-key" in shown
    assert "http://127.0.0.1:9001/api/public/v3" in shown
    assert "gateway@example.com / jira-test-token" in shown
