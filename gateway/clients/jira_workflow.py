"""Choosing transitions in a workflow the gateway has never seen.

Jira projects have arbitrary workflows; the gateway knows only status categories.
These preferences pick the most plausible way to "done" without hard-coding names.
"""

from __future__ import annotations

import re

from gateway.clients.models import Transition

DONE = "done"
IN_PROGRESS = "indeterminate"
TO_DO = "new"

# Done-category transitions whose name says "not done properly"; used only to break ties.
_NEGATIVE_DONE = re.compile(
    r"cancel|reject|declin|won'?t|abandon|invalid|duplicate|obsolete", re.IGNORECASE
)


def done_preference(transition: Transition) -> tuple[int, int]:
    """Prefer a plain "Done" over "Won't do"-style exits that share the done category."""
    target_name = (transition.to.name or "") if transition.to else ""
    negative = bool(_NEGATIVE_DONE.search(f"{transition.name} {target_name}"))
    exact = target_name.casefold() == "done" or transition.name.casefold() == "done"
    return (1 if negative else 0, 0 if exact else 1)


def step_preference(transition: Transition) -> int:
    """Intermediate steps: In Progress brings us closer to done than To Do does."""
    return {IN_PROGRESS: 0, TO_DO: 1}.get(transition.target_category or "", 2)
