"""Run and step statuses, and the only moves between them (seeds 001 and 004).

Pure: no I/O. The executor changes a status only through :func:`check_run_move` /
:func:`check_step_move` and a conditional UPDATE on the expected current status, so an
illegal move raises and a racing move is refused by the database.
"""

from __future__ import annotations

import enum

from .errors import IllegalTransitionError


class RunStatus(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CRASHED = "crashed"  # a worker vanished and the step's attempt budget ran out

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_RUN


class StepStatus(str, enum.Enum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    AWAITING_SELECTION = "awaiting_selection"
    WAITING = "waiting"  # on an external generation job
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STEP


TERMINAL_RUN = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.CRASHED})
TERMINAL_STEP = frozenset({StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.SKIPPED})

RUN_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.QUEUED: frozenset({RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.RUNNING: frozenset({RunStatus.PAUSED, RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED,
                                  RunStatus.CRASHED}),
    RunStatus.PAUSED: frozenset({RunStatus.RUNNING, RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED}),
    RunStatus.COMPLETED: frozenset(),
    # A failed or crashed run can be retried in place (seed 001: error → running).
    RunStatus.FAILED: frozenset({RunStatus.RUNNING}),
    RunStatus.CANCELLED: frozenset(),
    RunStatus.CRASHED: frozenset({RunStatus.RUNNING}),
}

STEP_TRANSITIONS: dict[StepStatus, frozenset[StepStatus]] = {
    # A pending step completes without running when it is reused or served from cache.
    StepStatus.PENDING: frozenset({StepStatus.QUEUED, StepStatus.RUNNING, StepStatus.COMPLETED,
                                   StepStatus.AWAITING_SELECTION, StepStatus.SKIPPED, StepStatus.FAILED}),
    StepStatus.QUEUED: frozenset({StepStatus.RUNNING, StepStatus.SKIPPED, StepStatus.FAILED}),
    # RUNNING → QUEUED is a retry (or a crashed attempt re-queued by the reconciler);
    # RUNNING → PENDING holds a step whose model call could not be paid for (no credits, or
    # the run's budget): the run pauses, and resuming it plans the step again.
    StepStatus.RUNNING: frozenset({StepStatus.COMPLETED, StepStatus.FAILED, StepStatus.QUEUED, StepStatus.PENDING,
                                   StepStatus.AWAITING_SELECTION, StepStatus.WAITING, StepStatus.SKIPPED}),
    # AWAITING_SELECTION → QUEUED is "regenerate: more candidates".
    StepStatus.AWAITING_SELECTION: frozenset({StepStatus.COMPLETED, StepStatus.QUEUED, StepStatus.SKIPPED}),
    StepStatus.WAITING: frozenset({StepStatus.QUEUED, StepStatus.FAILED, StepStatus.SKIPPED}),
    StepStatus.COMPLETED: frozenset(),
    # Retrying a failed run puts what failed, and what was skipped because of it, back to pending.
    StepStatus.FAILED: frozenset({StepStatus.PENDING}),
    StepStatus.SKIPPED: frozenset({StepStatus.PENDING}),
}


def check_run_move(current: RunStatus, new: RunStatus) -> None:
    """:raises IllegalTransitionError: when the run table does not allow the move."""
    if new not in RUN_TRANSITIONS[RunStatus(current)]:
        raise IllegalTransitionError("Run", RunStatus(current).value, RunStatus(new).value)


def check_step_move(current: StepStatus, new: StepStatus) -> None:
    """:raises IllegalTransitionError: when the step table does not allow the move."""
    if new not in STEP_TRANSITIONS[StepStatus(current)]:
        raise IllegalTransitionError("RunStep", StepStatus(current).value, StepStatus(new).value)


def run_can_move(current: RunStatus, new: RunStatus) -> bool:
    return new in RUN_TRANSITIONS[RunStatus(current)]
