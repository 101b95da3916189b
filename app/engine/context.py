"""The StepContext the engine hands a skill: the skill's only door to the world."""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from ..errors import NotFoundError, ValidationError
from ..models import Artifact, Run, RunStep
from ..repositories import Repositories
from ..storage import ArtifactStorage
from ..toolkit import Completion, CompletionRequest, Provider, StepContext
from .progress import RunEvents
from .states import RunStatus

_CHECK_EVERY_SECONDS = 0.5
_PROGRESS_EVERY_SECONDS = 0.5


class StepCancelled(Exception):
    """The run was cancelled (or ended) while this step ran."""


class EngineStepContext(StepContext):
    """One attempt at one step (and, with candidates, one candidate of it).

    :param providers: the installed provider classes by name; models are named
        ``provider:model`` (metering and credits wrap this in the provider layer).
    """

    def __init__(self, repos: Repositories, run: Run, step: RunStep, storage: ArtifactStorage,
                 events: RunEvents, providers: dict[str, type[Provider]], options: dict[str, Any],
                 candidate_index: int = 0, model: str | None = None,
                 on_first_call: Callable[[], None] | None = None) -> None:
        self.repos = repos
        self.run = run
        self.step = step
        self.storage = storage
        self.events = events
        self.providers = providers
        self.options = options
        self.candidate_index = candidate_index
        self.model = model or options.get("model")
        self.artifact_ids: list[str] = []
        #: Tokens this context's model calls used. Counted here, not on the step row:
        #: check_cancelled() ends the session's transaction, which discards unsaved changes
        #: to the row (and so the counts of every call before it).
        self.tokens_input = 0
        self.tokens_output = 0
        self._checked_at = 0.0
        self._reported_at = 0.0
        self._on_first_call = on_first_call

    def _working(self) -> None:
        """The skill is at work: let the executor announce the step as started (once)."""
        if self._on_first_call is not None:
            self._on_first_call()
            self._on_first_call = None

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(self.run.inputs)

    @property
    def attempt(self) -> int:
        return self.step.attempt

    @property
    def step_key(self) -> str:
        return self.step.step_key

    def generate(self, prompt: str | None = None, *, messages: Sequence[dict[str, str]] | None = None,
                 model: str | None = None, temperature: float | None = None, max_tokens: int | None = None,
                 json_schema: dict | None = None) -> Completion:
        self._working()
        if (prompt is None) == (messages is None):
            raise ValidationError("Call generate with a prompt or with messages, not both.")
        name = model or self.model
        if not name or ":" not in name:
            raise ValidationError(f"Name the model as provider:model (got {name!r}).")
        provider_name, _, model_name = name.partition(":")
        provider_class = self.providers.get(provider_name)
        if provider_class is None:
            raise NotFoundError(f"No model provider named {provider_name!r} is installed.",
                                {"provider": provider_name})
        request = CompletionRequest(
            model=model_name,
            messages=tuple(messages or ({"role": "user", "content": prompt},)),
            temperature=temperature if temperature is not None else self.options.get("temperature"),
            max_tokens=max_tokens or self.options.get("max_tokens"),
            json_schema=json_schema,
        )
        completion = provider_class().complete(request)
        self.tokens_input += completion.input_tokens
        self.tokens_output += completion.output_tokens
        return completion

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
        now = time.monotonic()
        if now - self._checked_at < _CHECK_EVERY_SECONDS:
            return
        self._checked_at = now
        status = self.repos.runs.status_of(self.run.id)
        self.repos.session.rollback()  # end the read: no transaction stays open while the skill works
        if status is None or RunStatus(status).is_terminal:
            raise StepCancelled(f"The run is {status.value if status else 'gone'}.")

    def report_progress(self, fraction: float, message: str = "") -> None:
        self._working()
        fraction = min(1.0, max(0.0, float(fraction)))
        now = time.monotonic()
        if now - self._reported_at < _PROGRESS_EVERY_SECONDS and fraction < 1.0:
            return
        self._reported_at = now
        with self.repos.transaction():
            self.repos.run_steps.set_progress(self.step.id, fraction, message[:500])
        self.events.publish(self.run.id, "step.progress", step=self.step.step_key, progress=fraction,
                            message=message[:500])
