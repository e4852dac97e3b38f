"""JSON shapes of the fake Jira's resources (REST v2/v3 and webhook payloads).

Rendering lives apart from the state so that the REST answers, the search
results and the webhook ``issue`` (which is the v2 shape, description as plain
text) cannot drift from one another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fakes.jira.model import (
    STATUSES,
    Category,
    FieldDef,
    Issue,
    IssueType,
    Priority,
    Project,
    Status,
    Transition,
    User,
)

__all__ = [
    "Site",
    "adf_error",
    "adf_from_text",
    "adf_to_text",
    "category_json",
    "createmeta_field_json",
    "field_json",
    "issue_json",
    "issuetype_json",
    "jira_time",
    "priority_json",
    "project_json",
    "select_fields",
    "server_info_json",
    "split_names",
    "status_json",
    "transition_json",
    "user_json",
]


_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


def jira_time(at: datetime) -> str:
    """Jira's timestamp format: ``2024-01-02T03:04:05.678+0000``."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}" + at.strftime("%z")


# ------------------------------------------------------------------- ADF


def adf_from_text(text: str) -> dict[str, Any]:
    """A minimal ADF document holding ``text`` (one paragraph per line)."""
    content = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(doc: dict[str, Any] | None) -> str | None:
    """Flatten ADF to the plain text that v2 answers and webhooks carry."""
    if doc is None:
        return None
    blocks: list[str] = []
    for block in doc.get("content", []):
        blocks.append(_inline_text(block))
    return "\n".join(blocks)


def _inline_text(node: dict[str, Any]) -> str:
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    return "".join(_inline_text(child) for child in node.get("content", []))


def adf_error(value: Any) -> str | None:
    """Why ``value`` is not an ADF document, or ``None`` when it is one."""
    message = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
    if not isinstance(value, dict) or value.get("type") != "doc" or value.get("version") != 1:
        return message
    if not isinstance(value.get("content"), list):
        return message
    stack: list[Any] = list(value["content"])
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            return message
        if node["type"] == "text" and not isinstance(node.get("text"), str):
            return message
        children = node.get("content", [])
        if not isinstance(children, list):
            return message
        stack.extend(children)
    return None


# -------------------------------------------------------------- resources


def server_info_json(base: str, now: datetime) -> dict[str, Any]:
    """``/serverInfo``: a Cloud site, whose ``serverTime`` follows the fake's clock."""
    return {
        "baseUrl": base,
        "displayUrl": base,
        "version": "1001.0.0-SNAPSHOT",
        "versionNumbers": [1001, 0, 0],
        "deploymentType": "Cloud",
        "buildNumber": 100280,
        "buildDate": "2025-01-01T00:00:00.000+0000",
        "serverTime": now.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "scmInfo": "fake",
        "serverTitle": "Jira",
        "defaultLocale": {"locale": "en_US"},
        "serverTimeZone": "Etc/UTC",
    }


def category_json(base: str, cat: Category, version: str = "3") -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/{version}/statuscategory/{cat.id}",
        "id": cat.id,
        "key": cat.key,
        "colorName": cat.color,
        "name": cat.name,
    }


def status_json(base: str, status: Status, version: str = "3") -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/{version}/status/{status.id}",
        "description": "",
        "iconUrl": f"{base}/images/icons/statuses/generic.png",
        "name": status.name,
        "untranslatedName": status.name,
        "id": status.id,
        "statusCategory": category_json(base, status.category_def, version),
    }


def project_json(
    base: str, project: Project, version: str = "3", *, full: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "self": f"{base}/rest/api/{version}/project/{project.id}",
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "projectTypeKey": "software",
        "simplified": project.workflow.name == "Simplified Workflow",
        "avatarUrls": {"48x48": f"{base}/rest/api/{version}/universal_avatar/view/type/project"},
    }
    if full:
        body.update(
            {
                "description": "",
                "style": "next-gen" if body["simplified"] else "classic",
                "isPrivate": False,
                "issueTypes": [issuetype_json(base, t, version) for t in project.issue_types],
                "properties": {},
            }
        )
    return body


def issuetype_json(base: str, itype: IssueType, version: str = "3") -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/{version}/issuetype/{itype.id}",
        "id": itype.id,
        "description": itype.description,
        "iconUrl": f"{base}/images/icons/issuetypes/task.svg",
        "name": itype.name,
        "untranslatedName": itype.name,
        "subtask": itype.subtask,
        "avatarId": 10318,
        "hierarchyLevel": -1 if itype.subtask else 0,
    }


def priority_json(base: str, priority: Priority, version: str = "3") -> dict[str, Any]:
    return {
        "self": f"{base}/rest/api/{version}/priority/{priority.id}",
        "iconUrl": f"{base}/images/icons/priorities/{priority.name.lower()}.svg",
        "name": priority.name,
        "id": priority.id,
    }


def user_json(
    base: str, user: User, version: str = "3", *, with_email: bool = True
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "self": f"{base}/rest/api/{version}/user?accountId={user.account_id}",
        "accountId": user.account_id,
        "accountType": user.account_type,
        "avatarUrls": {"48x48": f"{base}/avatar/{user.account_id}"},
        "displayName": user.display_name,
        "active": user.active,
        "timeZone": user.time_zone,
    }
    if with_email and user.email_visible:
        body["emailAddress"] = user.email
    return body


def transition_json(base: str, transition: Transition, version: str = "3") -> dict[str, Any]:
    return {
        "id": transition.id,
        "name": transition.name,
        "to": status_json(base, STATUSES[transition.to], version),
        "hasScreen": False,
        "isGlobal": not transition.sources,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }


