"""The StepContext the engine hands a skill: the skill's only door to the world."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Callable, Sequence

from flask import current_app

from ..errors import DatabaseUnavailableError, NotFoundError, ValidationError
from ..models import Artifact, Run, RunStep
from ..provider import Completion, CompletionRequest
from ..repositories import Repositories, as_uuid
from ..runtime import InkwrightState
from ..skill import StepContext
from ..statuses import RunStatus
from ..storage import ArtifactStorage
from .generation.requests import StepGenerations
from .metering import CallMeter
from .progress import RunEvents
from .text_stream import TextStream

log = logging.getLogger(__name__)

_CHECK_EVERY_SECONDS = 0.5
_PROGRESS_EVERY_SECONDS = 0.5


def _both(first: Callable[[str], None], second: Callable[[str], None] | None,
          then: Callable[[], None]) -> Callable[[str], None]:
    """``first``, then ``second`` when there is one, for each piece of a streamed answer, and
    ``then`` after each."""
    def each(piece: str) -> None:
        first(piece)
        if second is not None:
            second(piece)
        then()
    return each


class StepCancelled(Exception):
    """The run was cancelled (or ended) while this step ran."""

    #: What the usage log records for a model call it stopped mid-stream.
    code = "CANCELLED"


class EngineStepContext(StepContext):
    """One attempt at one step (and, with candidates, one candidate of it).

    :param state: the app's machinery (providers, model catalog, secrets, clock); every model
        call goes through :class:`app.engine.metering.CallMeter`.
    :param model: the candidate's model, when the step names a list of models.
    """

    def __init__(self, repos: Repositories, run: Run, step: RunStep, storage: ArtifactStorage,
                 events: RunEvents, state: InkwrightState, options: dict[str, Any],
                 candidate_index: int = 0, model: str | None = None,
                 on_first_call: Callable[[], None] | None = None) -> None:
        self.repos = repos
        self.run = run
        self.step = step
        self.storage = storage
        self.events = events
        self.state = state
        self.options = options
        self.candidate_index = candidate_index
        self.model = model or options.get("model") or current_app.config["DEFAULT_MODEL"]
        self.meter = CallMeter(state, repos, run, step, candidate_index=candidate_index)
        self.artifact_ids: list[str] = []
        #: What this context's model calls used (the step's and run's rows are counted by
        #: the meter as each call ends; these feed the step cache entry).
        self.tokens_input = 0
        self.tokens_output = 0
        self.cost_usd = Decimal("0")
        self.model_calls = 0
        #: The models this context's calls named, in order (a skill may choose its own).
        self.models_called: list[str] = []
        self.offline = False
        #: Calls streamed to the live page so far: each is a part of what the step writes.
        self.streamed_calls = 0
        # Never yet: the first check and the first report always go through, whatever the
        # clock reads (a test's clock may start at 0).
        self._checked_at = float("-inf")
        self._reported_at = float("-inf")
        self._on_first_call = on_first_call

    def _working(self) -> None:
        """The skill is at work: let the executor announce the step as started (once)."""
        if self._on_first_call is not None:
            self._on_first_call()
            self._on_first_call = None

    @property
    def written_by(self) -> str:
        """The model that wrote this candidate: the last one its calls named (a skill choosing
        its own model, as WriteIt's do, is labelled with that one), else the step's."""
        return self.models_called[-1] if self.models_called else self.model

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(self.run.inputs)

    @property
    def attempt(self) -> int:
        return self.step.attempt

    @property
    def execution(self) -> int:
        """The how-manieth time a worker runs this step (regenerations and retries included)."""
        return getattr(self.step, "executions", 0) or 0

    @property
    def step_key(self) -> str:
        return self.step.step_key

    def generate(self, prompt: str | None = None, *, messages: Sequence[dict[str, str]] | None = None,
                 model: str | None = None, temperature: float | None = None, max_tokens: int | None = None,
                 json_schema: dict | None = None, stop: Sequence[str] = (), system: str | None = None,
                 on_chunk: Callable[[str], None] | None = None, stream: bool = False) -> Completion:
        self._working()
        if (prompt is None) == (messages is None):
            raise ValidationError("Call generate with a prompt or with messages, not both.")
        chat = [dict(message) for message in (messages or ({"role": "user", "content": prompt},))]
        if system:
            chat.insert(0, {"role": "system", "content": system})
        request = CompletionRequest(
            model=model or self.model, messages=tuple(chat),
            temperature=temperature if temperature is not None else self.options.get("temperature"),
            max_tokens=max_tokens or self.options.get("max_tokens"), stop=tuple(stop),
            json_schema=json_schema, seed=self.seed)
        shown = self._text_stream() if stream else None
        if shown is not None:
            # A streamed call looks for cancellation as it goes: a cancelled run stops
            # reading, which closes the call's connection (a server that stops on hang-up stops).
            on_chunk = _both(shown.write, on_chunk, self.check_cancelled)
        completion = self.meter.complete(model or self.model, request, on_chunk=on_chunk)
        if shown is not None:
            shown.flush(done=True)
        self.tokens_input += completion.input_tokens
        self.tokens_output += completion.output_tokens
        self.model_calls += 1
        if (model or self.model) not in self.models_called:
            self.models_called.append(model or self.model)
        self.offline = self.offline or completion.offline
        self.cost_usd += self.state.models.info(model or self.model).cost(completion.input_tokens,
                                                                          completion.output_tokens)
        return completion

    def _text_stream(self) -> TextStream:
        self.streamed_calls += 1
        return TextStream(self.events, self.run.id, self.step.step_key, self.candidate_index,
                          self.streamed_calls, self.state.clock.monotonic)

    @property
    def seed(self) -> int | None:
        """The step's seed, else one per candidate: N candidates of one model are N different
        answers (the offline provider is deterministic per seed), each reproducible."""
        seed = self.options.get("seed")
        if seed is None and self.candidate_index:
            return self.candidate_index
        return seed

    def score_response(self, response_id: str, score: float) -> None:
        if not 0.0 <= float(score) <= 1.0:
            raise ValidationError("A quality score lies between 0 and 1.", {"score": score})
        with self.repos.transaction():
            if not self.repos.ai_responses.score(as_uuid(response_id), self.step.id, float(score)):
                raise NotFoundError(f"This step has no AI response {response_id}.", {"responseId": response_id})

    def store_artifact(self, content: bytes, *, media_type: str, filename: str | None = None,
                       metadata: dict[str, Any] | None = None) -> str:
        self._working()
        stored = self.storage.put(content)
        with self.repos.transaction():
            artifact = self.repos.artifacts.of_step(self.step.id, stored.content_hash)
            if artifact is None:
                artifact = self.repos.artifacts.add(Artifact(
                    run_id=self.run.id, run_step_id=self.step.id, skill=self.step.skill, media_type=media_type,
                    uri=stored.uri, content_hash=stored.content_hash, size_bytes=stored.size_bytes,
                    filename=filename, metadata_=dict(metadata or {}),
                ))
        artifact_id = str(artifact.id)
        if artifact_id not in self.artifact_ids:
            self.artifact_ids.append(artifact_id)
        return artifact_id

    def check_cancelled(self) -> None:
        self._working()
        now = self.state.clock.monotonic()
        if now - self._checked_at < _CHECK_EVERY_SECONDS:
            return
        self._checked_at = now
        try:
            status = self.repos.runs.status_of(self.run.id)
            self.repos.transaction().end_read()  # no transaction stays open while the skill works
        except DatabaseUnavailableError:
            # The database is away for a moment: that is no reason to stop the skill's work
            # (it once aborted the step and cost it an attempt); ask again at the next check.
            log.warning("step %s: cancellation check skipped, the database cannot be reached", self.step.step_key)
            return
        if status is None or RunStatus(status).is_terminal:
            raise StepCancelled(f"The run is {status.value if status else 'gone'}.")

    def report_progress(self, fraction: float, message: str = "") -> None:
        self._working()
        fraction = min(1.0, max(0.0, float(fraction)))
        now = self.state.clock.monotonic()
        if now - self._reported_at < _PROGRESS_EVERY_SECONDS and fraction < 1.0:
            return
        self._reported_at = now
        try:
            with self.repos.transaction():
                self.repos.run_steps.set_progress(self.step.id, fraction, message[:500])
        except DatabaseUnavailableError:  # progress is a courtesy: a later report catches up
            log.warning("step %s: progress not recorded, the database cannot be reached", self.step.step_key)
            return
        self.events.publish(self.run.id, "step.progress", step=self.step.step_key, progress=fraction,
                            message=message[:500])

    def generate_media(self, model: str, *, media_type: str, params: dict[str, Any] | None = None,
                       timeout: float | None = None) -> str:
        self._working()
        job = StepGenerations(self.state, self.repos, self.run, self.step).finished_job(
            model, media_type=media_type, params=params, timeout=timeout, candidate_index=self.candidate_index)
        # Its cost is on the step and run already (counted when the job completed); these
        # counts feed the step cache entry, so a cache hit knows what it saved.
        self.cost_usd += job.cost_usd or 0
        self.model_calls += 1
        artifact_id = str(job.artifact_id)
        if artifact_id not in self.artifact_ids:
            self.artifact_ids.append(artifact_id)
        return artifact_id
