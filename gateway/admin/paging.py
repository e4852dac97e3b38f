"""Page numbers and sizes for the admin lists (audit log, dead letters)."""

from __future__ import annotations

MAX_PAGE_SIZE = 200


def clamp_page(page: int, page_size: int) -> tuple[int, int]:
    """A page of at least 1 and a size between 1 and MAX_PAGE_SIZE, whatever was asked."""
    return max(1, page), max(1, min(MAX_PAGE_SIZE, page_size))
