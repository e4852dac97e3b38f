"""An upstream's error answer reaches storage, the API and the terminal only through the one
sanitiser: at most ``MAX_EXCERPT_CHARS`` of it, control characters escaped, on one line.

A fake PeopleForce answers the task listing with 500 and a long body full of terminal
escape codes; a real tick (the worker's and ``gateway tick``'s) then stores and prints
what the operator and a viewer read back.
"""

from __future__ import annotations

import re

from sqlmodel import Session, select

from gateway.models import EventType, SyncEvent
from gateway.security.exposure import MAX_ERROR_CHARS, MAX_EXCERPT_CHARS
from tests.gateway.sync.test_cli_sync import gateway
from tests.world import World

PF_TASKS = "/api/public/v3/tasks"
ESCAPES = "\x1b[2J\x1b[31mRED\x1b[0m\r\nForged: line\x07"
INTERNAL = "INTERNAL-" + "y" * 5000 + "-END"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def refuse_listing(world: World, body: str) -> None:
    world.add_domain(pf_base_url=world.pf_server.url + "/api/public/v3")
    world.pf_faults.refuse("GET", PF_TASKS, 500, body)


def tick_failed_reasons(world: World) -> list[str]:
    with Session(world.engine) as session:
        events = session.exec(
            select(SyncEvent).where(SyncEvent.event_type == EventType.TICK_FAILED.value)
        ).all()
        return [event.reason for event in events]


def assert_bounded(text: str) -> None:
    assert not CONTROL.search(text), repr(text)
    assert "-END" not in text
    assert text.count("y") <= MAX_EXCERPT_CHARS, len(text)


async def test_a_long_answer_is_stored_bounded(world: World) -> None:
    refuse_listing(world, INTERNAL)
    domain = await world.tick()
    assert domain is not None
    stored = domain["last_tick_error"]
    assert "HTTP 500" in stored and len(stored) <= MAX_ERROR_CHARS
    assert_bounded(stored)
    [reason] = tick_failed_reasons(world)
    assert "HTTP 500" in reason and len(reason) <= MAX_ERROR_CHARS
    assert_bounded(reason)


async def test_escape_codes_are_stored_and_printed_escaped(world: World) -> None:
    refuse_listing(world, ESCAPES + INTERNAL)
    ticked = gateway(world, "tick", "acme")
    assert ticked.returncode == 1
    assert "\\x1b[2J" in ticked.stdout
    assert_bounded(ticked.stdout.replace("\n", " "))
    [reason] = tick_failed_reasons(world)
    assert "\\x1b[31mRED" in reason
    assert_bounded(reason)
    audit = gateway(world, "audit", "--type", "tick_failed")
    assert audit.returncode == 0, audit.stderr
    assert "\x1b" not in audit.stdout and "\x07" not in audit.stdout


async def test_the_audit_command_prints_a_stored_raw_reason_escaped(world: World) -> None:
    """Reasons stored before the sanitiser (or by any other path) reach the terminal
    escaped and bounded all the same, and none of them is read as console markup."""
    world.add_domain()
    with Session(world.engine) as session:
        session.add(
            SyncEvent(
                domain_id=world.domain_id,
                event_type=EventType.TICK_FAILED.value,
                reason="jira: HTTP 500: [bold]" + ESCAPES + INTERNAL,
            )
        )
        session.commit()
    audit = gateway(world, "audit", "--type", "tick_failed")
    assert audit.returncode == 0, audit.stderr
    assert "\x1b" not in audit.stdout and "\x07" not in audit.stdout
    assert "\\x1b" in audit.stdout and "[bold]" in audit.stdout
    assert "-END" not in audit.stdout
