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

RoleOption = Annotated[
    str,
    typer.Option(
        "--role",
        help="admin: may change everything; viewer: dashboard, audit log, dead letters and "
        "the read-only API.",
    ),
]


@app.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument(help="Login name (case-insensitive).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first stdin line.")
    ] = False,
    role: RoleOption = "admin",
) -> None:
    """Create an account that can sign in to the web UI (role admin or viewer)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with database() as session:
        user = accounts.create_user(session, username, password, accounts.parse_role(role))
        name, granted = user.username, user.role
    out.print(f"created {granted} user {name}", highlight=False)


@app.command("create-token")
def create_token(
    name: Annotated[str, typer.Argument(help="What the token is for, e.g. 'terraform'.")],
    role: RoleOption = "admin",
) -> None:
    """Create an API token for the JSON admin API; it is printed once, store it now."""
    with database() as session:
        token, plaintext = accounts.create_api_token(session, name, accounts.parse_role(role))
        token_id, granted = token.id, token.role
    typer.echo(plaintext)
    typer.echo(f"{granted} token {token_id} ({name}) created; it cannot be shown again", err=True)


@app.command("revoke-token")
def revoke_token(token_id: Annotated[int, typer.Argument(help="The token's id.")]) -> None:
    """Revoke an API token; requests using it are refused from now on."""
    with database() as session:
        accounts.revoke_api_token(session, token_id)
    out.print(f"token {token_id} revoked")
