"""Jinja2 rendering for the admin UI: autoescaping always on, a few display filters.

Task titles, rule names and upstream error messages are untrusted text; they
are only ever inserted through autoescaped expressions (no ``|safe`` anywhere).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.api.admin.deps import Principal
from gateway.security.exposure import upstream_error_text

# The templates and static files stay beside the API package, where the wheel ships them.
TEMPLATES_DIR = Path(__file__).parent.parent / "templates"

# Fixed messages picked by a code in ?notice=, so nothing user-supplied is reflected.
NOTICES = {
    "domain-created": "Domain created.",
    "domain-saved": "Domain saved.",
    "domain-deleted": "Domain deleted. Its issues in Jira were left alone.",
    "rule-created": "Rule created.",
    "rule-saved": "Rule saved.",
    "signed-out": "You are signed out.",
}


def format_datetime(value: datetime | None) -> str:
    """Absolute UTC time; naive values from SQLite are UTC."""
    if value is None:
        return "never"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def relative_time(value: datetime | None, now: datetime | None = None) -> str:
    """'3 min ago' / 'in 20 s': what the admin reads first on the dashboard."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        text = f"{seconds} s"
    elif seconds < 3600:
        text = f"{seconds // 60} min"
    elif seconds < 86_400:
        text = f"{seconds // 3600} h"
    else:
        text = f"{seconds // 86_400} d"
    return f"in {text}" if future else f"{text} ago"


def pretty_json(value: Any) -> str:
    """Indented JSON for payloads and details (autoescaped by the template)."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = format_datetime
    env.filters["ago"] = relative_time
    env.filters["pretty_json"] = pretty_json
    env.filters["upstream_error"] = upstream_error_text
    return env


templates = Jinja2Templates(env=_environment())


def is_htmx(request: Request) -> bool:
    """htmx requests get a fragment to swap; plain form posts get a redirect."""
    return request.headers.get("HX-Request") == "true"


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a template with the signed-in admin and CSRF token available to it."""
    data: dict[str, Any] = {
        "user": principal.name if principal else None,
        "role": principal.role.value if principal else None,
        # Viewers are refused every change, so their pages offer none.
        "may_change": principal.may_change if principal else False,
        "csrf_token": principal.session.csrf if principal and principal.session else "",
        "notice": NOTICES.get(request.query_params.get("notice", "")),
        "nav": "",
    }
    data.update(context or {})
    response = templates.TemplateResponse(request, name, data, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(request: Request, url: str) -> Response:
    """Post/Redirect/Get for plain forms; a full navigation (HX-Redirect) for htmx."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
