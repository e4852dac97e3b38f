"""What a person changed in Jira, compared with what the gateway last wrote (pure, no I/O).

The reconciler reads each tracked issue and must tell a person's edit from Jira's
own way of echoing a value back: an assignee written as ``{"accountId": ...}``
comes back as a whole user, a select option as ``{"value", "id", "self"}``, a
description as ADF that Jira may re-serialise, labels in any order. Each value is
compared on what identifies it, and a shape this module cannot judge counts as
agreeing: a false drift would make the reconciler write at rest, a missed one is
only left for the next task change to correct.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.sync.adf import adf_to_text
from gateway.sync.hashing import canonical_json
from gateway.sync.mappings import TARGET_FIELDS

# What every pass reads: done or not, the tracking label, the project (a move).
BASE_FIELDS = ("status", "labels", "project")
LABELS = "labels"
_IDENTITY_KEYS = ("accountId", "value", "id", "key", "name")


def fields_to_read(written: Iterable[Mapping[str, Any] | None]) -> list[str]:
    """The fields one bulk read asks for: the base ones and every field the gateway wrote."""
    names = list(BASE_FIELDS)
    for fields in written:
        for name in fields or {}:
            if name not in TARGET_FIELDS and name not in names:
                names.append(name)
    return names


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def value_agrees(written: Any, current: Any) -> bool:
    """Whether Jira still holds what the gateway wrote into one field."""
    if isinstance(written, dict) and written.get("type") == "doc":
        return adf_to_text(written).strip() == adf_to_text(current).strip()
    if _is_empty(written) or _is_empty(current):
        return _is_empty(written) and _is_empty(current)
    if isinstance(written, dict):
        for key in _IDENTITY_KEYS:
            if key in written:
                return isinstance(current, dict) and str(current.get(key)) == str(written[key])
        return True  # a shape without an identity: cannot judge, so not a drift
    if isinstance(written, list):
        if not isinstance(current, list) or len(written) != len(current):
            return False
        return all(value_agrees(w, c) for w, c in zip(written, current, strict=True))
    if _is_number(written) and _is_number(current):
        return float(written) == float(current)  # 5 written, 5.0 echoed
    if isinstance(current, dict):  # a scalar written, an object echoed (e.g. an option)
        return any(str(current.get(key)) == str(written) for key in ("value", "name", "id"))
    return canonical_json(written) == canonical_json(current)


def missing_labels(written: Any, current: Any) -> list[str]:
    """The labels the gateway wrote that the issue no longer has (order never matters)."""
    have = set(current) if isinstance(current, list) else set()
    wanted = written if isinstance(written, list) else []
    return [label for label in wanted if isinstance(label, str) and label not in have]


def edited_fields(written: Mapping[str, Any] | None, current: Mapping[str, Any]) -> list[str]:
    """The gateway-owned fields (labels aside) whose Jira value differs from the one written.

    A field Jira did not return at all (hidden from the screen, no permission) is
    not judged.
    """
    edited = []
    for name, value in (written or {}).items():
        if name in TARGET_FIELDS or name == LABELS or name not in current:
            continue
        if not value_agrees(value, current[name]):
            edited.append(name)
    return sorted(edited)


def drift_digest(values: Mapping[str, Any]) -> str:
    """A short fingerprint of drifted values, to audit the same drift once."""
    return hashlib.sha256(canonical_json(dict(values))).hexdigest()[:16]
