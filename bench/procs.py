"""Child processes: the servers under test, the load generator and the gateway runner."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
GATEWAY_COMMAND = str(Path(sys.executable).parent / "gateway")


def python_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment in which ``python -m bench...`` imports this checkout."""
    env = dict(base if base is not None else os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """A long-running child (server or worker), stopped with SIGINT then SIGKILL."""

    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        self.name = name
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"gateway-bench-{name}.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            args,
            env=python_env(env),
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_http(self, url: str, timeout: float = 30.0) -> None:
        """Return once ``url`` answers (any status); raise with the log tail if it never does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                httpx.get(url, timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        tail = self.log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.name} did not come up at {url}:\n{tail}")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used so far (Linux /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def gateway_serve(env: dict[str, str], port: int) -> Service:
    """``gateway serve`` (one uvicorn process) on loopback."""
    service = Service([GATEWAY_COMMAND, "serve", "--port", str(port)], env, "gateway-serve")
    service.wait_http(f"http://127.0.0.1:{port}/healthz")
    return service


def gateway_worker(env: dict[str, str]) -> Service:
    """``gateway worker``: the ARQ worker with its crons, as deployed."""
    return Service([GATEWAY_COMMAND, "worker"], env, "gateway-worker")


def run_json(module: str, args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``python -m module args...`` to completion; its last stdout line is JSON."""
    completed = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=python_env(env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{module} failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1])


def run_gateway_op(
    op: str,
    settings: dict[str, Any],
    domain_id: int,
    *,
    profile: str | None = None,
    warmup: bool = False,
    reset_logs: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One ``bench.runner`` operation in a fresh process (after a warm-up tick if asked)."""
    spec: dict[str, Any] = {
        "op": op,
        "settings": settings,
        "domain_id": domain_id,
        "warmup": warmup,
        "reset_logs": list(reset_logs),
    }
    if profile:
        spec["profile"] = profile
    return run_json("bench.runner", [json.dumps(spec, default=str)])
