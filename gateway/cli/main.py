"""The ``gateway`` command line: the typer app and its command groups.

Each group lives in its own module and imports only ``_common`` and the code it
drives, never another command module, so the CLI has no import cycle. Heavy
imports (uvicorn, the worker, the demo) stay inside the commands that need them,
to keep ``gateway --help`` quick.
"""

from __future__ import annotations

import typer

from gateway.cli import (
    accounts,
    database,
    dead_letters,
    demo,
    domains,
    embedded_redis,
    rules,
    server,
    sync,
)

app = typer.Typer(
    help="PeopleForce <-> Jira Cloud sync gateway.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

server.register(app)
app.add_typer(database.app, name="db")
app.add_typer(embedded_redis.app, name="redis")
app.add_typer(accounts.app, name="admin")
app.add_typer(domains.app, name="domain")
app.add_typer(rules.app, name="rule")
sync.register(app)
app.add_typer(dead_letters.app, name="deadletter")
demo.register(app)
