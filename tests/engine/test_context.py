"""The StepContext a skill works through (app/engine/context.py): artifacts, cancellation,
progress and model calls, on real steps of real runs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest

from app.engine.context import EngineStepContext, StepCancelled
from app.engine.progress import RunEvents
from app.errors import NotFoundError, ValidationError
from app.models import Artifact
from app.runtime import current_state, repositories
from app.statuses import RunStatus
from app.toolkit import Completion, CompletionChunk, CompletionRequest, ModelInfo, Provider, Schema, Skill, fields

TWO_STEPS = """
name: two-steps
version: "1"
steps:
  - id: one
    skill: test.echo
  - id: two
    skill: test.echo
"""


def context_for(studio, run_id, step_key: str, **options) -> EngineStepContext:
    """The context a worker would hand the skill of that step (call inside an app context)."""
    state = current_state()
    repos = repositories(studio.account.tenant_id)
    run = repos.runs.require(run_id)
    step = repos.run_steps.by_key(run_id, step_key)
    return EngineStepContext(repos, run, step, state.storage, RunEvents(state.redis.client()), state, options)


def stored_files(app) -> list[Path]:
    return [path for path in Path(app.config["ARTIFACT_DIR"]).rglob("*") if path.is_file()]


def test_storing_the_same_bytes_twice_keeps_one_file_and_one_row_per_step(studio, app, row_count):
    run = studio.start(TWO_STEPS)
    with app.app_context():
        one = context_for(studio, run.id, "one")
        first = one.store_artifact(b"chapter one", media_type="text/plain", filename="one.txt",
                                   metadata={"words": 2})
        again = one.store_artifact(b"chapter one", media_type="text/plain")
        other_step = context_for(studio, run.id, "two").store_artifact(b"chapter one", media_type="text/plain")

    assert first == again != other_step
    assert one.artifact_ids == [first]
    assert row_count(Artifact) == 2
    [path] = stored_files(app)
    assert path.read_bytes() == b"chapter one"
    with app.app_context():
        row = repositories(studio.account.tenant_id).artifacts.get(first)
        assert (row.filename, row.metadata_, row.size_bytes, row.media_type) == ("one.txt", {"words": 2}, 11,
                                                                                 "text/plain")
        assert row.content_hash == path.name and row.run_id == run.id
        assert current_state().storage.read(row.uri) == b"chapter one"


def test_check_cancelled_raises_at_the_next_check_after_the_run_is_cancelled(studio, app, clock):
    run = studio.start(TWO_STEPS)
    with app.app_context():
        ctx = context_for(studio, run.id, "one")
        ctx.check_cancelled()  # the run goes on: nothing happens
        studio.call(lambda service: service.cancel(run.id))
        clock.advance(0.4)
        ctx.check_cancelled()  # checks are at most twice a second: this one reads nothing
        clock.advance(0.1)
        with pytest.raises(StepCancelled, match="cancelled"):
            ctx.check_cancelled()


def test_a_database_away_for_a_moment_neither_cancels_the_step_nor_stops_its_progress(studio, app, clock):
    from sqlalchemy import event

    from app.extensions import db

    run = studio.start(TWO_STEPS)
    with app.app_context():
        ctx = context_for(studio, run.id, "one")
        engine = db.engine

        def refuse(*_args, **_kwargs):
            raise engine.dialect.dbapi.OperationalError("connection to server failed: Connection refused")

        db.session.close()
        engine.dispose()
        event.listen(engine, "do_connect", refuse)
        try:
            clock.advance(1)
            ctx.check_cancelled()  # could not ask: the skill goes on
            ctx.report_progress(0.5, "half")  # could not record: the skill goes on
        finally:
            event.remove(engine, "do_connect", refuse)
        studio.call(lambda service: service.cancel(run.id))
        clock.advance(1)
        with pytest.raises(StepCancelled):  # back: the next check sees the cancellation
            ctx.check_cancelled()


def test_report_progress_updates_the_step_and_publishes_an_event(studio, app):
    run = studio.start(TWO_STEPS)
    with app.app_context():
        ctx = context_for(studio, run.id, "one")
        ctx.report_progress(0.4, "drafting")
        events = RunEvents(current_state().redis.client()).read(run.id)

    step = studio.steps(run.id)["one"]
    assert (step.progress, step.progress_message) == (0.4, "drafting")
    assert [data for _id, kind, data in events if kind == "step.progress"] == [
        {"step": "one", "progress": 0.4, "message": "drafting"}]


def test_progress_is_reported_at_most_twice_a_second_but_completion_always(studio, app, clock):
    run = studio.start(TWO_STEPS)
    with app.app_context():
        ctx = context_for(studio, run.id, "one")
        ctx.report_progress(0.1, "outlining")
        ctx.report_progress(0.2, "too soon after the last")
        clock.advance(0.5)
        ctx.report_progress(0.5, "halfway")
        ctx.report_progress(1.0, "done")
        events = RunEvents(current_state().redis.client()).read(run.id)

    assert [data["message"] for _id, kind, data in events if kind == "step.progress"] == [
        "outlining", "halfway", "done"]
    assert studio.steps(run.id)["one"].progress == 1.0


class CountingProvider(Provider):
    """A model backend answering from the prompt, with fixed usage (the engine's side of the
    provider contract; the real providers are tested over HTTP in tests/providers)."""

    name = "fake"
    requires_key = False
    models = (ModelInfo("fake:tiny", 1000, Decimal("0.001"), Decimal("0.002")),
              ModelInfo("fake:large", 8000, Decimal("0.01"), Decimal("0.03")))
    requests: ClassVar[list[CompletionRequest]] = []

    def complete(self, request: CompletionRequest) -> Completion:
        CountingProvider.requests.append(request)
        return Completion(text=f"{request.model} says: {request.messages[-1]['content']}", input_tokens=7,
                          output_tokens=3, model=request.model)


@pytest.fixture
def provider(registry):
    CountingProvider.requests = []
    registry.providers["fake"] = CountingProvider
    return CountingProvider


def test_generate_calls_the_installed_provider_and_counts_its_tokens(studio, app, provider):
    run = studio.start(TWO_STEPS)
    with app.app_context():
        ctx = context_for(studio, run.id, "one", model="fake:tiny", temperature=0.3, max_tokens=50)
        answer = ctx.generate("hello")
        ctx.generate(messages=[{"role": "user", "content": "again"}], model="fake:large", max_tokens=9)

        assert (answer.text, answer.input_tokens, answer.output_tokens) == ("tiny says: hello", 7, 3)
        assert (ctx.tokens_input, ctx.tokens_output) == (14, 6)
    assert [(r.model, r.messages, r.temperature, r.max_tokens) for r in provider.requests] == [
        ("tiny", ({"role": "user", "content": "hello"},), 0.3, 50),
        ("large", ({"role": "user", "content": "again"},), 0.3, 9)]


def test_generate_refuses_an_unknown_provider_and_a_model_not_named_provider_colon_model(studio, app, provider):
    run = studio.start(TWO_STEPS)
    with app.app_context():
        ctx = context_for(studio, run.id, "one")
        with pytest.raises(NotFoundError) as unknown:
            ctx.generate("hello", model="nowhere:big")
        with pytest.raises(NotFoundError, match="provider:model") as malformed:
            ctx.generate("hello", model="tiny")
        with pytest.raises(ValidationError, match="prompt or with messages"):
            ctx.generate("hello", messages=[{"role": "user", "content": "hi"}], model="fake:tiny")
    assert unknown.value.code == malformed.value.code == "UNKNOWN_MODEL"
    assert unknown.value.details["provider"] == "nowhere"
    assert "fake" in unknown.value.details["installed"]
    assert provider.requests == []


class Ask(Skill):
    """A skill that asks the step's model (registered by the test, as a plugin would)."""

    name = "test.ask"

    class input_schema(Schema):
        prompt = fields.String(required=True)

    class output_schema(Schema):
        text = fields.String(required=True)

    def run(self, ctx, inputs):
        return {"text": ctx.generate(inputs["prompt"]).text}


