"""The per-domain circuit breaker: a refused credential stops the domain's writes.

A revoked Jira token or PeopleForce key makes every call fail; without a breaker
every tick would send every pending write and fail each one. The breaker counts
authentication failures (401/403) in a row, across calls and ticks; at
``breaker_threshold`` it opens: the domain is marked degraded (audited, alerted
once by the worker, shown by ``/metrics`` and the admin surfaces), and its ticks
send nothing but a probe every ``breaker_probe_seconds``. The probe is one cheap
authenticated read on each side; when both answer, the breaker closes and the
same tick syncs everything that waited, since nothing was recorded as done
while it was open.

A tick's first piece of task work runs alone (``TickContext.bounded``) and work
runs one at a time while a failure is suspected, so a revoked credential costs at
most ``breaker_threshold`` failed writes, not one per task.
"""

from __future__ import annotations

import logging
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeGuard

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from gateway.clients.errors import UpstreamError
from gateway.clients.jira import JiraClient
from gateway.clients.peopleforce import PeopleForceClient
from gateway.clock import as_utc, utcnow
from gateway.models import DomainConfig, EventType
from gateway.security.exposure import bounded_excerpt
from gateway.settings import Settings
from gateway.sync.ledger import Ledger

log = logging.getLogger("gateway.sync.breaker")

CREDENTIAL_STATUSES = frozenset({401, 403})


def allows_writes(domain: DomainConfig) -> bool:
    """Whether the domain's breaker is closed; every flow that writes upstream asks this."""
    return domain.breaker_opened_at is None


def refused_credentials(error: BaseException) -> TypeGuard[UpstreamError]:
    """An upstream answer that says the credential, not the request, is the problem."""
    return isinstance(error, UpstreamError) and error.status in CREDENTIAL_STATUSES


def probe_at_next_tick(domain: DomainConfig) -> None:
    """An operator changed what the breaker tripped on (a credential, a base URL, or
    resumed the domain): an open breaker probes at the next tick instead of waiting
    out ``breaker_probe_seconds``. It stays open until the probe succeeds."""
    if domain.breaker_opened_at is not None:
        domain.breaker_next_probe_at = utcnow()


def degraded_domains(engine: Engine) -> dict[str, str]:
    """Domains whose breaker is open, with the reason (``/readyz`` reports them)."""
    query = select(DomainConfig.name, DomainConfig.breaker_reason).where(
        col(DomainConfig.breaker_opened_at).is_not(None)
    )
    with Session(engine) as session:
        return {name: reason or "credentials refused" for name, reason in session.exec(query)}


@dataclass
class Breaker:
    """The breaker of one domain during one tick; ``strikes`` persist between ticks."""

    ledger: Ledger
    threshold: int
    probe_every: timedelta
    strikes: int = 0
    opened_at: datetime | None = None
    opened_now: bool = False
    saved_strikes: int = 0
    refused_creates: int = 0

    @classmethod
    def of(cls, ledger: Ledger, domain: DomainConfig, settings: Settings) -> Breaker:
        return cls(
            ledger=ledger,
            threshold=settings.breaker_threshold,
            probe_every=timedelta(seconds=settings.breaker_probe_seconds),
            strikes=domain.breaker_strikes,
            saved_strikes=domain.breaker_strikes,
            opened_at=as_utc(domain.breaker_opened_at),
            refused_creates=domain.breaker_refused_creates,
        )

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    @property
    def suspect(self) -> bool:
        """A credential failure was seen and nothing has succeeded since."""
        return self.strikes > 0

    def succeeded(self) -> None:
        """A call went through: the credential works, the count starts again."""
        self.strikes = 0

    async def failed(self, error: UpstreamError) -> None:
        """Count one refused credential; open at the threshold."""
        self.strikes += 1
        if self.strikes >= self.threshold and not self.is_open:
            await self.open(
                f"{error.service} refused the credentials {self.strikes} times in a "
                f"row (HTTP {error.status}): {bounded_excerpt(error.message)}"
            )

    async def after_creates(self, *, refused: int, created: int) -> None:
        """Schema failures: K different creates refused with 400 since Jira last accepted
        one, counted across ticks (a domain with one new task a tick meets a changed
        schema as surely as one with many).

        Each refused create is already dead-lettered (no loop); the breaker stops the
        domain from sending every new task into the same refusal until a probe, and
        says so once. A create that succeeds shows the schema takes the domain's tasks:
        the refusals are a rule problem of some tasks, not of the domain, and the count
        starts again.
        """
        before = self.refused_creates
        self.refused_creates = 0 if created or self.is_open else before + refused
        if self.refused_creates >= self.threshold:
            await self.open(
                f"jira refused {self.refused_creates} different creates with HTTP 400 and "
                "accepted none since: a required field or a changed schema? Fix the rules, "
                "then replay the dead letters"
            )
            self.refused_creates = 0
        if self.refused_creates != before:
            await self.ledger.update_domain(breaker_refused_creates=self.refused_creates)

    async def open(self, reason: str) -> None:
        now = utcnow()
        self.opened_at = now
        self.opened_now = True
        await self.ledger.update_domain(
            breaker_opened_at=now,
            breaker_reason=reason,
            breaker_next_probe_at=now + self.probe_every,
            breaker_strikes=self.strikes,
        )
        await self.ledger.record(EventType.BREAKER_OPENED, reason)
        log.warning("domain %s: circuit breaker open: %s", self.ledger.domain_id, reason)

    async def save_strikes(self) -> None:
        """Remember the count for the next tick (only while the breaker is closed)."""
        if not self.is_open and self.strikes != self.saved_strikes:
            await self.ledger.update_domain(breaker_strikes=self.strikes)
            self.saved_strikes = self.strikes

    def waiting_line(self, domain: DomainConfig) -> str:
        """What a tick skipped by the open breaker says instead of a task count."""
        due = as_utc(domain.breaker_next_probe_at)
        when = f"; next probe at {due:%Y-%m-%d %H:%M:%S} UTC" if due is not None else ""
        return f"circuit breaker open{when}"

    async def probe(self, domain: DomainConfig, pf: PeopleForceClient, jira: JiraClient) -> bool:
        """While open: probe when due; True once both upstreams answer (the breaker closes)."""
        due = as_utc(domain.breaker_next_probe_at)
        now = utcnow()
        if due is not None and now < due:
            return False
        try:
            await jira.check_access()
            async with aclosing(pf.iter_task_pages(False, max_pages=1)) as pages:
                async for _page in pages:
                    break
        except UpstreamError as error:
            await self.ledger.update_domain(breaker_next_probe_at=now + self.probe_every)
            log.info("domain %s: breaker probe refused: %s", domain.name, error)
            return False
        await self.close(domain)
        return True

    async def close(self, domain: DomainConfig) -> None:
        opened = as_utc(domain.breaker_opened_at)
        self.opened_at = None
        self.strikes = 0
        await self.ledger.update_domain(
            breaker_opened_at=None,
            breaker_reason=None,
            breaker_next_probe_at=None,
            breaker_strikes=0,
        )
        since = f" (open since {opened.isoformat()})" if opened else ""
        await self.ledger.record(
            EventType.BREAKER_CLOSED, f"the upstreams accept the credentials again{since}"
        )
