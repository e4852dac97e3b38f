"""The stack builder every caller shares: child processes see the stack's installation, and
nothing a stack started outlives it, even when starting fails half way."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
import redis

from gateway.demo.stack import GatewayStack
from gateway.demo.storage import gateway_environment, open_storage
from gateway.demo.upstreams import start_upstreams
from gateway.heartbeat import HEARTBEAT_KEY_PREFIX
from gateway.redis import EmbeddedRedis
from gateway.settings import ENV_PREFIX, ConfigurationError, Settings

SECRET = "stack-test-webhook-secret-0123456789"


def test_a_child_is_configured_by_the_stack_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = open_storage(tmp_path, jira_webhook_secret=SECRET, log_level="WARNING")
    try:
        monkeypatch.setenv("GATEWAY_DATABASE_URL", "postgresql+psycopg://elsewhere/db")
        monkeypatch.setenv("GATEWAY_ADMIN_USERNAME", "someone")
        monkeypatch.setenv("GATEWAY_NOTIFY_WEBHOOK_URL", "https://hooks.example.com/x")
        env = gateway_environment(storage.settings, inherit=("NOTIFY_WEBHOOK_URL",))
        for name in [k for k in os.environ if k.startswith(ENV_PREFIX)]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            if name.startswith(ENV_PREFIX):
                monkeypatch.setenv(name, value)
        child = Settings(_env_file=None)
    finally:
        storage.close()
    assert child.effective_database_url == storage.database_url
    assert child.redis_url == storage.redis_url
    assert child.data_dir == storage.settings.data_dir
    assert child.jira_webhook_secret is not None
    assert child.jira_webhook_secret.get_secret_value() == SECRET
    assert child.log_level == "WARNING"
    assert child.admin_username is None
    assert child.notify_webhook_url is not None


def test_a_worker_process_joins_the_stack_and_stops_with_it(tmp_path: Path) -> None:
    stack = GatewayStack()
    stack.attach(open_storage(tmp_path, jira_webhook_secret=SECRET), start_upstreams)
    redis_server = stack.storage.redis_server
    assert redis_server is not None
    try:
        worker = stack.start_worker_process("worker")
        worker.wait_heartbeat(stack.redis_url)
        client = redis.Redis.from_url(stack.redis_url)
        assert client.keys(HEARTBEAT_KEY_PREFIX + "*")
        client.close()
    finally:
        stack.close()
    assert not worker.alive
    assert not redis_server.is_running()
    stack.close()  # a second close is harmless


def test_a_failed_start_leaves_nothing_running(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        open_storage(tmp_path, jira_webhook_secret="too-short")
    assert not EmbeddedRedis(tmp_path / "redis").is_running()

    stack = GatewayStack()
    storage = open_storage(tmp_path / "second", jira_webhook_secret=SECRET)
    failing = functools.partial(start_upstreams, page_size=0)
    with pytest.raises(ValueError):
        stack.attach(storage, failing)
    assert storage.redis_server is not None and not storage.redis_server.is_running()
