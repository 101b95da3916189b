"""Two real ``python worker.py`` processes racing (issue 3): the step a wide fan-out joins
into is enqueued and run exactly once however many children finish at the same moment,
no attempt of any step runs twice, and two identical steps in flight at once compute once
(the other is served from the step cache). Meant for PostgreSQL, and true on SQLite too.
"""

from __future__ import annotations

import uuid

import pytest

from app.engine.progress import RunEvents
from app.statuses import RunStatus, StepStatus
from app.models import AttemptOutcome
from app.runtime import current_state
from tests.engine.worker_processes import fast_engine_config, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def inkwright_config(inkwright_config, tmp_path):
    return fast_engine_config(inkwright_config, tmp_path)


WIDTH = 30

FAN_IN = """
name: fan-in-race
version: "1"
inputs:
  chapters: {type: list, required: true}
steps:
  - id: outline
    skill: test.echo
    with: {text: "outline"}
  - id: draft
    skill: test.echo
    needs: [outline]
    for_each: "{{ inputs.chapters }}"
    with: {text: "{{ index }}:{{ item }}", sleep: 0.02}
  - id: assemble
    skill: test.echo
    with: {text: "{{ steps.draft.output | map(attribute='text') | join('|') }}"}
"""

TWIN = """
name: twin-race
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: research
    skill: test.echo
    cache: global
    with: {text: "notes on {{ inputs.topic }}", sleep: 1.0}
"""


def finished(studio, run_id, workers):
    def ended():
        run = studio.run(run_id)
        return run if run.status.is_terminal else None
    return wait_until(ended, 30, f"run {run_id} ends", interval=0.1, explain=workers.report)


def stream(app, run_id) -> list[tuple[str, str | None]]:
    """The run's progress events (what ``GET /api/runs/<id>/events`` serves): (type, step)."""
    with app.app_context():
        return [(kind, data.get("step")) for _, kind, data in RunEvents(current_state().redis.client()).read(run_id)]


def test_two_workers_racing_through_a_wide_fan_out_run_the_joined_step_once(studio, workers):
    workers.start("simple")
    workers.start("simple")
    workers.ready(2)
    chapters = [f"chapter-{n}-{uuid.uuid4().hex[:4]}" for n in range(WIDTH)]
    run = finished(studio, studio.start(FAN_IN, chapters=chapters).id, workers)

    assert run.status == RunStatus.COMPLETED
    assert run.steps_done == run.steps_total == 2 + 1 + WIDTH
    steps, attempts = studio.steps(run.id), studio.attempts(run.id)
    children = [key for key in steps if key.startswith("draft[")]
    assert len(children) == WIDTH
    # Every step ran exactly once: one attempt, number 1, completed; none left running.
    for key, rows in attempts.items():
        if key == "draft":
            assert rows == []  # the fan-out parent only gathers
            continue
        assert [(a.number, a.outcome) for a in rows] == [(1, AttemptOutcome.COMPLETED)], key
        assert steps[key].attempt == 1, key
    # Both workers took part, so the children finished in two places at once.
    assert len({attempts[key][0].worker_name for key in children}) == 2
    # The join ran once, after every child, and read all of their outputs in order.
    assemble = steps["assemble"]
    assert assemble.status == StepStatus.COMPLETED
    assert assemble.output["text"] == "|".join(f"{n}:{chapter}" for n, chapter in enumerate(chapters))
    assert attempts["assemble"][0].started_at >= max(attempts[key][0].ended_at for key in children)
    assert steps["draft"].output == [steps[key].output for key in sorted(children, key=lambda k: steps[k].fan_index)]
    # Enqueued once and claimed once, as its progress stream shows.
    kinds = [kind for kind, step in stream(studio.app, run.id) if step == "assemble"]
    assert kinds.count("step.queued") == kinds.count("step.started") == kinds.count("step.completed") == 1


def test_two_identical_steps_in_flight_on_two_workers_compute_once(app, studio, workers):
    workers.start("simple")
    workers.start("simple")
    workers.ready(2)
    topic = f"estuaries-{uuid.uuid4().hex[:6]}"
    first = studio.start(TWIN, topic=topic)
    second = studio.start(TWIN, topic=topic)
    runs = [finished(studio, run.id, workers) for run in (first, second)]

    assert [run.status for run in runs] == [RunStatus.COMPLETED, RunStatus.COMPLETED], [run.error for run in runs]
    steps = [studio.steps(run.id)["research"] for run in runs]
    attempts = [studio.attempts(run.id)["research"] for run in runs]
    # One skill execution for the pair; the other step was served from the cache.
    assert sum(len(rows) for rows in attempts) == 1
    computed, served = (0, 1) if attempts[0] else (1, 0)
    assert steps[computed].cache_hit is False and steps[computed].attempt == 1
    assert steps[served].cache_hit is True and steps[served].attempt == 0 and attempts[served] == []
    assert steps[served].output == steps[computed].output
    assert steps[served].output["text"] == f"notes on {topic}"
    assert runs[served].cache_hits == 1
    # It really raced: a worker claimed the served step while the other one was computing,
    # waited for the entry, then the cache answered it (rather than the entry being ready
    # when it was planned).
    events = [kind for kind, step in stream(app, runs[served].id) if step == "research"]
    assert "step.waiting_for_cache" in events
    assert events.index("step.waiting_for_cache") < events.index("step.cache_hit")
