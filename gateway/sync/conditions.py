"""Routing-rule conditions: what an admin can test a task's fields for (pure, no I/O).

A condition is admin input evaluated on every tick, so matching never raises: a bad
regex, an unknown operator or a value of the wrong shape simply does not match, and
``validate_condition`` reports the same problems when the rule is saved.

Regular expressions run on RE2, whose matching time is linear in the text: with
Python's backtracking ``re``, one pattern such as ``^(a+)+$`` and one task title
that HR controls held the GIL for minutes, stalling the API and every worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

import re2

from gateway.sync.templates import VALID_PATH, get_path, stringify


class Op(StrEnum):
    EQUALS = "equals"
    NOT_EQUALS = "not_equals"
    CONTAINS = "contains"
    REGEX = "regex"
    IN = "in"
    IS_EMPTY = "is_empty"
    IS_NOT_EMPTY = "is_not_empty"


VALUELESS_OPS = frozenset({Op.IS_EMPTY, Op.IS_NOT_EMPTY})


@dataclass(frozen=True)
class Condition:
    path: str
    op: str
    value: Any = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Condition:
        """Tolerant of whatever the JSON column holds; validation reports the problems."""
        if not isinstance(raw, Mapping):
            return cls(path="", op="")
        return cls(
            path=str(raw.get("path") or "").strip(),
            op=str(raw.get("op") or "").strip().lower(),
            value=raw.get("value"),
        )


def is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping | list | tuple | set):
        return len(value) == 0
    return False


def _norm(value: Any) -> str:
    return stringify(value).strip().casefold()


def values_equal(actual: Any, expected: Any) -> bool:
    """Admin-typed values: strings compare case-insensitively, "7" equals 7, true != 1."""
    if expected is None:
        return is_empty(actual)
    if actual is None:
        return False
    if isinstance(actual, bool) != isinstance(expected, bool):
        # "true" typed by an admin matches a JSON true, but the number 1 does not.
        if isinstance(actual, str) or isinstance(expected, str):
            return _norm(actual) == _norm(expected)
        return False
    if isinstance(actual, str) or isinstance(expected, str):
        return _norm(actual) == _norm(expected)
    return actual == expected


@lru_cache(maxsize=256)
def _compile(pattern: str) -> Any:
    """The RE2 program for ``pattern``, or None when RE2 cannot compile it."""
    try:
        return re2.compile(pattern)
    except (re2.error, ValueError, TypeError):
        return None


def condition_matches(task: Mapping[str, Any], condition: Condition) -> bool:
    """One condition against one task; unknown ops and bad values never match."""
    actual = get_path(task, condition.path) if condition.path else None
    expected = condition.value
    op = condition.op
    if op == Op.EQUALS:
        return values_equal(actual, expected)
    if op == Op.NOT_EQUALS:
        return not values_equal(actual, expected)
    if op == Op.IS_EMPTY:
        return is_empty(actual)
    if op == Op.IS_NOT_EMPTY:
        return not is_empty(actual)
    if op == Op.CONTAINS:
        if actual is None or expected is None:
            return False
        if isinstance(actual, list | tuple):
            return any(values_equal(item, expected) for item in actual)
        if isinstance(actual, Mapping):
            return False
        return _norm(expected) in _norm(actual)
    if op == Op.IN:
        options = expected if isinstance(expected, list | tuple) else [expected]
        candidates = actual if isinstance(actual, list | tuple) else [actual]
        return any(values_equal(a, o) for a in candidates for o in options if o is not None)
    if op == Op.REGEX:
        pattern = _compile(expected) if isinstance(expected, str) else None
        if pattern is None or actual is None:
            return False
        candidates = actual if isinstance(actual, list | tuple) else [actual]
        return any(pattern.search(stringify(item)) for item in candidates if item is not None)
    return False


def validate_condition(condition: Condition) -> list[str]:
    problems = []
    where = f"condition on {condition.path or '(no path)'!r}"
    if not condition.path:
        problems.append("a condition has no path")
    elif not VALID_PATH.match(condition.path):
        problems.append(f"{where}: invalid path (use dotted names like assigned_to.email)")
    if condition.op not in {op.value for op in Op}:
        problems.append(f"{where}: unknown operator {condition.op!r}")
        return problems
    if condition.op in VALUELESS_OPS:
        return problems
    if condition.value is None:
        problems.append(f"{where}: operator {condition.op!r} needs a value")
    elif condition.op == Op.IN and not isinstance(condition.value, list):
        problems.append(f"{where}: operator 'in' needs a list of values")
    elif condition.op == Op.REGEX:
        if not isinstance(condition.value, str):
            problems.append(f"{where}: regex must be a string")
        else:
            try:
                re2.compile(condition.value)
            except (re2.error, ValueError, TypeError) as exc:
                problems.append(
                    f"{where}: invalid regex (RE2 syntax: no backreferences or lookaround): {exc}"
                )
    return problems


# What each operator means, in the words ``gateway rule add --help`` shows; kept beside
# ``condition_matches`` so the description changes with the code it describes.
OP_SEMANTICS: dict[Op, str] = {
    Op.EQUALS: "the field equals VALUE; text is compared case-insensitively with surrounding "
    'spaces ignored, "7" equals 7, true does not equal 1; a null VALUE matches an empty or '
    "missing field",
    Op.NOT_EQUALS: "the opposite of equals (a missing field matches)",
    Op.CONTAINS: "text: VALUE is a substring, case-insensitive; a list: one item equals VALUE; "
    "an object or a missing field never matches",
    Op.REGEX: "a regular expression found anywhere in the text, in RE2 syntax (Python's, "
    "without backreferences or lookaround; matching time is linear, so no pattern can "
    "stall the gateway), case-sensitive unless the pattern starts with (?i); a list "
    "matches when one item does; an invalid pattern never matches",
    Op.IN: 'VALUE is a JSON list such as ["IT","HR"]; the field equals one of them (as equals)',
    Op.IS_EMPTY: "no VALUE; the field is missing, null, blank text or an empty list or object",
    Op.IS_NOT_EMPTY: "no VALUE; the opposite of is_empty",
}
