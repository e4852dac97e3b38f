"""Refusals of admin operations; each surface turns them into its own answer.

The JSON API answers 404/409/422, the UI shows the message on its page, the CLI
prints it as one line and exits 1: the message is the same everywhere.
"""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import Session, SQLModel

RowT = TypeVar("RowT", bound=SQLModel)


class NotFound(LookupError):
    """The named object does not exist; the message names it for the admin."""


class DomainNotFound(NotFound):
    """No domain matches the id or name given (the CLI adds where to look them up)."""


def get_or_refuse(
    session: Session, model: type[RowT], row_id: int, what: str, error: type[NotFound] = NotFound
) -> RowT:
    """The ``model`` row with this id, or ``error`` saying there is no ``what`` with it."""
    row = session.get(model, row_id)
    if row is None:
        raise error(f"no {what} with id {row_id}")
    return row


class Conflict(ValueError):
    """The change would break a rule of the data: a taken name, a closed dead letter."""


class RuleInvalid(ValueError):
    """The rule would misbehave at tick time; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class CredentialRequired(Conflict):
    """A change would send a stored credential somewhere new without it being re-entered.

    Credentials are bound to where they go: whoever moves a domain's PeopleForce base
    URL must type the PeopleForce key again, and whoever moves its Jira site or
    account must type the Jira token, so an admin account (or a stolen API token)
    cannot redirect the stored secrets to a listener of its choice. ``field`` names
    the credential to re-enter.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