ASKING = """
name: asking
version: "1"
defaults: {model: "fake:tiny"}
steps:
  - id: ask
    skill: test.ask
    candidates: 2
    with: {prompt: "owls?"}
"""


def test_a_skill_generating_through_the_engine_adds_its_tokens_to_the_step_and_run(studio, run_jobs, registry,
                                                                                  provider):
    registry.skills["test.ask"] = Ask
    run = studio.start(ASKING)
    run_jobs()

    run = studio.run(run.id)
    step = studio.steps(run.id)["ask"]
    assert run.status == RunStatus.COMPLETED
    assert [c["output"]["text"] for c in step.candidates] == ["tiny says: owls?"] * 2
    assert [c["model"] for c in step.candidates] == ["fake:tiny"] * 2
    assert (step.tokens_input, step.tokens_output) == (14, 6)
    assert (run.tokens_input, run.tokens_output) == (14, 6)


class StreamingProvider(CountingProvider):
    """Streams a long answer a word at a time; notes how far it got and whether it was closed."""

    name = "streamy"
    models = (ModelInfo("streamy:long", 8000, Decimal("0"), Decimal("0")),)
    between_pieces: ClassVar = None
    yielded: ClassVar[int] = 0
    closed: ClassVar[bool] = False

    def stream(self, request):
        try:
            for number in range(200):
                if number and StreamingProvider.between_pieces is not None:
                    StreamingProvider.between_pieces(number)
                StreamingProvider.yielded = number + 1
                yield CompletionChunk(text=f"word{number} ")
            yield CompletionChunk(text="", done=True, input_tokens=3, output_tokens=200)
        finally:
            StreamingProvider.closed = True  # a real provider's transport hangs up here


def test_a_cancelled_run_stops_reading_its_streamed_call_and_records_it(studio, app, clock, registry, row_count):
    """Issue 12: a cancelled run's in-flight call is closed, as a timed-out one is, so a server
    that stops on hang-up stops; the call is in the usage log, its hold given back."""
    from app.models import UsageLogEntry

    registry.providers["streamy"] = StreamingProvider
    StreamingProvider.yielded, StreamingProvider.closed = 0, False
    run = studio.start(TWO_STEPS)

    def cancel_at_the_fifth_word(number: int) -> None:
        if number == 5:
            studio.call(lambda service: service.cancel(run.id))
        clock.advance(0.5)  # each word a while after the last: the next look goes through

    StreamingProvider.between_pieces = cancel_at_the_fifth_word
    try:
        with app.app_context():
            ctx = context_for(studio, run.id, "one")
            with pytest.raises(StepCancelled):
                ctx.generate("Write at length.", model="streamy:long", stream=True)
            usage = repositories(studio.account.tenant_id).usage_log.list()
    finally:
        StreamingProvider.between_pieces = None

    assert StreamingProvider.closed is True and StreamingProvider.yielded <= 7
    assert [(row.status.value, row.error_code) for row in usage] == [("failed", "CANCELLED")]
    assert row_count(UsageLogEntry) == 1
