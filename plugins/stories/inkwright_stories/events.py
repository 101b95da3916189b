"""Seed 000's story events, and the engine events a story listens to.

``story.created``, ``story.generation.started`` and ``story.generation.completed`` are
published by :mod:`.generation`; here the story hears that its run ended. The handlers run
in the background (on a worker, after the run's transaction committed), in a session of
their own rather than inside the engine's commit.
"""

from __future__ import annotations

from app.toolkit import DomainEvent, repositories

from .generation import WORKFLOW, StoryGeneration

STORY_CREATED = "story.created"
GENERATION_STARTED = "story.generation.started"
GENERATION_COMPLETED = "story.generation.completed"

#: The run events after which a story is finished (``run.crashed``: its worker died for good).
RUN_ENDED = ("run.completed", "run.failed", "run.cancelled", "run.crashed")


def finish_story_of_run(event: DomainEvent) -> None:
    """Fill (or fail) the story whose run just ended; other workflows' runs are not ours."""
    if event.tenant_id is None or not event.payload.get("runId"):
        return
    repos = repositories(event.tenant_id)
    run = repos.runs.get(event.payload["runId"])
    if run is None or run.workflow_name != WORKFLOW:
        return
    StoryGeneration(repos).finish_from_run(run)


def event_handlers() -> list[tuple[str, object, bool]]:
    return [(event_type, finish_story_of_run, True) for event_type in RUN_ENDED]
