"""The StepContext an agent gets: metered model calls, cancellation, and rule 3's clock.

An agent runs outside any workflow run, so its calls are metered with no run or step: the
payer is the run's person, and each usage-log row carries the agent's type, its run, its
subject and how many files it read (seed 003 table 5).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any, Callable, Sequence

from flask import current_app

from ..errors import AppError, DatabaseUnavailableError, ValidationError
from ..models import CONTEXT_TYPES, AgentRun, AgentRunStatus, AgentTrigger
from ..provider import Completion, CompletionRequest
from ..repositories import Repositories
from ..repositories.agent_runs import AgentRunRepository
from ..runtime import InkwrightState
from ..skill import StepContext

log = logging.getLogger(__name__)

_CHECK_EVERY_SECONDS = 0.5


class AgentRunStopped(AppError):
    """The run was canceled while the agent worked."""

    code = "CANCELED"
    status_code = 409

    def default_message(self) -> str:
        return "The agent run was canceled."


class AgentRunTimedOut(AppError):
    """Rule 3: the run was still unfinished five minutes after it first started."""

    code = "AGENT_RUN_TIMEOUT"
    status_code = 409


def deadline_of(run: AgentRun, timeout: float):
    return run.started_at + timedelta(seconds=timeout) if run.started_at else None


class AgentContext(StepContext):
    """One try of one agent run."""

    def __init__(self, repos: Repositories, state: InkwrightState, run: AgentRun, files_analyzed: int,
                 model: str | None = None) -> None:
        from ..engine.metering import CallMeter  # the engine imports the app's services; not at import time

        self.repos = repos
        self.state = state
        self.run = run
        self.model = model or current_app.config["DEFAULT_MODEL"]
        self.timeout = float(current_app.config["AGENT_RUN_TIMEOUT"])
        self.meter = CallMeter(state, repos, payer=run.user_id, context_type=CONTEXT_TYPES[AgentTrigger(run.trigger)],
                               usage={"agent_type": run.agent_type, "agent_run_id": run.id,
                                      "project_id": run.project_id, "files_analyzed": files_analyzed})
        self.tokens_used = 0
        self.cost_usd = Decimal("0")
        self.models_called: list[str] = []
        self._checked_at = float("-inf")

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(self.run.context.get("inputs") or {})

    def generate(self, prompt: str | None = None, *, messages: Sequence[dict[str, str]] | None = None,
                 model: str | None = None, temperature: float | None = None, max_tokens: int | None = None,
                 json_schema: dict | None = None, stop: Sequence[str] = (), system: str | None = None,
                 on_chunk: Callable[[str], None] | None = None, stream: bool = False) -> Completion:
        self.check_cancelled()
        if (prompt is None) == (messages is None):
            raise ValidationError("Call generate with a prompt or with messages, not both.")
        chat = [dict(message) for message in (messages or ({"role": "user", "content": prompt},))]
        if system:
            chat.insert(0, {"role": "system", "content": system})
        name = model or self.model
        request = CompletionRequest(model=name, messages=tuple(chat), temperature=temperature, max_tokens=max_tokens,
                                    stop=tuple(stop), json_schema=json_schema)
        completion = self.meter.complete(name, request, on_chunk=on_chunk)
        self.tokens_used += completion.input_tokens + completion.output_tokens
        self.cost_usd += self.state.models.info(name).cost(completion.input_tokens, completion.output_tokens)
        if name not in self.models_called:
            self.models_called.append(name)
        return completion

    def generate_media(self, model: str, *, media_type: str, params: dict[str, Any] | None = None,
                       timeout: float | None = None) -> str:
        raise ValidationError("A review agent reads and reports; it does not make media.")

    def store_artifact(self, content: bytes, *, media_type: str, filename: str | None = None,
                       metadata: dict[str, Any] | None = None) -> str:
        raise ValidationError("A review agent reports in its results; it does not store artifacts.")

    def check_cancelled(self) -> None:
        """Raise once the run is canceled (read at most twice a second) or past rule 3's limit
        (on the app's clock, so a test moves time by hand)."""
        deadline = deadline_of(self.run, self.timeout)
        if deadline is not None and self.state.clock.now() >= deadline:
            raise AgentRunTimedOut(f"The run was unfinished {int(self.timeout)} s after it started, and was canceled.")
        now = self.state.clock.monotonic()
        if now - self._checked_at < _CHECK_EVERY_SECONDS:
            return
        self._checked_at = now
        try:
            current = self.repos.get(AgentRunRepository).status_of(self.run.id)
            self.repos.transaction().end_read()  # no transaction stays open while the agent works
        except DatabaseUnavailableError:
            log.warning("agent run %s: could not look for a cancel; the database is away", self.run.id)
            return
        if current is not None and current != AgentRunStatus.RUNNING:
            raise AgentRunStopped()

    def report_progress(self, fraction: float, message: str = "") -> None:
        # Agent runs have no live page yet: progress is logged for operators.
        log.debug("agent run %s: %.0f%% %s", self.run.id, 100 * min(1.0, max(0.0, float(fraction))), message)
