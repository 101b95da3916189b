"""How far a run has got, told honestly: what completed, failed, was skipped, waits, runs or remains.

A run whose first step failed and whose three others were skipped has ended, but nothing of
it is done: it reads "failed: 1 failed, 3 skipped" with an empty bar, not "4 of 4 steps done"
(issue 9). So the bar measures completed steps only, and the label leads with the run's status.

:class:`RunProgress` is a pure value built from a run's status and its steps counted by
status; :func:`progress_of_runs` is the one place that asks the database for those counts,
for a whole list of runs in one query.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ..statuses import RunStatus, StepStatus

if TYPE_CHECKING:
    from ..repositories import Repositories

#: Statuses in which a step waits for something outside the machine: a person's choice, or
#: an asynchronous generation job at a provider.
WAITING_STEPS = frozenset({StepStatus.AWAITING_SELECTION, StepStatus.WAITING})


@dataclass(frozen=True)
class RunProgress:
    """A run's steps counted by what happened to them (fanned-out parents not counted:
    their children stand in for them)."""

    status: RunStatus
    completed: int = 0
    failed: int = 0
    skipped: int = 0
    waiting: int = 0
    running: int = 0
    queued: int = 0
    remaining: int = 0

    @classmethod
    def of(cls, status: RunStatus | str, counts: Mapping[StepStatus | str, int]) -> "RunProgress":
        """The progress of a run in ``status`` whose steps number ``counts`` by status."""
        by_status = {StepStatus(key): value for key, value in counts.items()}
        return cls(
            status=RunStatus(status),
            completed=by_status.get(StepStatus.COMPLETED, 0),
            failed=by_status.get(StepStatus.FAILED, 0),
            skipped=by_status.get(StepStatus.SKIPPED, 0),
            waiting=sum(by_status.get(waiting, 0) for waiting in WAITING_STEPS),
            running=by_status.get(StepStatus.RUNNING, 0),
            queued=by_status.get(StepStatus.QUEUED, 0),
            remaining=by_status.get(StepStatus.PENDING, 0),
        )

    @classmethod
    def of_steps(cls, status: RunStatus | str, steps: Iterable[Any]) -> "RunProgress":
        """The progress of a run from its step rows (anything with ``status`` and ``is_fan_out``)."""
        counts: dict[StepStatus, int] = {}
        for step in steps:
            if getattr(step, "is_fan_out", False):
                continue
            counts[StepStatus(step.status)] = counts.get(StepStatus(step.status), 0) + 1
        return cls.of(status, counts)

    @property
    def total(self) -> int:
        return (self.completed + self.failed + self.skipped + self.waiting + self.running + self.queued
                + self.remaining)

    @property
    def fraction(self) -> float:
        """The share of steps that completed: a failed or skipped step is not progress."""
        return round(self.completed / self.total, 4) if self.total else 0.0

    @property
    def percent(self) -> int:
        return round(self.fraction * 100)

    @property
    def finished(self) -> bool:
        """The run has ended, one way or another."""
        return self.status.is_terminal

    @property
    def succeeded(self) -> bool:
        """The run ended with its work done; the only state that reads as done."""
        return self.status == RunStatus.COMPLETED

    @property
    def tone(self) -> str:
        """How the bar should look: ``done``, ``failed`` (failed, crashed, cancelled) or ``working``."""
        if self.succeeded:
            return "done"
        return "failed" if self.finished else "working"

    def parts(self) -> list[str]:
        """The non-zero counts as phrases, in the order a person reads them."""
        counted = [(self.completed, "completed"), (self.failed, "failed"), (self.skipped, "skipped"),
                   (self.waiting, "waiting"), (self.running, "running"), (self.queued, "queued"),
                   (self.remaining, "remaining")]
        return [f"{count} {name}" for count, name in counted if count]

    @property
    def label(self) -> str:
        """A short line such as "failed: 1 failed, 3 skipped" or "running: 2 of 5 completed, 1 running, 2 remaining"."""
        status = self.status.value
        if not self.total:
            return f"{status}: no steps"
        if self.completed == self.total:
            return f"{status}: {self.total} of {self.total} steps completed"
        parts = self.parts()
        if not self.finished and self.completed:
            parts[0] = f"{self.completed} of {self.total} completed"
        return f"{status}: {', '.join(parts)}"

    def as_dict(self) -> dict[str, Any]:
        return {"completed": self.completed, "failed": self.failed, "skipped": self.skipped,
                "waiting": self.waiting, "running": self.running, "queued": self.queued,
                "remaining": self.remaining, "total": self.total, "fraction": self.fraction,
                "finished": self.finished, "succeeded": self.succeeded, "label": self.label}


def progress_of_runs(repos: "Repositories", runs: Iterable[Any]) -> dict[uuid.UUID, RunProgress]:
    """Each run's progress, counted in one query for the whole list."""
    runs = list(runs)
    counts = repos.run_steps.counts_by_run([run.id for run in runs])
    return {run.id: RunProgress.of(run.status, counts.get(run.id, {})) for run in runs}


def attach_progress(repos: "Repositories", runs: Iterable[Any]) -> list[Any]:
    """Give each run its ``run_progress`` (what the run schema and the pages show); returns the runs."""
    runs = list(runs)
    progress = progress_of_runs(repos, runs)
    for run in runs:
        run.run_progress = progress[run.id]
    return runs


def progress_of(run: Any) -> RunProgress:
    """The progress a run carries: attached, counted from its steps (a run's detail view), or —
    for a bare run row nobody counted — read from its stored totals, which know only "done"."""
    attached = getattr(run, "run_progress", None)
    if isinstance(attached, RunProgress):
        return attached
    steps = getattr(run, "steps", None)
    if isinstance(steps, list):
        return RunProgress.of_steps(run.status, steps)
    done, total = run.steps_done or 0, run.steps_total or 0
    if RunStatus(run.status) == RunStatus.COMPLETED:
        return RunProgress(status=RunStatus.COMPLETED, completed=done, remaining=total - done)
    return RunProgress(status=RunStatus(run.status), remaining=total)


__all__ = ["RunProgress", "attach_progress", "progress_of", "progress_of_runs"]
