"""Sync domains: lookup, create, update, pause/resume, back-fill, delete.

Every function takes an open session and leaves committing to the caller, so one
request (or one CLI command) is one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr
from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, delete, select

from gateway.admin.errors import Conflict, CredentialRequired, DomainNotFound, get_or_refuse
from gateway.admin.schemas import (
    NULLABLE_DOMAIN_FIELDS,
    SECRET_FIELDS,
    DomainCreate,
    DomainUpdate,
)
from gateway.clock import as_utc, utcnow
from gateway.models import (
    DeadLetter,
    DomainConfig,
    EventType,
    FieldMapping,
    RoutingRule,
    SyncEvent,
    SyncState,
    SyncStatus,
)
from gateway.sync.breaker import probe_at_next_tick

# How every surface names a domain, for ``--help`` texts and API docs.
DOMAIN_REF_HELP = "Domain id (all digits) or name."


def get_domain(session: Session, domain_id: int) -> DomainConfig:
    """The domain with this id, or DomainNotFound."""
    return get_or_refuse(session, DomainConfig, domain_id, "domain", DomainNotFound)


def find_domain(session: Session, ref: str) -> DomainConfig:
    """The domain an admin means by ``ref``: an all-digit ``ref`` is an id, anything else
    a name.

    One rule for every surface (CLI arguments, API and UI paths). It is never
    ambiguous because a domain name cannot be all digits (``DomainCreate`` refuses
    one), so no name can hide behind another domain's id.
    """
    ref = ref.strip()
    if ref.isascii() and ref.isdigit():
        return get_domain(session, int(ref))
    domain = session.exec(select(DomainConfig).where(DomainConfig.name == ref)).first()
    if domain is None:
        raise DomainNotFound(f"no domain named {ref!r}")
    return domain


def list_domains(session: Session) -> list[DomainConfig]:
    """Every domain, by name."""
    return list(session.exec(select(DomainConfig).order_by(col(DomainConfig.name))))


def _check_name_free(session: Session, name: str, own_id: int | None = None) -> None:
    existing = session.exec(select(DomainConfig).where(DomainConfig.name == name)).first()
    if existing is not None and existing.id != own_id:
        raise Conflict(f"a domain named {name!r} already exists")


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def create_domain(session: Session, data: DomainCreate) -> DomainConfig:
    """Add a domain; Conflict when the name is taken."""
    _check_name_free(session, data.name)
    values = data.model_dump(exclude=set(SECRET_FIELDS))
    domain = DomainConfig(
        **values,
        pf_api_key=_secret(data.pf_api_key),
        jira_api_token=_secret(data.jira_api_token),
    )
    session.add(domain)
    session.flush()
    return domain


# Which credential goes to which destination: changing any of the fields on the left
# needs the credential on the right in the same request.
CREDENTIAL_DESTINATIONS: dict[str, tuple[str, ...]] = {
    "pf_api_key": ("pf_base_url",),
    "jira_api_token": ("jira_base_url", "jira_email"),
}
_CREDENTIAL_LABELS = {"pf_api_key": "PeopleForce API key", "jira_api_token": "Jira API token"}


def check_credentials_follow(domain: DomainConfig, data: DomainUpdate) -> None:
    """Refuse a new destination for a stored credential unless it is re-entered.

    A destination "changes" only when the new value differs from the stored one, so
    forms that send every field unchanged pass. Only a real secret counts as re-entered:
    an empty one (a clear) does not, so no request moves a destination without one.
    CredentialRequired otherwise.
    """
    for secret, destinations in CREDENTIAL_DESTINATIONS.items():
        if _secret(getattr(data, secret)) or not getattr(domain, secret):
            continue
        moved = [
            name
            for name in destinations
            if name in data.model_fields_set
            and getattr(data, name) is not None
            and getattr(data, name) != getattr(domain, name)
        ]
        if moved:
            label = _CREDENTIAL_LABELS[secret]
            raise CredentialRequired(
                secret,
                f"changing {' and '.join(moved)} requires entering the {label} again "
                f"({secret}) in the same request",
            )


def _credentials_touched(data: DomainUpdate) -> bool:
    """Whether the update gives a credential or names where credentials go."""
    destinations = {name for names in CREDENTIAL_DESTINATIONS.values() for name in names}
    given = {name for name in SECRET_FIELDS if getattr(data, name) is not None}
    return bool(given or destinations & data.model_fields_set)


def update_domain(session: Session, domain: DomainConfig, data: DomainUpdate) -> DomainConfig:
    """Apply the fields the caller sent; a secret is replaced only when one is given.

    A new base URL (or Jira account) needs its credential in the same request
    (``check_credentials_follow``)."""
    check_credentials_follow(domain, data)
    changes = data.model_dump(exclude_unset=True, exclude=set(SECRET_FIELDS))
    if "name" in changes and changes["name"] is not None:
        _check_name_free(session, changes["name"], domain.id)
    for name, value in changes.items():
        if value is None and name not in NULLABLE_DOMAIN_FIELDS:
            continue
        setattr(domain, name, value)
    for name in SECRET_FIELDS:
        secret = getattr(data, name)
        if secret is not None:
            setattr(domain, name, secret.get_secret_value())
    if _credentials_touched(data):
        probe_at_next_tick(domain)
    domain.updated_at = utcnow()
    session.add(domain)
    session.flush()
    return domain


def set_domain_active(session: Session, domain: DomainConfig, active: bool) -> DomainConfig:
    """Pause or resume; the scheduler reads ``is_active`` on its next pass, no restart."""
    domain.is_active = active
    if active:
        probe_at_next_tick(domain)
    domain.updated_at = utcnow()
    session.add(domain)
    session.flush()
    return domain


def release_historical_tasks(session: Session, domain: DomainConfig, since: datetime | None) -> int:
    """Let tasks created before ``sync_since`` be synced: forget their "historical" rows
    (from ``since`` on, or all) and move ``sync_since`` back, so the next tick creates
    their issues. Returns how many tasks were released."""
    cutoff = as_utc(since)
    query = select(SyncState).where(
        SyncState.domain_id == domain.id, SyncState.status == SyncStatus.HISTORICAL
    )
    if cutoff is not None:
        query = query.where(col(SyncState.pf_created_at) >= cutoff)
    rows = list(session.exec(query))
    for row in rows:
        session.delete(row)
    domain.sync_since = cutoff
    domain.updated_at = utcnow()
    session.add(domain)
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class DomainDeletion:
    """What deleting a domain removes and what it keeps, counted before it happens."""

    domain_id: int
    name: str
    rules: int
    mappings: int
    dead_letters: int
    events: int

    def consequences(self) -> list[str]:
        """The effects in plain words, shown by the CLI prompt, the UI page and the API."""
        return [
            f"its {self.rules} routing rules and {self.mappings} task-to-issue mappings "
            f"(sync state) are deleted, and its {self.dead_letters} dead letters with them;",
            "the issues in Jira are left alone: they keep their label and entity property, "
            "and nothing closes, edits or deletes them; the PeopleForce tasks are not touched;",
            f"the audit log keeps its {self.events} events of this domain (searchable by "
            f"domain id {self.domain_id}) and records the deletion;",
            "a domain added again later with the same accounts starts from scratch: it "
            "creates new issues for the open tasks unless sync_since holds them back.",
        ]


def _count(session: Session, table: type, where: ColumnElement[bool]) -> int:
    return int(session.exec(select(func.count()).select_from(table).where(where)).one())


def describe_deletion(session: Session, domain: DomainConfig) -> DomainDeletion:
    """Count what ``delete_domain`` would remove and keep; changes nothing."""
    domain_id = domain.id or 0
    return DomainDeletion(
        domain_id=domain_id,
        name=domain.name,
        rules=_count(session, RoutingRule, col(RoutingRule.domain_id) == domain_id),
        mappings=_count(session, SyncState, col(SyncState.domain_id) == domain_id),
        dead_letters=_count(session, DeadLetter, col(DeadLetter.domain_id) == domain_id),
        events=_count(session, SyncEvent, col(SyncEvent.domain_id) == domain_id),
    )


def delete_domain(session: Session, domain: DomainConfig) -> DomainDeletion:
    """Delete a domain with its rules, field mappings, sync state and dead letters.

    The children are deleted explicitly rather than left to the foreign keys'
    ``ON DELETE CASCADE``, so the outcome does not depend on SQLite's foreign-key
    pragma. The audit log is history and stays; one event records the deletion.
    Nothing is sent to Jira or PeopleForce. A tick already queued for the domain
    finds no domain and does nothing.
    """
    summary = describe_deletion(session, domain)
    domain_id = summary.domain_id
    rule_ids = select(RoutingRule.id).where(RoutingRule.domain_id == domain_id)
    session.exec(delete(FieldMapping).where(col(FieldMapping.rule_id).in_(rule_ids)))
    session.exec(delete(RoutingRule).where(col(RoutingRule.domain_id) == domain_id))
    session.exec(delete(SyncState).where(col(SyncState.domain_id) == domain_id))
    session.exec(delete(DeadLetter).where(col(DeadLetter.domain_id) == domain_id))
    session.delete(domain)
    session.add(
        SyncEvent(
            domain_id=domain_id,
            event_type=EventType.DOMAIN_DELETED.value,
            reason=f"domain {summary.name} deleted: {summary.rules} rules, "
            f"{summary.mappings} mappings and {summary.dead_letters} dead letters removed; "
            "Jira issues left alone",
            created_at=utcnow(),
        )
    )
    session.flush()
    return summary
