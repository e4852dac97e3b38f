"""Credentials encrypted at rest: Fernet tokens in the database, keys outside it.

A copy of the SQLite file or a ``pg_dump`` must not be a copy of every tenant's
PeopleForce key and Jira token, so the credential columns hold Fernet tokens
(AES-128-CBC + HMAC-SHA256, from ``cryptography``). The ``EncryptedSecret`` column
type encrypts on write and decrypts on read, so no call site changes: code keeps
reading ``domain.pf_api_key`` as plain text.

Keys come from ``GATEWAY_CREDENTIALS_KEYS`` (comma-separated; the first encrypts,
every one decrypts, which is how a key is rotated), or, when unset, from a key
generated once in ``<data_dir>/credentials_key`` (0600). Each engine carries the
cipher of the settings it was made from (``make_engine(..., cipher=...)``), so one
process can hold several installations (tests, the demo) without mixing keys; an
engine made without one uses the process default, built from the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Connection, Dialect, Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import AutoString

from gateway.security.keyfile import read_or_create_private_file
from gateway.settings import Settings, get_settings

KEY_FILE = "credentials_key"
KEYS_VARIABLE = "GATEWAY_CREDENTIALS_KEYS"
_BOUND_ATTRIBUTE = "gateway_credential_cipher"

# The upstream credentials, as (table, column): what migration 0003 encrypted.
CREDENTIAL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("domain_config", "pf_api_key"),
    ("domain_config", "jira_api_token"),
)
# Every stored secret. A column listed here is re-encrypted by
# ``gateway credentials rekey``; give it the ``EncryptedSecret`` type in the model.
ENCRYPTED_COLUMNS: tuple[tuple[str, str], ...] = (
    *CREDENTIAL_COLUMNS,
    ("domain_config", "webhook_secret"),
    ("domain_config", "webhook_secret_previous"),
)


class CredentialKeyError(RuntimeError):
    """A stored credential does not decrypt under any configured key."""


def parse_keys(raw: str) -> list[str]:
    """The comma-separated keys of the setting, in order, blanks dropped."""
    return [part.strip() for part in raw.split(",") if part.strip()]


def new_key() -> str:
    """A fresh random Fernet key."""
    return Fernet.generate_key().decode("ascii")


class CredentialCipher:
    """Encrypts under the first key, decrypts under any of them."""

    def __init__(self, keys: Sequence[str], source: str) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self.source = source
        self.key_count = len(keys)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError):
            raise CredentialKeyError(
                f"a stored credential does not decrypt with the configured keys ({self.source});"
                f" add the key it was encrypted with to {KEYS_VARIABLE}"
            ) from None

    def rotate(self, token: str) -> str:
        """The same secret encrypted under the first key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            self.decrypt(token)  # raises the explanatory error
            raise


def key_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / KEY_FILE


def load_cipher(settings: Settings) -> CredentialCipher:
    """The configured keys, or the key generated once under the data folder."""
    if settings.credentials_keys is not None:
        keys = parse_keys(settings.credentials_keys.get_secret_value())
        if keys:
            return CredentialCipher(keys, KEYS_VARIABLE)
    path = key_file(settings)
    key = read_or_create_private_file(path, new_key)
    return CredentialCipher([key], f"generated key in {path}")


_default: CredentialCipher | None = None


def set_default_cipher(cipher: CredentialCipher | None) -> None:
    """Set (or with None, forget) the cipher of engines made without one."""
    global _default
    _default = cipher


def default_cipher() -> CredentialCipher:
    """The process default: the environment's settings, loaded on first use."""
    global _default
    if _default is None:
        _default = load_cipher(get_settings())
    return _default


def bind_cipher(engine: Engine, cipher: CredentialCipher) -> None:
    """Make ``engine`` encrypt and decrypt credentials with ``cipher``."""
    setattr(engine.dialect, _BOUND_ATTRIBUTE, cipher)


def cipher_for(dialect: Dialect) -> CredentialCipher:
    bound = getattr(dialect, _BOUND_ATTRIBUTE, None)
    return bound if isinstance(bound, CredentialCipher) else default_cipher()


class EncryptedSecret(TypeDecorator[str]):
    """A string column stored as a Fernet token; "" stays "" (no secret set)."""

    impl = AutoString
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if not value:
            return value
        return cipher_for(dialect).encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if not value:
            return value
        return cipher_for(dialect).decrypt(value)


def transform_stored(
    connection: Connection,
    transform: Callable[[str], str],
    columns: Sequence[tuple[str, str]] = ENCRYPTED_COLUMNS,
) -> int:
    """Rewrite every non-empty stored value of ``columns`` as ``transform(value)``.

    Works on the raw column values (no ``EncryptedSecret`` in between), which is
    what the migration (encrypt, decrypt) and the rekey (rotate) need. Returns how
    many values changed.
    """
    changed = 0
    for table_name, column_name in columns:
        table = sa.table(table_name, sa.column("id"), sa.column(column_name, sa.String))
        column = table.c[column_name]
        rows = connection.execute(sa.select(table.c.id, column).where(column != "")).all()
        for row_id, value in rows:
            if not value:
                continue
            new_value = transform(value)
            if new_value != value:
                connection.execute(
                    sa.update(table).where(table.c.id == row_id).values({column_name: new_value})
                )
                changed += 1
    return changed


def rekey(engine: Engine, cipher: CredentialCipher) -> int:
    """Re-encrypt every stored credential under ``cipher``'s first key, in one
    transaction; afterwards the older keys can be removed from the setting."""
    with engine.begin() as connection:
        return transform_stored(connection, cipher.rotate)
