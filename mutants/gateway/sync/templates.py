"""Dotted paths into a task and the ``{{path}}`` templates admins write in routing rules.

Templates are admin input rendered on every tick, so they get a renderer that can only
substitute values: no expressions, filters or attribute access that Jinja would allow.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
VALID_PATH = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")


def get_path(data: Any, path: str) -> Any:
    """The value at a dotted path (``assigned_to.email``, ``items.0.id``); None when missing."""
    current = data
    for segment in path.split("."):
        if isinstance(current, Mapping):
            if segment not in current:
                return None
            current = current[segment]
        elif isinstance(current, Sequence) and not isinstance(current, str | bytes):
            if not segment.isdigit() or int(segment) >= len(current):
                return None
            current = current[int(segment)]
        else:
            return None
    return current


def stringify(value: Any) -> str:
    """How a task value reads inside a template or a text field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def render_template(template: str, data: Any) -> str:
    """Substitute every ``{{path}}``; missing paths render as an empty string."""
    return PLACEHOLDER.sub(lambda match: stringify(get_path(data, match.group(1))), template)


def template_paths(template: str) -> list[str]:
    return [match.group(1) for match in PLACEHOLDER.finditer(template)]


def validate_template(template: str) -> list[str]:
    """Problems an admin should fix before saving (unbalanced braces, bad paths)."""
    problems = []
    remainder = PLACEHOLDER.sub("", template)
    if "{{" in remainder or "}}" in remainder:
        problems.append("unbalanced '{{' / '}}' in template")
    for path in template_paths(template):
        if not VALID_PATH.match(path):
            problems.append(f"invalid path {path!r} in template (use dotted names like title)")
    return problems
