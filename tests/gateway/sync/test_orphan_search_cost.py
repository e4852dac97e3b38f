"""A lineage search costs its search pages, never one property read per hit.

Its candidates are every issue the gateway's account made lately, other domains'
issues included, so reading each one's lineage property by itself made a tick after
a few lost creates, or a restore, take minutes. The search asks Jira for the
property with the hits instead. The restore's search reports its progress as it
reads pages.
"""

from __future__ import annotations

from sqlmodel import Session, select

from gateway.maintenance.restore import recover_lineage
from gateway.models import EventType, SyncState, SyncStatus
from tests.gateway.sync.test_orphan_adoption import (
    answer_502_after_the_create,
    lost_create,
)
from tests.world import World

PROPERTY = "pf_sync_metadata"
SEARCH_ENDPOINT = "/rest/api/3/search/jql"
PAGE_SIZE = 10


def other_domains_issues(world: World, count: int) -> None:
    """Issues the gateway's account made for another domain, with its lineage."""
    for n in range(count):
        lineage = {"pf_task_id": 5000 + n, "domain": "other", "domain_id": 999}
        world.jira.create(
            "HR",
            f"Other {n}",
            labels=["Other"],
            properties={PROPERTY: lineage},
            as_user=world.jira.bot,
        )


def property_reads(world: World) -> int:
    return sum(
        1 for r in world.jira_faults.requests if r.method == "GET" and "/properties/" in r.endpoint
    )


def search_pages(world: World) -> int:
    return sum(1 for r in world.jira_faults.requests if r.endpoint == SEARCH_ENDPOINT)


async def test_an_orphan_search_over_many_hits_reads_no_property(world: World) -> None:
    world.jira.search_max_results = PAGE_SIZE
    task_id = await lost_create(world, answer_502_after_the_create)
    [orphan] = world.issues()
    other_domains_issues(world, 34)  # 35 hits with the orphan: four pages
    world.reset_request_logs()

    await world.tick()

    state = world.states()[task_id]
    assert state.status == SyncStatus.SYNCED and state.jira_issue_key == orphan["key"]
    assert [e.pf_task_id for e in world.events(EventType.ADOPTED)] == [task_id]
    assert search_pages(world) == 4
    assert property_reads(world) == 0


async def test_the_restore_search_reads_no_property_and_reports_its_pages(
    world: World,
) -> None:
    world.add_domain()
    ids = [world.pf.create_task(f"Task {n}")["id"] for n in range(3)]
    await world.tick()
    other_domains_issues(world, 25)  # 28 hits by the gateway's account: three pages
    # The backup did not know the last two tasks yet.
    with Session(world.engine) as session:
        for row in session.exec(select(SyncState).where(SyncState.pf_task_id != ids[0])):
            session.delete(row)
        session.commit()
    world.jira.search_max_results = PAGE_SIZE
    world.reset_request_logs()
    said: list[str] = []

    marked = await recover_lineage(world.engine, world.settings, said.append)

    assert marked == 2
    states = world.states()
    assert all(states[t].status == SyncStatus.PENDING_CREATE for t in ids[1:])
    assert search_pages(world) == 3
    assert property_reads(world) == 0
    assert said[0].startswith("domain acme: searching Jira for issues created in the last ")
    assert said[1:] == [
        "domain acme: 2 pages read, 0 issue(s) of it found",
        "domain acme: 3 pages read, 3 issue(s) of it found",
    ]
