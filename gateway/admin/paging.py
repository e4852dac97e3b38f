"""Page numbers and sizes for the admin lists (audit log, dead letters)."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.models import DeadLetter, SyncEvent

MAX_PAGE_SIZE = 200

LoggedT = TypeVar("LoggedT", SyncEvent, DeadLetter)


def clamp_page(page: int, page_size: int) -> tuple[int, int]:
    """A page of at least 1 and a size between 1 and MAX_PAGE_SIZE, whatever was asked."""
    return max(1, page), max(1, min(MAX_PAGE_SIZE, page_size))


def newest_first(
    session: Session, model: type[LoggedT], conditions: list[Any], page: int, page_size: int
) -> tuple[list[LoggedT], int]:
    """One page of the rows matching ``conditions``, newest first (the later id first
    within a second), and how many match in all."""
    page, page_size = clamp_page(page, page_size)
    total = session.exec(select(func.count()).select_from(model).where(*conditions)).one()
    query = (
        select(model)
        .where(*conditions)
        .order_by(col(model.created_at).desc(), col(model.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(session.exec(query)), total
