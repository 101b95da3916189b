"""What a workflow run wrote: each completed step's text output, in the order the steps
began. A run reviewed by an agent reads its steps so, and a run exported as a book too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .repositories import Repositories
from .statuses import StepStatus


@dataclass(frozen=True)
class StepText:
    step_key: str
    text: str


def texts_of_run(repos: Repositories, run_id: uuid.UUID) -> list[StepText]:
    steps = sorted(repos.run_steps.of_run(run_id), key=lambda step: step.created_at)
    found = []
    for step in steps:
        text = (step.output or {}).get("text") if isinstance(step.output, dict) else None
        if step.status == StepStatus.COMPLETED and isinstance(text, str) and text.strip():
            found.append(StepText(step.step_key, text))
    return found
