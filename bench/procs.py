"""Child processes: the servers under test, the load generator and the gateway runner.

``gateway serve`` and ``gateway worker`` are started by the stack (``bench.env``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from gateway.demo.processes import ChildProcess

REPO_ROOT = Path(__file__).resolve().parent.parent


def python_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment in which ``python -m bench...`` imports this checkout."""
    env = dict(base if base is not None else os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service(ChildProcess):
    """A long-running child started from this checkout (a server under test), already started."""

    def __init__(self, args: list[str], env: dict[str, str], name: str) -> None:
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"gateway-bench-{name}.log"
        super().__init__(name, args, env=python_env(env), log_path=log_path, cwd=REPO_ROOT)
        self.start()


def cpu_seconds(child: ChildProcess) -> float:
    """User plus system CPU time the child has used so far (Linux /proc)."""
    fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    adaptive: bool = True,
) -> dict[str, Any]:
    """One ``bench.runner`` operation in a fresh process (after a warm-up tick if asked).

    ``adaptive=False`` switches the Jira rate windows off: fixed ``max_concurrency``.
    """
    spec: dict[str, Any] = {
        "op": op,
        "settings": settings,
        "domain_id": domain_id,
        "warmup": warmup,
        "reset_logs": list(reset_logs),
        "adaptive": adaptive,
    }
    if profile:
        spec["profile"] = profile
    return run_json("bench.runner", [json.dumps(spec, default=str)])
