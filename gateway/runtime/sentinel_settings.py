"""The settings that point the gateway at Redis Sentinel instead of one Redis URL.

A mixin of ``gateway.settings.Settings`` (like ``SyncTuning``): with
``GATEWAY_REDIS_SENTINELS`` set, every process asks the sentinels which server is
the master of ``GATEWAY_REDIS_SENTINEL_MASTER`` and asks again after a failover,
so losing the Redis host no longer stops the workers and the ingress.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

ENV_PREFIX = "GATEWAY_"
MAX_PORT = 65535


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...]:
    """``host:port,host:port`` (``[v6]:port`` too) as pairs; ValueError names the bad item."""
    pairs: list[tuple[str, int]] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        host, _, port = item.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if not host or not port.isdigit() or not 0 < int(port) <= MAX_PORT:
            raise ValueError(f"{item!r} is not host:port (e.g. sentinel-1:26379)")
        pairs.append((host, int(port)))
    return tuple(pairs)


class RedisSentinelSettings(BaseModel):
    """Redis Sentinel: where the sentinels are, the master's name, and the passwords."""

    redis_sentinels: str = Field(
        default="",
        description="Comma-separated host:port of Redis Sentinels (instead of "
        "GATEWAY_REDIS_URL); the gateway follows the master they name across failovers.",
    )
    redis_sentinel_master: str = Field(
        default="mymaster",
        min_length=1,
        description="Name of the master the sentinels monitor (sentinel.conf's monitor name).",
    )
    redis_sentinel_password: SecretStr | None = Field(
        default=None, description="Password of the sentinels themselves, if they require one."
    )
    redis_password: SecretStr | None = Field(
        default=None,
        description="Password of the Redis master and replicas the sentinels name "
        "(a GATEWAY_REDIS_URL carries its own).",
    )
    redis_replica_ack_timeout_ms: int = Field(
        default=500,
        ge=0,
        le=10_000,
        description="With sentinels, a webhook is answered 202 only once a replica holds it "
        "(Redis WAIT), waited for at most this long, else 503 and Jira retries; 0: answer "
        "without waiting (a failover may then lose the last accepted deliveries).",
    )

    @field_validator("redis_sentinel_password", "redis_password", mode="before")
    @classmethod
    def _blank_password_is_unset(cls, value: object) -> object:
        """An empty ``VAR=`` in ``.env`` means no password, not an empty one."""
        return None if isinstance(value, str) and not value else value

    @field_validator("redis_sentinels")
    @classmethod
    def _check_sentinels(cls, value: str) -> str:
        return ",".join(
            f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            for host, port in parse_sentinels(value)
        )

    @model_validator(mode="after")
    def _check_redis_choice(self) -> RedisSentinelSettings:
        """One source of Redis: a URL or sentinels; passwords only where they are used."""
        url = getattr(self, "redis_url", None)
        if url and self.redis_sentinels:
            raise ValueError(
                f"{ENV_PREFIX}REDIS_URL and {ENV_PREFIX}REDIS_SENTINELS are both set; "
                "set only one of them"
            )
        unused = [
            f"{ENV_PREFIX}{name.upper()}"
            for name in ("redis_sentinel_password", "redis_password")
            if getattr(self, name) is not None and not self.redis_sentinels
        ]
        if unused:
            raise ValueError(
                f"{' and '.join(unused)} set without {ENV_PREFIX}REDIS_SENTINELS; "
                "a Redis URL carries its own password"
            )
        return self

    @property
    def sentinel_addresses(self) -> tuple[tuple[str, int], ...]:
        return parse_sentinels(self.redis_sentinels)
