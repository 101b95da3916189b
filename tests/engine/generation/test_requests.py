"""The request side of a generation (app/engine/generation/requests.py): what names a request."""

from __future__ import annotations

import pytest

from app.engine.generation.requests import request_hash
from app.statuses import RunStatus
from app.models import (
    AttemptOutcome,
)
from tests.engine.generation.scenes import (
    artifact,
    drive,
    finished,
    jobs_of,
)

pytestmark = pytest.mark.timeout(60)

# Pure parts ------------------------------------------------------------------------------
def test_the_request_hash_names_the_request_and_its_candidate():
    params = {"prompt": "owl", "width": 64}
    assert request_hash("offline:image", "image", params, 0) == request_hash(
        "offline:image", "image", {"width": 64, "prompt": "owl"}, 0)
    others = {request_hash("offline:image", "image", params, 1), request_hash("offline:image", "video", params, 0),
              request_hash("darkroom:photo", "image", params, 0),
              request_hash("offline:image", "image", {**params, "width": 65}, 0)}
    assert len(others) == 4 and request_hash("offline:image", "image", params, 0) not in others


def test_each_candidate_of_a_step_is_a_generation_of_its_own(app, studio):
    source = """
name: contact-sheet
version: "1"
steps:
  - id: picture
    skill: media.image
    candidates: 2
    with: {prompt: a kestrel, width: 32, height: 32}
"""
    run = studio.start(source)
    drive(app, finished(studio, run.id))

    step = studio.steps(run.id)["picture"]
    first, second = jobs_of(app, run.id)
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert [c["output"]["artifact_id"] for c in step.candidates] == [str(first.artifact_id), str(second.artifact_id)]
    assert artifact(app, first.artifact_id).content_hash != artifact(app, second.artifact_id).content_hash
    assert (first.input_params.get("seed"), second.input_params["seed"]) == (None, 1)
    # The attempt waits for each candidate's job in turn; the last one completes them all.
    assert [a.outcome for a in studio.attempts(run.id)["picture"]] == [
        AttemptOutcome.WAITING, AttemptOutcome.WAITING, AttemptOutcome.COMPLETED]
