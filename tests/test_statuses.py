"""Run and step statuses move only through their declared tables; everything else raises."""

from __future__ import annotations

import itertools

import pytest

from app.errors import IllegalTransitionError
from app.statuses import (
    RUN_TRANSITIONS,
    STEP_TRANSITIONS,
    RunStatus,
    StepStatus,
    check_run_move,
    check_step_move,
    run_can_move,
)

R, S = RunStatus, StepStatus

#: The moves the issue's lifecycle needs, written out so a change to the tables shows here.
ALLOWED_RUN = {
    (R.QUEUED, R.RUNNING), (R.QUEUED, R.COMPLETED), (R.QUEUED, R.FAILED), (R.QUEUED, R.CANCELLED),
    (R.RUNNING, R.PAUSED), (R.RUNNING, R.COMPLETED), (R.RUNNING, R.FAILED), (R.RUNNING, R.CANCELLED),
    (R.RUNNING, R.CRASHED),
    (R.PAUSED, R.RUNNING), (R.PAUSED, R.COMPLETED), (R.PAUSED, R.FAILED), (R.PAUSED, R.CANCELLED),
    (R.FAILED, R.RUNNING), (R.CRASHED, R.RUNNING),  # retried in place
}
ALLOWED_STEP = {
    (S.PENDING, S.QUEUED), (S.PENDING, S.RUNNING), (S.PENDING, S.COMPLETED), (S.PENDING, S.AWAITING_SELECTION),
    (S.PENDING, S.SKIPPED), (S.PENDING, S.FAILED),
    (S.QUEUED, S.RUNNING), (S.QUEUED, S.SKIPPED), (S.QUEUED, S.FAILED),
    (S.RUNNING, S.COMPLETED), (S.RUNNING, S.FAILED), (S.RUNNING, S.QUEUED), (S.RUNNING, S.AWAITING_SELECTION),
    (S.RUNNING, S.WAITING), (S.RUNNING, S.SKIPPED), (S.RUNNING, S.PENDING),  # held: no credits or budget
    (S.AWAITING_SELECTION, S.COMPLETED), (S.AWAITING_SELECTION, S.QUEUED), (S.AWAITING_SELECTION, S.SKIPPED),
    (S.WAITING, S.QUEUED), (S.WAITING, S.FAILED), (S.WAITING, S.SKIPPED),
    (S.FAILED, S.PENDING), (S.SKIPPED, S.PENDING),  # their run retried in place
}
#: Ended for good: nothing leaves these, not even a retry.
FINAL_RUN = {R.COMPLETED, R.CANCELLED}
FINAL_STEP = {S.COMPLETED}
RUN_PAIRS = list(itertools.product(RunStatus, RunStatus))
STEP_PAIRS = list(itertools.product(StepStatus, StepStatus))


def move_id(pair) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def test_the_statuses_are_those_of_the_issue():
    assert [status.value for status in RunStatus] == ["queued", "running", "paused", "completed", "failed",
                                                     "cancelled", "crashed"]
    assert [status.value for status in StepStatus] == ["pending", "queued", "running", "awaiting_selection",
                                                      "waiting", "completed", "failed", "skipped"]


def test_the_tables_hold_exactly_the_expected_moves():
    assert {(a, b) for a, targets in RUN_TRANSITIONS.items() for b in targets} == ALLOWED_RUN
    assert {(a, b) for a, targets in STEP_TRANSITIONS.items() for b in targets} == ALLOWED_STEP


@pytest.mark.parametrize("pair", RUN_PAIRS, ids=move_id)
def test_every_run_move(pair):
    current, new = pair
    if pair in ALLOWED_RUN:
        check_run_move(current, new)
        assert run_can_move(current, new)
        return
    assert not run_can_move(current, new)
    with pytest.raises(IllegalTransitionError) as caught:
        check_run_move(current, new)
    error = caught.value
    assert (error.code, error.status_code) == ("ILLEGAL_TRANSITION", 409)
    assert error.message == f"Run cannot move from {current.value} to {new.value}."
    assert error.details == {"entity": "Run", "from": current.value, "to": new.value}


@pytest.mark.parametrize("pair", STEP_PAIRS, ids=move_id)
def test_every_step_move(pair):
    current, new = pair
    if pair in ALLOWED_STEP:
        check_step_move(current, new)
        return
    with pytest.raises(IllegalTransitionError) as caught:
        check_step_move(current, new)
    error = caught.value
    assert (error.code, error.status_code) == ("ILLEGAL_TRANSITION", 409)
    assert error.details == {"entity": "RunStep", "from": current.value, "to": new.value}


def test_no_status_moves_to_itself():
    for status in RunStatus:
        with pytest.raises(IllegalTransitionError):
            check_run_move(status, status)
    for status in StepStatus:
        with pytest.raises(IllegalTransitionError):
            check_step_move(status, status)


def test_terminal_statuses_are_left_only_by_retrying_a_failed_run():
    assert {status for status in RunStatus if status.is_terminal} == {R.COMPLETED, R.FAILED, R.CANCELLED, R.CRASHED}
    assert {status for status in StepStatus if status.is_terminal} == {S.COMPLETED, S.FAILED, S.SKIPPED}
    for status in RunStatus:
        assert (RUN_TRANSITIONS[status] == frozenset()) == (status in FINAL_RUN)
        if status.is_terminal and status not in FINAL_RUN:
            assert RUN_TRANSITIONS[status] == {R.RUNNING}
    for status in StepStatus:
        assert (STEP_TRANSITIONS[status] == frozenset()) == (status in FINAL_STEP)
        if status.is_terminal and status not in FINAL_STEP:
            assert STEP_TRANSITIONS[status] == {S.PENDING}


def test_a_crash_is_only_reached_from_running():
    assert [a for a, b in ALLOWED_RUN if b == R.CRASHED] == [R.RUNNING]


def test_moves_accept_the_stored_text_values():
    check_run_move("queued", R.RUNNING)
    check_step_move("awaiting_selection", S.COMPLETED)
    with pytest.raises(IllegalTransitionError):
        check_step_move("completed", S.QUEUED)
