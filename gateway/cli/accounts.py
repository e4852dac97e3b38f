"""``gateway admin``: who may use the admin surface (users, API tokens).

Passwords are read from a prompt or stdin, never from the command line, where they
would land in shell history and ``ps`` output.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Annotated

import typer

from gateway.admin import accounts
from gateway.cli._common import command_group, database, out

app = command_group(help="Admin accounts and API tokens.", no_args_is_help=True)

RoleOption = Annotated[
    str,
    typer.Option(
        "--role",
        help="admin: may change everything; viewer: dashboard, audit log, dead letters and "
        "the read-only API.",
    ),
]


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first stdin line.")
]


@app.command("create-user")
def create_user(
    username: Annotated[str, typer.Argument(help="Login name (case-insensitive).")],
    password_stdin: PasswordStdin = False,
    role: RoleOption = "admin",
) -> None:
    """Create an account that can sign in to the web UI (role admin or viewer)."""
    password = _read_password(password_stdin)
    with database() as session:
        user = accounts.create_user(session, username, password, accounts.parse_role(role))
        name, granted = user.username, user.role
    out.print(f"created {granted} user {name}", highlight=False)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@app.command("list")
def list_accounts(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every user and API token, with roles, last use and token ids (for revoke-token)."""
    with database() as session:
        users, tokens = accounts.list_accounts(session)
        rows = {
            "users": [
                {
                    "username": u.username,
                    "role": str(u.role),
                    "last_login_at": _when(u.last_login_at),
                }
                for u in users
            ],
            "tokens": [
                {
                    "id": t.id,
                    "name": t.name,
                    "role": str(t.role),
                    "last_used_at": _when(t.last_used_at),
                    "revoked_at": _when(t.revoked_at),
                }
                for t in tokens
            ],
        }
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for user in rows["users"]:
        seen = user["last_login_at"] or "never"
        out.print(f"user  {user['username']}  {user['role']}  last sign-in {seen}", highlight=False)
    for token in rows["tokens"]:
        state = f"revoked {token['revoked_at']}" if token["revoked_at"] else "active"
        used = token["last_used_at"] or "never"
        out.print(
            f"token {token['id']}  {token['name']}  {token['role']}  {state}  last used {used}",
            highlight=False,
        )


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


@app.command("delete-user")
def delete_user(username: Annotated[str, typer.Argument(help="The login name.")]) -> None:
    """Remove an account; its sessions end at once. The last admin cannot be removed."""
    with database() as session:
        name = accounts.delete_user(session, username).username
    out.print(f"user {name} deleted", highlight=False)


@app.command("set-password")
def set_password(
    username: Annotated[str, typer.Argument(help="The login name.")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Give an account a new password; the old one and every session of the account end."""
    password = _read_password(password_stdin)
    with database() as session:
        name = accounts.set_password(session, username, password).username
    out.print(f"password of {name} changed", highlight=False)


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
