"""A lost worker's step starts again within ``STEP_STALE_AFTER + RECONCILE_INTERVAL + 2 s``,
even behind 100 queued jobs (issue 11).

It once waited for the whole queue to drain (a median 57 s): its new attempt went to the
back of the queue, and so did the reconciler's own pass. Both now go to the front. Real
``worker.py`` processes: one is SIGKILLed in the middle of a slow step while another works
through a hundred jobs of a fan-out; the time from the kill to the next attempt's start is
read off the step's row.
"""

from __future__ import annotations

import uuid

import pytest

from app.statuses import StepStatus
from tests.engine.worker_processes import TIMINGS, fast_engine_config, wait_until

pytestmark = pytest.mark.timeout(120)

BOUND = TIMINGS["STEP_STALE_AFTER"] + TIMINGS["RECONCILE_INTERVAL"] + 2

VICTIM = """
name: victim
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: slow
    skill: test.echo
    retry: {max_attempts: 2, backoff: 0}
    # Long enough to be still at work when its worker is killed, however loaded the machine:
    # the setup below (a hundred jobs queued, a second worker started) took over 3 s on one.
    with: {text: "{{ inputs.topic }}", sleep: 20}
"""

CROWD = """
name: crowd
version: "1"
inputs:
  items: {type: list, required: true}
steps:
  - id: each
    skill: test.echo
    for_each: "{{ inputs.items }}"
    with: {text: "{{ item }}", sleep: 0.25}
"""


@pytest.fixture
def inkwright_config(inkwright_config, tmp_path):
    return fast_engine_config(inkwright_config, tmp_path)


def test_a_lost_workers_step_starts_again_within_the_bound_behind_a_hundred_queued_jobs(studio, workers):
    doomed = workers.start("simple")
    workers.ready(1)
    victim = studio.start(VICTIM, topic=f"t-{uuid.uuid4().hex[:6]}")
    wait_until(lambda: studio.steps(victim.id)["slow"].status == StepStatus.RUNNING, 20, "the slow step runs",
               explain=workers.report)
    crowd = studio.start(CROWD, items=[f"item {n}" for n in range(100)])
    wait_until(lambda: studio.queued_jobs() >= 100, 20, "a hundred jobs queue up", explain=workers.report)
    workers.start("simple")
    workers.ready(2)

    before = studio.steps(victim.id)["slow"]
    assert before.status == StepStatus.RUNNING, f"the slow step ended before its worker was killed: {before.status}"
    workers.kill(doomed.pid)
    # The step's row says when its worker last answered; the bound counts from then.
    last_heard = before.heartbeat_at

    again = wait_until(lambda: (step := studio.steps(victim.id)["slow"]).attempt == 2 and step.attempt_started_at
                       and step, 30, "the step's second attempt starts", explain=workers.report)
    waited = (again.attempt_started_at - last_heard).total_seconds()
    still_queued = studio.queued_jobs()

    assert waited <= BOUND, f"next attempt after {waited:.1f} s (bound {BOUND:.1f} s)\n{workers.report()}"
    assert still_queued >= 50  # it did not wait for the crowd: most of it is still in the queue
    assert studio.run(crowd.id).status.value == "running"
