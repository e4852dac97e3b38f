"""Change detection for PeopleForce tasks, which offer no ``updated_since`` filter.

A tick hashes every open task and talks to Jira only when the hash moved. The hash is
over canonical JSON so that key order or dict construction never causes a spurious
update, while any value change (1 vs "1" vs 1.0 vs true included) always does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(obj: Any) -> bytes:
    """Deterministic UTF-8 JSON: sorted keys, no whitespace, no ASCII escaping.

    Lone surrogates (possible after decoding ``"\\ud800"``) are kept rather than
    crashing, so a malformed title can never stop a tick.
    """
    text = json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8", errors="surrogatepass")


def state_hash(task: Mapping[str, Any]) -> str:
    """SHA-256 hex of the task exactly as PeopleForce sent it (what the ledger stores)."""
    return state_digest(task).hex()


def state_digest(task: Mapping[str, Any]) -> bytes:
    """The same hash as raw bytes: what a tick compares, without a hex string per task."""
    return hashlib.sha256(canonical_json(dict(task))).digest()
