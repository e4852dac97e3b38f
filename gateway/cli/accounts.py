"""``gateway admin create-user|create-token|revoke-token``: who may use the admin surface.

Passwords are read from a prompt or stdin, never from the command line, where they
would land in shell history and ``ps`` output.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gateway.admin import accounts
from gateway.cli._common import database, out

app = typer.Typer(help="Admin accounts and API tokens.", no_args_is_help=True)


@app.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument(help="Login name (case-insensitive).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first stdin line.")
    ] = False,
) -> None:
    """Create an admin who can sign in to the web UI."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with database() as session:
        name = accounts.create_user(session, username, password).username
    out.print(f"created admin user {name}", highlight=False)


@app.command("create-token")
def create_token(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'terraform'.")],
) -> None:
    """Create an API token for the JSON admin API; it is printed once, store it now."""
    with database() as session:
        token, plaintext = accounts.create_api_token(session, name)
        token_id = token.id
    typer.echo(plaintext)
    typer.echo(f"token {token_id} ({name}) created; it cannot be shown again", err=True)


@app.command("revoke-token")
def revoke_token(token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token; requests using it are refused from now on."""
    with database() as session:
        accounts.revoke_api_token(session, token_id)
    out.print(f"token {token_id} revoked")
