"""Text as it is written (app/engine/text_stream.py): a streamed model call's pieces on the
run's live events, throttled, in order, adding up to the step's output (issue 12)."""

from __future__ import annotations

import uuid

from app.engine.progress import RunEvents
from app.engine.text_stream import TextStream
from app.runtime import current_state
from app.statuses import RunStatus

ONE_CALL = """
name: one-call
version: "1"
steps:
  - id: write
    skill: text.generate
    with: {prompt: "Write about lighthouses.", max_tokens: 300}
"""


def texts(app, run_id) -> list[dict]:
    with app.app_context():
        return [data for _id, kind, data in RunEvents(current_state().redis.client()).read(run_id)
                if kind == "step.text"]


def test_pieces_are_published_at_most_ten_times_a_second_and_add_up_in_order(app, clock):
    run_id = uuid.uuid4()
    with app.app_context():
        shown = TextStream(RunEvents(current_state().redis.client()), run_id, "write", 0, 1, clock.monotonic)
        shown.write("Once ")        # the first piece goes at once
        shown.write("upon ")        # too soon: kept
        shown.write("a ")
        clock.advance(0.1)
        shown.write("time")         # time again: all pending goes
        shown.write(", there")
        shown.flush(done=True)      # the end always goes

    events = texts(app, run_id)
    assert [(e["offset"], e["length"], e["text"], e["done"]) for e in events] == [
        (0, 5, "Once ", False), (5, 11, "upon a time", False), (16, 7, ", there", True)]
    assert {(e["step"], e["candidate"], e["part"]) for e in events} == {("write", 0, 1)}


def test_a_streamed_step_publishes_what_its_output_says(studio, run_jobs, app):
    run = studio.start(ONE_CALL)
    run_jobs()

    assert studio.run(run.id).status == RunStatus.COMPLETED
    output = studio.steps(run.id)["write"].output["text"]
    events = texts(app, run.id)
    assert events and events[-1]["done"] is True
    assert "".join(event["text"] for event in events) == output
    offsets = [event["offset"] for event in events]
    assert offsets == sorted(offsets) and offsets[0] == 0


def test_a_structured_call_is_not_streamed_to_the_page(studio, run_jobs, app):
    run = studio.start(ONE_CALL.replace('max_tokens: 300}', 'max_tokens: 300, json_schema: {type: object}}'))
    run_jobs()

    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert texts(app, run.id) == []
