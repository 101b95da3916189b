"""A run's progress told honestly (app/engine/run_progress.py): pure, no database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.engine.run_progress import RunProgress
from app.statuses import RunStatus, StepStatus


def test_a_run_whose_first_step_failed_and_the_rest_were_skipped_never_reads_as_done():
    progress = RunProgress.of(RunStatus.FAILED, {StepStatus.FAILED: 1, StepStatus.SKIPPED: 3})

    assert progress.label == "failed: 1 failed, 3 skipped"
    assert (progress.fraction, progress.percent, progress.total) == (0.0, 0, 4)
    assert (progress.finished, progress.succeeded, progress.tone) == (True, False, "failed")


def test_a_working_run_counts_each_kind_apart_and_the_bar_measures_completed_steps_only():
    progress = RunProgress.of(RunStatus.RUNNING, {
        StepStatus.COMPLETED: 2, StepStatus.RUNNING: 1, StepStatus.QUEUED: 1, StepStatus.PENDING: 2,
        StepStatus.AWAITING_SELECTION: 1, StepStatus.WAITING: 1})

    assert (progress.completed, progress.waiting, progress.running, progress.queued, progress.remaining) == (
        2, 2, 1, 1, 2)
    assert progress.fraction == 0.25
    assert progress.label == "running: 2 of 8 completed, 2 waiting, 1 running, 1 queued, 2 remaining"
    assert progress.tone == "working"


def test_a_completed_run_reads_done_and_a_skipped_step_is_not_counted_as_completed():
    assert RunProgress.of("completed", {"completed": 4}).label == "completed: 4 of 4 steps completed"
    partly = RunProgress.of(RunStatus.COMPLETED, {StepStatus.COMPLETED: 3, StepStatus.SKIPPED: 1})
    assert (partly.label, partly.fraction, partly.tone) == ("completed: 3 completed, 1 skipped", 0.75, "done")


@pytest.mark.parametrize("status", [RunStatus.CANCELLED, RunStatus.CRASHED])
def test_cancelled_and_crashed_runs_read_as_ended_not_done(status):
    progress = RunProgress.of(status, {StepStatus.COMPLETED: 1, StepStatus.SKIPPED: 2})
    assert progress.label == f"{status.value}: 1 completed, 2 skipped"
    assert (progress.succeeded, progress.tone) == (False, "failed")


def test_counting_step_rows_leaves_out_fanned_out_parents():
    rows = [SimpleNamespace(status=StepStatus.COMPLETED, is_fan_out=False),
            SimpleNamespace(status=StepStatus.RUNNING, is_fan_out=True),  # its children run in its place
            SimpleNamespace(status=StepStatus.COMPLETED, is_fan_out=False),
            SimpleNamespace(status=StepStatus.FAILED, is_fan_out=False)]
    progress = RunProgress.of_steps(RunStatus.RUNNING, rows)
    assert (progress.completed, progress.failed, progress.running, progress.total) == (2, 1, 0, 3)


def test_a_run_with_no_steps_says_so_and_the_dict_carries_every_count():
    assert RunProgress.of(RunStatus.QUEUED, {}).label == "queued: no steps"
    assert RunProgress.of(RunStatus.FAILED, {StepStatus.FAILED: 1}).as_dict() == {
        "completed": 0, "failed": 1, "skipped": 0, "waiting": 0, "running": 0, "queued": 0, "remaining": 0,
        "total": 1, "fraction": 0.0, "finished": True, "succeeded": False, "label": "failed: 1 failed"}
