"""Records of the fake PeopleForce and the formats its API speaks.

PeopleForce's quirks start in its data: whole-second UTC timestamps with a
``Z``, an HTML description with a derived plain-text twin, dates that must be
ISO days. Keeping them here lets the account, the REST routes and the control
plane parse and print them one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any

from fakes.clock import FakeClock

__all__ = [
    "API_USER",
    "TASK_TYPE",
    "TaskRecord",
    "html_to_plain",
    "human_name",
    "iso_z",
    "parse_date",
    "parse_moment",
]

TASK_TYPE = "Tasks::General"
API_USER: dict[str, Any] = {
    "id": 9000,
    "full_name": "HR Integration",
    "email": "hr-api@example.com",
}
"""``created_by`` of tasks created through the API (the API key's owner)."""


def iso_z(moment: datetime) -> str:
    """PeopleForce's timestamp format: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"p", "div", "li", "br", "h1", "h2", "h3", "h4", "tr", "ul", "ol"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_plain(html: str | None) -> str | None:
    """``description_plain``: the HTML description without tags, one line per block."""
    if html is None:
        return None
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def parse_date(value: Any, field_name: str) -> date | None:
    """An ISO day (or None); anything else is the validation message PeopleForce gives."""
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{human_name(field_name)} is not a valid date")


def parse_moment(value: datetime | str | None, clock: FakeClock) -> datetime:
    """A seeded ``created_at`` in UTC; None means now on the fake's (shiftable) clock."""
    if value is None:
        return clock.now()
    moment = value
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    return moment.astimezone(UTC)


def human_name(field_name: str) -> str:
    """``starts_on`` -> ``Starts on``: how Rails names a field in its messages."""
    return field_name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class TaskRecord:
    """A stored task; people are kept as employee ids and rendered live."""

    id: int
    title: str
    description: str | None
    starts_on: date | None
    ends_on: date | None
    completed: bool
    completed_at: datetime | None
    assigned_to: int | None
    associated_to: int | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
