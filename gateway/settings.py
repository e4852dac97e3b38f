"""One settings object for every process (prefix ``GATEWAY_``, ``.env`` supported).

Secrets are ``SecretStr`` so they print masked wherever the object is shown.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gateway.maintenance.settings import MaintenanceSettings
from gateway.runtime.sentinel_settings import RedisSentinelSettings
from gateway.runtime.server_settings import ServerSettings
from gateway.sync.tuning import SyncTuning

ENV_PREFIX = "GATEWAY_"
MIN_SECRET_LENGTH = 16
MIN_DEDUPE_TTL_SECONDS = 72 * 3600
SUPPORTED_DATABASE_BACKENDS = ("sqlite", "postgresql")
SUPPORTED_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class Settings(
    BaseSettings, SyncTuning, MaintenanceSettings, RedisSentinelSettings, ServerSettings
):
    """Effective configuration; see the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Field(
        default=Path("data"),
        description="Folder for the default SQLite file and the embedded Redis.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means sqlite:///<data_dir>/gateway.db.",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://, rediss:// or unix:// URL; unset starts an embedded Redis.",
    )
    jira_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret of the Jira admin webhook; unset rejects every delivery.",
    )
    jira_webhook_secret_previous: SecretStr | None = Field(
        default=None,
        description="The previous webhook secret, still accepted while rotating.",
    )
    webhook_max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest webhook body accepted."
    )
    webhook_dedupe_ttl_seconds: int = Field(
        default=MIN_DEDUPE_TTL_SECONDS,
        ge=MIN_DEDUPE_TTL_SECONDS,
        description="How long a delivery identifier is remembered (Jira retries for days).",
    )
    admin_username: str | None = Field(
        default=None, description="Bootstrap admin user created at start-up if missing."
    )
    admin_password: SecretStr | None = Field(
        default=None, description="Password of the bootstrap admin user."
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs admin sessions; unset: generated once under data_dir.",
    )
    credentials_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated Fernet keys that encrypt stored credentials; the first "
        "encrypts, all decrypt (rotation). Unset: generated once in data_dir/credentials_key.",
    )
    http_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of every upstream request."
    )
    orphan_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How old a create of unknown outcome must be before the orphan search "
        "may conclude it did not happen (Jira's search is eventually consistent).",
    )
    scheduler_interval_seconds: int = Field(
        default=5, ge=1, le=60, description="How often workers look for due ticks and sweeps."
    )
    metrics_enabled: bool = Field(
        default=True, description="Serve Prometheus metrics on the API's /metrics."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="When set, /metrics requires 'Authorization: Bearer <token>'; "
        "unset: /metrics is public (the Prometheus convention; keep it off the internet).",
    )
    worker_metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description="Port on which each worker serves its own Prometheus metrics; 0 = off.",
    )
    worker_metrics_host: str = Field(
        default="0.0.0.0",
        min_length=1,
        description="Interface the worker metrics server listens on.",
    )
    ready_worker_max_age_seconds: int = Field(
        default=0,
        ge=0,
        le=86400,
        description="/readyz fails when no worker heartbeat is younger than this; "
        "0 = report workers but do not require one (API-only deployments).",
    )
    # --- operations: killed workers, outages, graceful stops ---
    worker_presence_ttl_seconds: int = Field(
        default=30,
        ge=2,
        le=600,
        description="How long a worker that stopped announcing itself still counts as alive; "
        "then its jobs and locks are handed to the other workers.",
    )
    worker_recovery_interval_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="How often each worker looks for jobs and locks left by dead workers; "
        "0 = never (a killed worker's jobs then wait out ARQ's 610 s in-progress timeout).",
    )
    worker_stop_grace_seconds: int = Field(
        default=8,
        ge=0,
        le=3600,
        description="On SIGTERM, how long running jobs may finish before they are cancelled "
        "and handed back to the queue.",
    )
    redis_reconnect_max_delay_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Longest wait between two reconnection attempts while Redis is unreachable.",
    )
    notify_webhook_url: SecretStr | None = Field(
        default=None,
        description="Slack-compatible incoming-webhook URL for alerts; unset = no alerts.",
    )
    notify_webhook_url_fallback: SecretStr | None = Field(
        default=None,
        description="Second incoming-webhook URL, used when the first one fails.",
    )
    notify_telegram_bot_token: SecretStr | None = Field(
        default=None,
        description="Telegram bot token for alerts (with the chat id); unset = no Telegram.",
    )
    notify_telegram_chat_id: str | None = Field(
        default=None,
        description="Telegram chat (or channel, e.g. @ops_alerts) the bot posts alerts to.",
    )
    notify_telegram_api_url: str = Field(
        default="https://api.telegram.org",
        pattern=r"^https?://",
        description="Base URL of the Telegram Bot API (a self-hosted Bot API server).",
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="The gateway's public base URL (https://gateway.example.com); alerts "
        "link to its admin pages when set.",
    )
    notify_min_interval_seconds: int = Field(
        default=900,
        ge=0,
        description="Minimum time between two alerts of one kind for one domain.",
    )
    notify_sweep_repaired_threshold: int = Field(
        default=10,
        ge=0,
        description="Alert when one sweep repairs more than this many lost webhooks.",
    )
    notify_tick_failures_threshold: int = Field(
        default=3,
        ge=1,
        description="Alert when a domain's ticks fail this many times in a row.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Minimum level logged."
    )
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="auto: text on a terminal, JSON otherwise."
    )
    # --- single sign-on with OpenID Connect (gateway/sso) ---------------------------------
    oidc_issuer: str | None = Field(
        default=None,
        description="OpenID Connect issuer URL (e.g. https://accounts.google.com); "
        "unset: no SSO, local accounts only.",
    )
    oidc_client_id: str | None = Field(
        default=None, description="Client id of the gateway's app at the issuer."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="Client secret of the gateway's app at the issuer."
    )
    oidc_allowed_domains: str = Field(
        default="",
        description="Comma-separated email domains allowed to sign in with SSO "
        "(e.g. acme.com); with oidc_allowed_emails, at least one must be set.",
    )
    oidc_allowed_emails: str = Field(
        default="", description="Comma-separated email addresses allowed to sign in with SSO."
    )
    oidc_role: Literal["viewer", "admin"] = Field(
        default="viewer", description="Role of an allowed SSO user not listed as admin."
    )
    oidc_admin_emails: str = Field(
        default="", description="Comma-separated addresses that get the admin role via SSO."
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="The callback URL registered at the issuer; unset: "
        "<the URL the browser used>/login/sso/callback.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value:
            return value
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL (expected e.g. sqlite:///data/gateway.db "
                "or postgresql+psycopg://user:pass@host/db)"
            ) from None
        if url.get_backend_name() not in SUPPORTED_DATABASE_BACKENDS:
            raise ValueError(
                f"unsupported database {url.get_backend_name()!r} "
                f"(supported: {', '.join(SUPPORTED_DATABASE_BACKENDS)})"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(SUPPORTED_REDIS_SCHEMES):
            raise ValueError(f"must start with one of {', '.join(SUPPORTED_REDIS_SCHEMES)}")
        return value

    @field_validator("jira_webhook_secret", "jira_webhook_secret_previous")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if not secret.strip():
            raise ValueError("is empty; set a high-entropy secret or leave the variable unset")
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"is too short; use at least {MIN_SECRET_LENGTH} characters")
        return value

    @field_validator("credentials_keys")
    @classmethod
    def _check_credentials_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        keys = [k.strip() for k in value.get_secret_value().split(",") if k.strip()]
        for key in keys:
            try:
                Fernet(key)
            except (ValueError, TypeError):
                # Never echo the value: it is a key.
                raise ValueError(
                    "each key must be 32 url-safe base64-encoded bytes; "
                    "make one with `gateway credentials new-key`"
                ) from None
        return value

    @field_validator("notify_webhook_url", "notify_webhook_url_fallback")
    @classmethod
    def _check_notify_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().strip().startswith(("https://", "http://")):
            # Never echo the value: incoming-webhook URLs are credentials.
            raise ValueError("must be an http(s):// incoming-webhook URL")
        return value

    @field_validator(
        "oidc_issuer",
        "oidc_redirect_url",
        "oidc_client_id",
        "notify_telegram_chat_id",
        "public_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """An empty ``VAR=`` in ``.env`` means unset, not an empty value."""
        return (value.strip() or None) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_sso(self) -> Settings:
        """SSO needs its client credentials and a list of who may sign in: an issuer such
        as Google would otherwise let every account in the world through."""
        if self.oidc_issuer is None:
            return self
        missing = [
            f"{ENV_PREFIX}{name.upper()}"
            for name, value in (
                ("oidc_client_id", self.oidc_client_id),
                ("oidc_client_secret", self.oidc_client_secret),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"SSO is configured but {' and '.join(missing)} not set")
        if not (self.oidc_allowed_domains.strip() or self.oidc_allowed_emails.strip()):
            raise ValueError(
                f"SSO is configured but neither {ENV_PREFIX}OIDC_ALLOWED_DOMAINS nor "
                f"{ENV_PREFIX}OIDC_ALLOWED_EMAILS says who may sign in"
            )
        return self

    @property
    def sso_enabled(self) -> bool:
        return self.oidc_issuer is not None

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the default SQLite file under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gateway.db').resolve()}"

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None and not self.redis_sentinels


class ConfigurationError(Exception):
    """A setting is missing or invalid; the message is one line meant for the operator."""


def describe_validation_error(error: ValidationError) -> str:
    """One line per bad setting, naming the environment variable and the problem."""
    parts = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "settings"
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{ENV_PREFIX}{field.upper()}: {message}")
    return "; ".join(parts)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, raising ConfigurationError on bad values."""
    try:
        return Settings(**overrides)  # ty: ignore[invalid-argument-type]
    except ValidationError as error:
        raise ConfigurationError(describe_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, loaded once."""
    return load_settings()
