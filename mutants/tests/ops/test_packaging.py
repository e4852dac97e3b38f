"""The deployment files carry what production needs (Docker is not run here: read them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from gateway.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    found = []
    for line in joined.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        word, _, rest = stripped.partition(" ")
        found.append((word.upper(), rest.strip()))
    return found


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yml").read_text())


def test_dockerfile_is_multi_stage_on_a_slim_python() -> None:
    stages = [args for word, args in instructions(dockerfile()) if word == "FROM"]
    assert len(stages) >= 2
    assert all("-slim" in stage for stage in stages)
    assert any(
        "COPY --from=" in f"COPY {args}" for w, args in instructions(dockerfile()) if w == "COPY"
    )


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = [args for word, args in instructions(dockerfile()) if word == "USER"]
    assert users, "no USER instruction"
    final = users[-1].split(":")[0]
    assert final not in ("root", "0")


def test_dockerfile_healthcheck_hits_healthz() -> None:
    [check] = [args for word, args in instructions(dockerfile()) if word == "HEALTHCHECK"]
    assert "CMD" in check and "/healthz" in check


def test_one_image_serves_api_and_worker() -> None:
    steps = instructions(dockerfile())
    assert ("ENTRYPOINT", '["gateway"]') in steps
    [cmd] = [args for word, args in steps if word == "CMD"]
    assert '"serve"' in cmd
    services = compose()["services"]
    assert services["worker"]["command"] == ["worker"]
    assert services["api"]["command"][0] == "serve"


def env_example_names() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(rf"^#?\s*{ENV_PREFIX}([A-Z0-9_]+)=", text, flags=re.MULTILINE))


def test_env_example_documents_every_setting_and_nothing_else() -> None:
    documented = {name.lower() for name in env_example_names()}
    fields = set(Settings.model_fields)
    assert fields - documented == set(), "settings missing from .env.example"
    assert documented - fields == set(), ".env.example names unknown settings"


def test_compose_has_redis_api_worker_and_a_postgres_profile() -> None:
    services = compose()["services"]
    assert {"redis", "api", "worker", "postgres"} <= set(services)
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command
    assert any(volume.endswith(":/data") for volume in services["redis"]["volumes"])
    assert "postgres" in services["postgres"]["profiles"]
    for name in ("api", "worker"):
        assert "redis://redis:6379" in services[name]["environment"]["GATEWAY_REDIS_URL"]
        assert services[name]["env_file"][0]["path"] == ".env"


def test_workers_can_scale() -> None:
    worker = compose()["services"]["worker"]
    # A published host port or a fixed container name would break --scale worker=N.
    assert "ports" not in worker
    assert "container_name" not in worker
