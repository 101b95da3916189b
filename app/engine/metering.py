"""Metering: the one door every model call goes through (DESIGN.md, Providers).

For each call, in order:

1. **Resolve** the model: provider, catalog price, key (BYOK or the platform's).
2. **Check the run's budget** (tokens, cost) against what the call could spend at most.
3. **Reserve credits** for that maximum, when the platform's key pays, and commit the hold
   before anything is sent, so two workers racing cannot overspend one balance.
4. **Call** the provider (streaming when asked).
5. **Settle** the actual usage, and record an AI response and a usage-log row, and add the
   tokens and cost to the step and the run, in one transaction.

A call that fails at any point is recorded too (a usage-log row with its status and code),
and its hold released, so balances stay exact. Nothing here knows a backend's wire format.

A call has one retry budget, the provider's (issue 12): the tries it made inside it and
noted (:mod:`app.call_tries`) get a usage-log row each, sharing the call's ``call_id``, and
the step that made the call does not try again a call whose budget is spent.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import uuid
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

import jsonschema
from flask import current_app

from ..call_tries import FailedTry, recording_tries
from ..errors import (
    AppError,
    BudgetExceededError,
    ModelOutputInvalidError,
    PaymentRequiredError,
    ProviderAuthError,
    ProviderRateLimitedError,
    ProviderTimeoutError,
    SubscriptionInactiveError,
)
from ..models import SPENDING_STATUSES, AIResponse, KeySource, UsageLogEntry, UsageSource, UsageStatus
from ..provider import Completion, CompletionRequest
from ..repositories import Repositories
from ..runtime import InkwrightState, mailer
from .low_credits import warn_when_low
from .model_access import ResolvedModel, billing_user_id, resolve_model

log = logging.getLogger(__name__)

#: When a call sets no max_tokens, what the reservation assumes it may produce.
DEFAULT_MAX_OUTPUT = 4096
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.DOTALL)


def estimate_tokens(request: CompletionRequest) -> int:
    """An upper estimate of the prompt's tokens: about a token per three characters (real
    tokenisers give about four), plus the per-message overhead backends add."""
    return sum(math.ceil(len(m.get("content", "")) / 3) + 4 for m in request.messages)


def most_tokens(request: CompletionRequest, context_window: int | None) -> tuple[int, int]:
    """What the call may use at most: (prompt tokens, completion tokens)."""
    prompt = estimate_tokens(request)
    output = request.max_tokens or DEFAULT_MAX_OUTPUT
    if context_window:
        output = max(1, min(output, context_window - prompt)) if context_window > prompt else output
    return prompt, output


def parse_json_output(text: str, schema: dict) -> Any:
    """The answer as JSON fitting ``schema`` (a fenced ```json block is accepted).

    :raises ModelOutputInvalidError: when it is not JSON or does not fit.
    """
    fenced = _FENCE.match(text)
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except ValueError as exc:
        raise ModelOutputInvalidError(f"The model's answer is not JSON: {exc}.",
                                      {"output": text[:500]}) from None
    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "(root)"
        raise ModelOutputInvalidError(f"The model's JSON does not fit the schema at {where}: {exc.message}",
                                      {"path": where, "output": text[:500]}) from None
    except jsonschema.SchemaError as exc:
        raise ModelOutputInvalidError(f"The JSON schema asked for is itself invalid: {exc.message}") from None
    return value


def usage_status(error: BaseException) -> UsageStatus:
    if isinstance(error, ProviderTimeoutError):
        return UsageStatus.TIMEOUT
    if isinstance(error, ProviderRateLimitedError):
        return UsageStatus.RATE_LIMITED
    return UsageStatus.FAILED


def cents(cost: Decimal) -> int:
    return int((cost * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


class CallMeter:
    """Meters model calls: those of one step attempt, or a person's one-off call.

    :param run: the run the calls belong to (its budget applies, its totals grow), or ``None``.
    :param step: the step attempt making them, or ``None``.
    :param payer: the user whose credits pay; by default the run's (see ``billing_user_id``).
    :param candidate_index: the candidate the calls are made for (recorded on each response).
    :param context_type: what made the calls, for the usage log (``workflow_step``, ``manual``...).
    :param usage: more columns of each usage-log row (an agent run's ``agent_type``,
        ``agent_run_id``, ``project_id``, ``files_analyzed``).
    """

    def __init__(self, state: InkwrightState, repos: Repositories, run: Any = None, step: Any = None, *,
                 payer: Any = ..., candidate_index: int | None = None,
                 context_type: str = "workflow_step", usage: dict[str, Any] | None = None) -> None:
        self.state = state
        self.repos = repos
        self.run = run
        self.step = step
        self.candidate_index = candidate_index
        self.context_type = context_type
        self.usage = dict(usage or {})
        self._payer = payer

    @property
    def payer(self) -> Any:
        if self._payer is ...:
            self._payer = billing_user_id(self.repos, self.run)
        return self._payer

    @property
    def run_id(self) -> Any:
        return self.run.id if self.run is not None else None

    @property
    def step_id(self) -> Any:
        return self.step.id if self.step is not None else None

    # The call -----------------------------------------------------------------------------
    def complete(self, model_name: str, request: CompletionRequest,
                 on_chunk: Callable[[str], None] | None = None) -> Completion:
        """Make one metered call (see the module's docstring for the order of things).

        :raises AppError: the failure, after it was recorded (``PAYMENT_REQUIRED``,
            ``BUDGET_EXCEEDED``, ``UNKNOWN_MODEL``, ``MODEL_NOT_PRICED``, a provider's code,
            ``MODEL_OUTPUT_INVALID``).
        """
        started = time.perf_counter()
        resolved: ResolvedModel | None = None
        hold_id = None
        tries = CallTries()
        try:
            resolved = resolve_model(self.state, self.repos, self.run, model_name, payer=self.payer)
            request = CompletionRequest(model=resolved.model, messages=request.messages,
                                        temperature=request.temperature, max_tokens=request.max_tokens,
                                        stop=request.stop, json_schema=request.json_schema, seed=request.seed)
            hold_id = self.reserve(resolved, request)
            with recording_tries() as tries.failed:
                completion = self.call(resolved, request, on_chunk)
        except AppError as error:
            self.record_failure(model_name, resolved, hold_id, error, started, tries)
            raise
        except Exception as error:
            # The caller stopped the call (a cancelled run stops reading its stream) or a bug
            # broke it: it is recorded, and its hold given back, all the same.
            self.record_failure(model_name, resolved, hold_id, _stopped(error), started, tries)
            raise
        invalid: ModelOutputInvalidError | None = None
        processed: str | None = completion.text
        if request.json_schema is not None:
            try:
                processed = json.dumps(parse_json_output(completion.text, request.json_schema))
            except ModelOutputInvalidError as error:
                invalid, processed = error, None
        response_id = self.record_success(resolved, request, completion, hold_id, started, processed, invalid, tries)
        if invalid is not None:
            raise invalid
        return Completion(text=processed if processed is not None else completion.text,
                          input_tokens=completion.input_tokens, output_tokens=completion.output_tokens,
                          model=completion.model, finish_reason=completion.finish_reason, raw=completion.raw,
                          response_id=str(response_id), offline=resolved.provider.offline,
                          usage_source=_usage_source(completion.usage_source).value)

    def reserve(self, resolved: ResolvedModel, request: CompletionRequest) -> Any:
        """Check the budget and hold the call's maximum; committed before the call is sent.

        :raises BudgetExceededError: when the call could pass the run's budget.
        :raises PaymentRequiredError: when the payer's credits cannot cover it.
        """
        prompt, output = most_tokens(request, resolved.info.context_window)
        with self.repos.transaction().outermost():  # committed before the call is sent
            if self.run is not None:
                self.check_budget(resolved, prompt, output)
            if not resolved.draws_credits or self.payer is None:
                return None
            hold = self.repos.credit_accounts.reserve(
                self.payer, prompt + output, run_step_id=self.step_id, model_name=resolved.name,
                ttl_seconds=current_app.config["CREDIT_HOLD_TTL"])
            if hold is None:
                account = self.repos.credit_accounts.account_for(self.payer)
                if account.subscription_status not in SPENDING_STATUSES:
                    raise SubscriptionInactiveError(
                        f"The subscription is {account.subscription_status.value}: no platform credits can be "
                        f"spent. Renew it, or add your own {resolved.provider_name} key.",
                        {"status": account.subscription_status.value, "tier": account.subscription_tier.value})
                raise PaymentRequiredError(
                    f"Not enough credits: this call could use {prompt + output} tokens and "
                    f"{account.credits_remaining} remain this period. Add credits, change tier, or add your "
                    f"own {resolved.provider_name} key.",
                    {"needed": prompt + output, "remaining": account.credits_remaining,
                     "tier": account.subscription_tier.value})
            return hold.id

    def check_budget(self, resolved: ResolvedModel, prompt: int, output: int) -> None:
        """:raises BudgetExceededError: when the call could pass the run's budget."""
        self._check_spending(prompt + output, resolved.info.cost(prompt, output))

    def check_cost(self, at_most: Decimal) -> None:
        """The budget check of a call priced by the item (a media generation): it uses no tokens.

        :raises BudgetExceededError: when the call could pass the run's cost budget.
        """
        self._check_spending(0, at_most)

    def _check_spending(self, tokens: int, at_most: Decimal) -> None:
        spent_tokens, spent_cost, budget_tokens, budget_cost = self.repos.runs.spending(self.run.id)
        if tokens and budget_tokens is not None and spent_tokens + tokens > budget_tokens:
            raise BudgetExceededError(
                f"This call could use {tokens} tokens and the run has spent {spent_tokens} of its "
                f"{budget_tokens}-token budget.",
                {"budgetTokens": budget_tokens, "spentTokens": spent_tokens, "callMaxTokens": tokens})
        if budget_cost is not None and spent_cost + at_most > budget_cost:
            raise BudgetExceededError(
                f"This call could cost ${at_most:.4f} and the run has spent ${spent_cost:.4f} of its "
                f"${budget_cost:.4f} budget.",
                {"budgetCostUsd": str(budget_cost), "spentCostUsd": str(spent_cost),
                 "callMaxCostUsd": str(at_most)})

    def call(self, resolved: ResolvedModel, request: CompletionRequest,
             on_chunk: Callable[[str], None] | None) -> Completion:
        if on_chunk is None:
            return resolved.provider.complete(request)
        parts: list[str] = []
        last = None
        # Closed however the reading ends: a provider's stream hangs up its connection then.
        with _closed_after(resolved.provider.stream(request)) as chunks:
            for chunk in chunks:
                if chunk.text:
                    parts.append(chunk.text)
                    on_chunk(chunk.text)
                last = chunk
        text = "".join(parts)
        reported = last is not None and last.input_tokens is not None and last.output_tokens is not None
        # A provider whose stream ends without counts: estimated here, and labelled so.
        return Completion(text=text, input_tokens=(last.input_tokens if last else None) or estimate_tokens(request),
                          output_tokens=(last.output_tokens if last else None) or math.ceil(len(text) / 4),
                          model=(last.model if last else None) or request.model,
                          finish_reason=(last.finish_reason if last else None) or "stop",
                          usage_source=(last.usage_source or UsageSource.REPORTED.value) if reported
                          else UsageSource.ESTIMATED.value)

    # Recording ----------------------------------------------------------------------------
    def record_success(self, resolved: ResolvedModel, request: CompletionRequest, completion: Completion,
                       hold_id: Any, started: float, processed: str | None,
                       invalid: ModelOutputInvalidError | None, tries: "CallTries") -> Any:
        """Settle, record the response and the usage, add the totals: one transaction."""
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        cost = resolved.info.cost(completion.input_tokens, completion.output_tokens)
        total = completion.input_tokens + completion.output_tokens
        source = _usage_source(completion.usage_source)
        with self.repos.transaction():
            self.record_tries(resolved.name, resolved.provider_name, resolved.key_source, tries)
            # The run first, then its step: the order the executor's finish locks them in.
            if self.run is not None:
                self.repos.runs.add_usage(self.run.id, completion.input_tokens, completion.output_tokens, cost)
            if self.step is not None:
                self.repos.run_steps.add_usage(self.step.id, completion.input_tokens, completion.output_tokens, cost)
            charged = self.repos.credit_accounts.settle(hold_id, total) if hold_id is not None else 0
            if charged:
                warn_when_low(self.repos, self.state.clock.now(), self.payer, mailer())
            response = self.repos.ai_responses.add(AIResponse(
                run_id=self.run_id, run_step_id=self.step_id, candidate_index=self.candidate_index,
                attempt=self.step.attempt if self.step is not None else None, model_name=resolved.name,
                resolved_model=completion.model,
                provider=resolved.provider_name, prompt_used=request.prompt_text, messages=list(request.messages),
                raw_output=completion.text, processed_content=processed, finish_reason=completion.finish_reason,
                tokens_input=completion.input_tokens, tokens_output=completion.output_tokens, tokens_total=total,
                cost_usd=cost, processing_ms=elapsed_ms, byok=resolved.key_source == KeySource.BYOK,
                offline=resolved.provider.offline, raw_response=completion.raw or {}, usage_source=source))
            self.repos.usage_log.add(self._usage_row(
                ai_response_id=response.id, model_name=resolved.name, provider=resolved.provider_name,
                key_source=resolved.key_source, tokens_prompt=completion.input_tokens,
                tokens_completion=completion.output_tokens, tokens_total=total, credits_charged=charged,
                cost_usd=cost, cost_cents=cents(cost),
                cost_per_token_cents=(cost * 100 / total).quantize(Decimal("0.00000001")) if total else None,
                status=UsageStatus.FAILED if invalid else UsageStatus.SUCCESS,
                error_code=invalid.code if invalid else None, error_message=invalid.message if invalid else None,
                response_time_ms=elapsed_ms, usage_source=source, call_id=tries.call_id, call_try=tries.last))
            if resolved.key_id is not None:
                self.repos.provider_keys.touch(resolved.key_id)
        return response.id

    def record_failure(self, model_name: str, resolved: ResolvedModel | None, hold_id: Any, error: AppError,
                       started: float, tries: "CallTries | None" = None) -> None:
        """A call that produced nothing: give the hold back, log the failure with its code."""
        elapsed_ms = int((time.perf_counter() - started) * 1000)
        self.repos.transaction().end_read()  # whatever the failed call left half-done is not ours to commit
        with self.repos.transaction():
            if hold_id is not None:
                self.repos.credit_accounts.release(hold_id)
            if isinstance(error, ProviderAuthError) and resolved is not None and resolved.key_id is not None:
                # The user's own key was refused: stop using it until they replace it.
                self.repos.provider_keys.mark_rejected(resolved.key_id, error.message[:500])
            tries = tries or CallTries()
            name = model_name[:200] or "unknown"
            provider = resolved.provider_name if resolved else (model_name.partition(":")[0][:50] or "unknown")
            key_source = resolved.key_source if resolved else KeySource.PLATFORM
            self.record_tries(name, provider, key_source, tries)
            self.repos.usage_log.add(self._usage_row(
                model_name=name, provider=provider, key_source=key_source, status=usage_status(error), error_code=error.code,
                error_message=error.message[:2000], response_time_ms=elapsed_ms,
                call_id=tries.call_id, call_try=tries.last))

    def _usage_row(self, **fields: Any) -> UsageLogEntry:
        """A usage-log row of this meter's calls: who, which run and step, what made it."""
        return UsageLogEntry(tenant_id=self.repos.tenant_id, user_id=self.payer, run_id=self.run_id,
                             run_step_id=self.step_id, context_type=self.context_type, **self.usage, **fields)

    def record_tries(self, model_name: str, provider: str, key_source: KeySource, tries: "CallTries") -> None:
        """A usage-log row for each try the provider made and noted before the last one."""
        for number, failed in enumerate(tries.failed, start=1):
            self.repos.usage_log.add(self._usage_row(
                model_name=model_name, provider=provider, key_source=key_source, status=_try_status(failed), error_code=failed.code[:50], error_message=failed.message,
                response_time_ms=failed.elapsed_ms, call_id=tries.call_id, call_try=number))


class CallTries:
    """The tries of one metered call: its id, and those the provider noted as failed."""

    def __init__(self) -> None:
        self.call_id = uuid.uuid4()
        self.failed: list[FailedTry] = []

    @property
    def last(self) -> int:
        """The number of the try that ended the call."""
        return len(self.failed) + 1


@contextmanager
def _closed_after(chunks: Any) -> Any:
    """``chunks``, closed at the end when it can be (a generator can; a plain iterator has
    nothing to close)."""
    try:
        yield chunks
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()


def _stopped(error: Exception) -> AppError:
    """What the usage log records of a call that ended in something other than an AppError."""
    stopped = AppError(str(error) or type(error).__name__)
    stopped.code = str(getattr(error, "code", None) or "CALL_STOPPED")
    return stopped


def _try_status(failed: FailedTry) -> UsageStatus:
    if failed.rate_limited:
        return UsageStatus.RATE_LIMITED
    return UsageStatus.TIMEOUT if failed.timed_out else UsageStatus.FAILED


def _usage_source(value: Any) -> UsageSource:
    """A provider's word for its counts; anything unknown is treated as the weakest, an estimate."""
    try:
        return UsageSource(value)
    except ValueError:
        return UsageSource.ESTIMATED


__all__ = ["CallMeter", "estimate_tokens", "most_tokens", "parse_json_output"]
