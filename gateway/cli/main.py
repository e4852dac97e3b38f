"""The ``gateway`` command line: the typer app and its command groups.

Each group lives in its own module and imports only ``_common`` and the code it
drives, never another command module, so the CLI has no import cycle. Heavy
imports (uvicorn, the worker, the demo) stay inside the commands that need them,
to keep ``gateway --help`` quick.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

# Typer vendors click (0.22+): its usage errors are these classes, not click's.
from typer._click import exceptions as click_errors

from gateway.cli._common import command_group, err
from gateway.cli.accounts import app as admin_app
from gateway.cli.audit import register as register_audit
from gateway.cli.credentials import app as credentials_app
from gateway.cli.database import app as db_app
from gateway.cli.dead_letters import app as deadletter_app
from gateway.cli.demo import register as register_demo
from gateway.cli.domains import app as domain_app
from gateway.cli.embedded_redis import app as redis_app
from gateway.cli.rules import app as rule_app
from gateway.cli.server import register as register_server
from gateway.cli.sync import register as register_sync
from gateway.cli.tasks import app as task_app

app = command_group(
    help="PeopleForce <-> Jira Cloud sync gateway.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def warn_about_unknown_settings() -> None:
    """Before every command: name each GATEWAY_* variable no setting reads."""
    from gateway.runtime.unknown_settings import unknown_variables

    for line in unknown_variables():
        err.print(f"[yellow]warning:[/] {line}", highlight=False, soft_wrap=True)


register_server(app)
app.add_typer(db_app, name="db")
app.add_typer(redis_app, name="redis")
app.add_typer(admin_app, name="admin")
app.add_typer(credentials_app, name="credentials")
app.add_typer(domain_app, name="domain")
app.add_typer(rule_app, name="rule")
app.add_typer(task_app, name="task")
register_sync(app)
app.add_typer(deadletter_app, name="deadletter")
register_audit(app)
register_demo(app)


def main(args: Sequence[str] | None = None) -> None:
    """The console script: a usage error (a bad argument or option) is one line on stderr
    and exit 2, naming the command's ``--help``, instead of click's usage text and a
    boxed message; asking for nothing still prints the help."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="gateway", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as error:
        error.show()
        sys.exit(error.exit_code)
    except click_errors.UsageError as error:
        where = error.ctx.command_path if error.ctx is not None else "gateway"
        err.print(
            f"error: {error.format_message()} (see '{where} --help')",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        sys.exit(error.exit_code)
    except click_errors.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except typer.Abort:
        err.print("aborted", highlight=False)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
