"""A tick is one trace: the job, the tick, a span per page read and per task written."""

from __future__ import annotations

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.fixtures import PAGE_SIZE
from tests.gateway.tracing.spans import lineage, named, one, span_id, trace_id
from tests.world import World

JOB = "job sync_pf_to_jira_task"
TICK = "tick"
PAGE = "peopleforce.page"
WRITE = "tick.write"
COMPLETE = "tick.complete"
CREATE_ISSUE = "jira POST /rest/api/3/issue"


async def test_a_tick_has_spans_per_page_and_per_write(
    spans: InMemorySpanExporter, world: World
) -> None:
    world.add_domain()
    tasks = [world.pf.create_task(f"Task {n}") for n in range(PAGE_SIZE + 2)]
    await world.tick()

    finished = spans.get_finished_spans()
    job, tick = one(finished, JOB), one(finished, TICK)
    assert job.parent is None
    assert {trace_id(span) for span in finished} == {trace_id(job)}
    assert tick.parent is not None and tick.parent.span_id == span_id(job)
    pages = named(finished, PAGE)
    assert [page.attributes["gateway.page.number"] for page in pages if page.attributes] == [1, 2]
    assert all(lineage(finished, page) == [PAGE, TICK, JOB] for page in pages)
    writes = named(finished, WRITE)
    written = {w.attributes["gateway.pf_task_id"] for w in writes if w.attributes}
    assert written == {task["id"] for task in tasks}
    assert all(lineage(finished, write) == [WRITE, TICK, JOB] for write in writes)
    creates = named(finished, CREATE_ISSUE)
    assert len(creates) == len(tasks)
    assert all(lineage(finished, create)[1] == WRITE for create in creates)


async def test_an_unchanged_tick_writes_nothing_and_a_completion_is_its_own_span(
    spans: InMemorySpanExporter, world: World
) -> None:
    world.add_domain()
    world.pf.create_task("Stays open")
    done = world.pf.create_task("Gets done")
    await world.tick()
    spans.clear()

    await world.tick()
    assert named(spans.get_finished_spans(), WRITE) == []
    assert named(spans.get_finished_spans(), COMPLETE) == []

    world.pf.complete_task(done["id"])
    spans.clear()
    await world.tick()
    finished = spans.get_finished_spans()
    complete = one(finished, COMPLETE)
    assert complete.attributes is not None
    assert complete.attributes["gateway.pf_task_id"] == done["id"]
    assert lineage(finished, complete) == [COMPLETE, TICK, JOB]
    assert named(finished, WRITE) == []