def field_json(fdef: FieldDef) -> dict[str, Any]:
    clause = fdef.id if not fdef.custom else f"cf[{fdef.id.rsplit('_', 1)[1]}]"
    return {
        "id": fdef.id,
        "key": fdef.id,
        "name": fdef.name,
        "custom": fdef.custom,
        "orderable": fdef.settable,
        "navigable": fdef.navigable,
        "searchable": True,
        "clauseNames": [clause, fdef.name] if fdef.custom else [clause],
        "schema": fdef.schema,
    }


def createmeta_field_json(
    base: str, fdef: FieldDef, project: Project, itype: IssueType, version: str = "3"
) -> dict[str, Any]:
    """One field of createmeta: whether this project and issue type require it, its values."""
    fid = fdef.id
    entry: dict[str, Any] = {
        "required": project.is_required(itype.id, fid),
        "schema": fdef.schema,
        "name": fdef.name,
        "key": fid,
        "fieldId": fid,
        "hasDefaultValue": fid in ("priority", "reporter"),
        "operations": ["add", "set", "remove"] if fid == "labels" else ["set"],
    }
    if fid == "project":
        entry["allowedValues"] = [project_json(base, project, version)]
    elif fid == "issuetype":
        entry["allowedValues"] = [issuetype_json(base, itype, version)]
    elif fid == "priority":
        entry["allowedValues"] = [priority_json(base, x, version) for x in project.priorities]
    elif fdef.allowed_values is not None:
        entry["allowedValues"] = [
            {
                "self": f"{base}/rest/api/{version}/customFieldOption/{10100 + i}",
                "value": v,
                "id": str(10100 + i),
            }
            for i, v in enumerate(fdef.allowed_values)
        ]
    return entry


# ------------------------------------------------------------------ issues


def split_names(values: Iterable[str] | None) -> list[str]:
    """Repeated and comma-separated parameter values (``fields=a,b&fields=c``) as one list."""
    return [name.strip() for item in values or [] for name in item.split(",") if name.strip()]


def select_fields(
    spec: Iterable[str] | None, *, navigable: Sequence[str], default_all: bool
) -> list[str]:
    """Resolve a ``fields`` parameter (``*all``, ``*navigable``, names, ``-name``) to names."""
    tokens = split_names(spec)
    if not tokens:
        return list(navigable) if default_all else []
    chosen: list[str] = []
    excluded = {t[1:] for t in tokens if t.startswith("-")}
    for t in tokens:
        if t in ("*all", "*navigable"):
            chosen.extend(f for f in navigable if f not in chosen)
        elif not t.startswith("-") and t not in chosen:
            chosen.append(t)
    return [f for f in chosen if f not in excluded]


@dataclass(frozen=True)
class Site:
    """What rendering an issue reads from the site besides the issue and its project."""

    base: str
    users: dict[str, User]
    priorities: dict[str, Priority]
    field_defs: dict[str, FieldDef]


def issue_json(
    site: Site,
    issue: Issue,
    *,
    project: Project,
    fields: list[str],
    version: str = "3",
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Render an issue; ``fields`` are names (unknown names are ignored, as Jira does)."""
    base = site.base
    values = _field_values(site, issue, project, version)
    body: dict[str, Any] = {
        "expand": _EXPAND,
        "id": str(issue.id),
        "self": f"{base}/rest/api/{version}/issue/{issue.id}",
        "key": issue.key,
        "fields": {name: values[name] for name in fields if name in values},
    }
    if properties is not None:
        body["properties"] = properties
    return body


def _field_values(site: Site, issue: Issue, project: Project, version: str) -> dict[str, Any]:
    base, users, priorities = site.base, site.users, site.priorities
    itype = project.issue_type(issue.issue_type_id)

    def user(account_id: str | None) -> dict[str, Any] | None:
        if account_id is None or account_id not in users:
            return None
        return user_json(base, users[account_id], version)

    values: dict[str, Any] = {
        "summary": issue.summary,
        "status": status_json(base, issue.status_def, version),
        "labels": list(issue.labels),
        "project": project_json(base, project, version),
        "issuetype": issuetype_json(base, itype, version) if itype else None,
        "created": jira_time(issue.created),
        "updated": jira_time(issue.updated),
        "duedate": issue.duedate,
        "assignee": user(issue.assignee),
        "reporter": user(issue.reporter),
        "priority": (
            priority_json(base, priorities[issue.priority], version)
            if issue.priority in priorities
            else None
        ),
        "description": (issue.description if version == "3" else adf_to_text(issue.description)),
        "resolution": (
            {
                "self": f"{base}/rest/api/{version}/resolution/10000",
                "id": "10000",
                "description": "Work has been completed on this issue.",
                "name": issue.resolution,
            }
            if issue.resolution
            else None
        ),
        "resolutiondate": jira_time(issue.resolution_date) if issue.resolution_date else None,
        "statuscategorychangedate": jira_time(issue.status_category_changed),
    }
    for fid, fdef in site.field_defs.items():
        if fdef.custom:
            raw = issue.custom.get(fid)
            if raw is not None and fdef.allowed_values is not None:
                values[fid] = {
                    "self": f"{base}/rest/api/{version}/customFieldOption/{fid}",
                    "value": raw,
                    "id": str(fdef.allowed_values.index(raw) + 10100),
                }
            else:
                values[fid] = raw
    return values
