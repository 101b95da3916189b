"""The signal that ends a step attempt whose skill waits on a generation job.

Below both :mod:`.requests` (which raises it) and :mod:`.polls` (which schedules the first
poll from it), so neither needs the other to know what a wait is.
"""

from __future__ import annotations

import uuid
from datetime import datetime


class AwaitingGeneration(Exception):
    """Ends an attempt whose skill waits on a generation job: not a failure. The executor
    moves the step to ``waiting`` and schedules the job's first poll ``delay`` seconds on.

    :param job_id: the generation job waited on.
    :param delay: seconds until the job is worth polling (the provider's interval).
    :param since: when the attempt began to wait, by the app's clock; the first poll is due
        ``delay`` seconds after it.
    """

    def __init__(self, job_id: uuid.UUID, delay: float, since: datetime) -> None:
        super().__init__(f"waiting for generation job {job_id}")
        self.job_id = job_id
        self.delay = delay
        self.since = since


__all__ = ["AwaitingGeneration"]
