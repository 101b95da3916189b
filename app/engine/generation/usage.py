"""What media generations cost, in the usage log (issue 4: a usage-log row for every call,
failed ones too).

A generation is metered like a text call (:mod:`app.engine.metering`), with the
differences an asynchronous job brings: the run's budget is checked against the model's
price per item before the job is submitted, a submission that fails at once is recorded as
a failed call, and a job that ends (completed, failed, timed out, given up) leaves one row,
written in the transaction of its terminal move.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ...errors import AppError
from ...models import GenerationJob, GenerationStatus, KeySource, UsageLogEntry, UsageStatus
from ...repositories import Repositories
from ...runtime import InkwrightState
from ..metering import CallMeter, cents
from ..model_access import billing_user_id, resolve_model
from ..planner import elapsed_ms

#: The usage log's ``context_type`` of a media generation.
CONTEXT_TYPE = "media_generation"

#: How each way a job can end shows in the usage log.
_STATUS = {GenerationStatus.COMPLETED: UsageStatus.SUCCESS, GenerationStatus.FAILED: UsageStatus.FAILED,
           GenerationStatus.TIMED_OUT: UsageStatus.TIMEOUT}


def generation_meter(state: InkwrightState, repos: Repositories, run: Any, step: Any) -> CallMeter:
    """The meter a step's submissions go through: the run's budget, and failed submissions."""
    return CallMeter(state, repos, run, step, context_type=CONTEXT_TYPE)


def record_ended_job(state: InkwrightState, repos: Repositories, run: Any, job: GenerationJob,
                     error_code: str | None) -> UsageLogEntry:
    """Log the job that just ended: its cost, how it ended, how long it took since it was
    submitted. Called in the transaction that moves it to its terminal status, which only
    one poll can make: so one row per job.

    :param run: the job's run (its payer pays, and its user's keys come first).
    :param error_code: why it ended badly, or ``None`` for a completed job.
    """
    payer = billing_user_id(repos, run)
    cost = Decimal(job.cost_usd or 0)
    elapsed = elapsed_ms(job.started_at, job.completed_at) or 0
    message = job.error_message[:2000] if error_code and job.error_message else None
    return repos.usage_log.add(UsageLogEntry(
        tenant_id=repos.tenant_id, user_id=payer, run_id=job.run_id, run_step_id=job.run_step_id,
        model_name=job.model_name, provider=job.provider_id,
        key_source=_key_source(state, repos, run, job.model_name, payer),
        tokens_prompt=0, tokens_completion=0, tokens_total=0, credits_charged=0,
        cost_usd=cost, cost_cents=cents(cost), context_type=CONTEXT_TYPE, status=_STATUS[job.status],
        error_code=error_code, error_message=message,
        response_time_ms=max(0, elapsed)))


def _key_source(state: InkwrightState, repos: Repositories, run: Any, model_name: str, payer: Any) -> KeySource:
    """Whose key the model is called with (as when the job was submitted, unless keys changed)."""
    try:
        return resolve_model(state, repos, run, model_name, payer=payer).key_source
    except AppError:  # its provider was uninstalled or the model un-priced since: say so as a failed call does
        return KeySource.PLATFORM


__all__ = ["CONTEXT_TYPE", "generation_meter", "record_ended_job"]
