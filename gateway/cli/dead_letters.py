"""``gateway deadletter list|replay|discard``: work that failed permanently.

The same functions as the JSON API and the UI decide: a letter already replayed or
discarded is refused with the same message, and a discard is audited once.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from gateway.admin import dead_letters, domains
from gateway.admin.paging import MAX_PAGE_SIZE
from gateway.admin.schemas import DeadLetterOut
from gateway.cli._common import command_group, database, err, out, print_json, run_like_a_worker

app = command_group(
    help="Work that failed permanently: list, replay, discard.", no_args_is_help=True
)

LetterId = Annotated[int, typer.Argument(help="Dead letter id.")]


@app.command("list")
def deadletter_list(
    domain: Annotated[
        str | None, typer.Option(help=f"Only this domain. {domains.DOMAIN_REF_HELP}")
    ] = None,
    include_closed: Annotated[
        bool, typer.Option("--all", help="Include replayed and discarded ones.")
    ] = False,
    page: Annotated[int, typer.Option(help=f"Page of {MAX_PAGE_SIZE}, newest first.", min=1)] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List dead letters, newest first."""
    with database() as session:
        domain_id = domains.find_domain(session, domain).id if domain is not None else None
        letters, total = dead_letters.list_dead_letters(
            session,
            domain_id=domain_id,
            state=dead_letters.ALL if include_closed else dead_letters.OPEN,
            page=page,
            page_size=MAX_PAGE_SIZE,
        )
    shown = [DeadLetterOut.of(letter) for letter in letters]
    if total > (page - 1) * MAX_PAGE_SIZE + len(shown):
        err.print(f"showing {len(shown)} of {total}; see --page")
    if as_json:
        print_json([letter.model_dump(mode="json") for letter in shown])
        return
    if not shown:
        out.print("no dead letters")
        return
    table = Table("id", "domain", "task", "operation", "state", "status", "error", "attempts")
    for letter in shown:
        table.add_row(
            str(letter.id),
            str(letter.domain_id),
            str(letter.pf_task_id or ""),
            letter.operation,
            letter.state,
            str(letter.error_status or ""),
            letter.error_message[:80],
            str(letter.attempts),
        )
    out.print(table)


@app.command("replay")
def deadletter_replay(letter_id: LetterId) -> None:
    """Run a dead letter's operation again with the current rules (fix the rule first)."""
    from gateway.sync.replay import replay

    with database() as session:
        dead_letters.open_dead_letter(session, letter_id)
    outcome = run_like_a_worker(lambda deps: replay(deps, letter_id))
    out.print(f"dead letter {letter_id}: {outcome}")
    if outcome != "replayed":
        raise typer.Exit(1)


@app.command("discard")
def deadletter_discard(letter_id: LetterId) -> None:
    """Close a dead letter without replaying it (it stays in the audit log)."""
    with database() as session:
        dead_letters.discard_dead_letter(session, letter_id)
    out.print(f"dead letter {letter_id}: discarded")
