"""``gateway credentials new-key|rekey``: the keys that encrypt stored credentials.

Rotation: put a new key first in ``GATEWAY_CREDENTIALS_KEYS`` (keep the old ones
after it), restart, run ``gateway credentials rekey``, then drop the old keys.
"""

from __future__ import annotations

import typer

from gateway.cli._common import command_group, configured_engine, fail, out

app = command_group(help="Keys that encrypt the stored credentials.", no_args_is_help=True)


@app.command("new-key")
def new_key_command() -> None:
    """Print a fresh random key for GATEWAY_CREDENTIALS_KEYS."""
    from gateway.security.crypto import new_key

    typer.echo(new_key())


@app.command("rekey")
def rekey_command() -> None:
    """Re-encrypt every stored credential under the first configured key."""
    from gateway.security.crypto import CredentialKeyError, load_cipher, rekey

    with configured_engine() as (engine, settings):
        cipher = load_cipher(settings)
        try:
            changed = rekey(engine, cipher)
        except CredentialKeyError as error:
            raise fail(str(error)) from None
    out.print(
        f"re-encrypted {changed} stored credential(s) under the first key of {cipher.source}",
        highlight=False,
    )
