"""Story generation from start to finish (seed 000's StoryGenerationService).

Starting makes the story (draft → generating) and the run in separate transactions, because
the engine queues the run's first step as soon as its own transaction commits; the story is
finished either by the run's end event or, when the run ended before the story learnt its
run id, by :meth:`StoryGeneration.start` itself. Finishing claims the story with a
conditional update, so whichever comes first fills it, exactly once.
"""

from __future__ import annotations

from typing import Any

from app.toolkit import (
    AppError,
    DomainEvent,
    Repositories,
    Run,
    RunStatus,
    StepStatus,
    check_workflow_models,
    current_principal,
    notify,
    public_error,
    readable_message,
    record_audit,
    run_progress,
    start_workflow,
    utcnow,
    workflow_runs,
)

from .models import Story, StoryStatus, character_names, story_metadata
from .repositories import StoryRepository

WORKFLOW = "stories.generate"
ASSEMBLE_STEP = "assemble"

#: Seed 000's WorkflowStatus.status for each run status.
WORKFLOW_STATUS = {
    RunStatus.QUEUED: "pending", RunStatus.RUNNING: "running", RunStatus.PAUSED: "running",
    RunStatus.COMPLETED: "completed", RunStatus.FAILED: "failed", RunStatus.CRASHED: "failed",
    RunStatus.CANCELLED: "cancelled",
}
CANCELLED_MESSAGE = "The generation was cancelled."


def publish_created(repos: Repositories, story: Story) -> None:
    repos.transaction().publish(DomainEvent(
        "story.created", str(story.id), {"storyId": str(story.id), "title": story.title},
        tenant_id=story.tenant_id, actor_id=story.created_by_user_id))


def workflow_inputs(request: dict[str, Any], preferences: dict[str, Any]) -> dict[str, Any]:
    """The workflow's inputs for a loaded StoryRequest: each step's model is the request's for
    that step, else the request's ``model``, else the person's ``defaultModels`` for the step
    (``outline``, ``chapters``), else the workflow's own (left out)."""
    inputs = {key: value for key, value in request.items() if key not in ("model", "outline_model", "chapter_model")}
    preferred = preferences.get("default_models") or preferences.get("defaultModels") or {}
    for field, step in (("outline_model", "outline"), ("chapter_model", "chapters")):
        chosen = request.get(field) or request.get("model") or preferred.get(step)
        if chosen:
            inputs[field] = chosen
    return inputs


class StoryGeneration:
    """Start, watch, cancel and finish the generation of stories in one tenant.

    :param repos: the repository factory of the tenant.
    """

    def __init__(self, repos: Repositories) -> None:
        self.repos = repos
        self.stories = repos.get(StoryRepository)

    # Starting ---------------------------------------------------------------------------
    def start(self, request: dict[str, Any]) -> tuple[Story, Run]:
        """Make a story in ``generating`` and start the run that writes it, for the signed-in caller.

        :param request: a loaded StoryRequest.
        :raises ValidationError: for inputs the workflow does not accept.
        """
        principal = current_principal()
        principal.require("stories", "create")
        principal.require("runs", "create")
        inputs = workflow_inputs(request, getattr(principal.user, "preferences", None) or {})
        # A run that could use a model nobody serves is refused before the story row exists (issue 9).
        check_workflow_models(WORKFLOW, inputs)
        with self.repos.transaction():
            story = self.stories.add(Story(
                title=f"Untitled story ({request['n_chapters']} chapters)", status=StoryStatus.DRAFT,
                details=story_metadata(character_names(request["primary_characters"]),
                                       character_names(request["secondary_characters"])),
                parameters=inputs, created_by_user_id=principal.user_id))
            publish_created(self.repos, story)
            story.move_to(StoryStatus.GENERATING)
            story.generation_started_at = utcnow()
        try:
            run = start_workflow(WORKFLOW, inputs)
        except Exception as exc:
            self.finish(story.id, None, error={"code": getattr(exc, "code", "INTERNAL_ERROR"), "message": str(exc)})
            raise
        with self.repos.transaction() as tx:
            story.run_id = run.id
            self.stories.save(story)
            tx.publish(DomainEvent("story.generation.started", str(story.id),
                                   {"storyId": str(story.id), "sessionId": str(run.id), "workflow": WORKFLOW,
                                    "parameters": inputs},
                                   tenant_id=story.tenant_id, actor_id=principal.user_id))
        current = self.repos.runs.get(run.id)
        if current is not None and current.status.is_terminal:
            self.finish_from_run(current)
        return self.stories.require(story.id), run

    # Watching ---------------------------------------------------------------------------
    def status(self, session_id: Any) -> dict[str, Any]:
        """Seed 000's WorkflowStatus of a run of this tenant.

        :raises NotFoundError: for a run not in this tenant.
        """
        run = workflow_runs().get(session_id)
        story = self.stories.by_run(run.id)
        status = WORKFLOW_STATUS[RunStatus(run.status)]
        # Completed steps only: a failed run's bar never reads as full (issue 9).
        progress = run_progress(run)
        return {"session_id": run.id, "status": status, "progress": 1.0 if status == "completed" else progress.fraction,
                "steps": progress.as_dict(),
                "message": self.status_message(run, story), "started_at": run.started_at or run.created_at,
                "completed_at": run.completed_at, "story_id": story.id if story else None}

    @staticmethod
    def status_message(run: Run, story: Story | None) -> str:
        status = RunStatus(run.status)
        if status == RunStatus.PAUSED:
            return f"Paused: {run.pause_reason or 'waiting'}."
        if status in (RunStatus.FAILED, RunStatus.CRASHED):
            return (public_error(run.error) or {}).get("message") or "The generation failed."
        if status == RunStatus.CANCELLED:
            return CANCELLED_MESSAGE
        if status == RunStatus.COMPLETED:
            return f"“{story.title}” is written." if story else "The run is complete."
        return run_progress(run).label[:1].upper() + run_progress(run).label[1:] + "."

    # Cancelling -------------------------------------------------------------------------
    def cancel(self, session_id: Any) -> Run:
        """Cancel the run; its story (if any) fails with a cancelled message at once.

        :raises NotFoundError: for a run not in this tenant.
        :raises IllegalTransitionError: for a run that already ended.
        """
        run = workflow_runs().cancel(session_id)
        story = self.stories.by_run(run.id)
        if story is not None:
            self.finish(story.id, run, error={"code": "CANCELLED", "message": CANCELLED_MESSAGE})
        return run

    def delete(self, story: Story) -> None:
        """Delete the story (soft: hidden, not erased); a generation under way is cancelled
        first, so no worker goes on writing a story nobody can see."""
        if story.status == StoryStatus.GENERATING and story.run_id is not None:
            try:
                workflow_runs().cancel(story.run_id)
            except AppError:
                pass  # the run ended meanwhile: nothing left to stop
        with self.repos.transaction():
            self.stories.delete(self.stories.require(story.id))
            record_audit("story.delete", "story", story.id, changes={"deleted": {"before": False, "after": True}},
                         metadata={"title": story.title})

    # Finishing --------------------------------------------------------------------------
    def finish_from_run(self, run: Run) -> Story | None:
        """Fill the story of an ended run from its assemble step, or fail it with the run's error."""
        story = self.stories.by_run(run.id)
        if story is None:
            return None
        status = RunStatus(run.status)
        if status == RunStatus.COMPLETED:
            return self.finish(story.id, run)
        if status == RunStatus.CANCELLED:
            return self.finish(story.id, run, error={"code": "CANCELLED", "message": CANCELLED_MESSAGE})
        return self.finish(story.id, run, error=self.failure_of(run))

    def failure_of(self, run: Run) -> dict[str, Any]:
        """Why a run failed, in words a writer can use: the failed step's error when there is one."""
        error = dict(run.error or {})
        failed = next((step for step in self.repos.run_steps.of_run(run.id)
                       if StepStatus(step.status) == StepStatus.FAILED and step.error), None)
        message = readable_message(error.get("message")) or "The generation failed."
        code = error.get("code", "RUN_FAILED")
        if failed is not None:
            shown = public_error(failed.error)
            message = f"The {failed.step_key} step failed: {shown['message']}"
            code = shown["code"]
        return {"code": code, "message": message}

    def finish(self, story_id: Any, run: Run | None, error: dict[str, Any] | None = None) -> Story | None:
        """Complete the story from the run's output, or fail it with ``error``; only a story
        still generating is touched (the first caller wins)."""
        output = None
        if error is None and run is not None:
            step = self.repos.run_steps.by_key(run.id, ASSEMBLE_STEP)
            output = step.output if step is not None and isinstance(step.output, dict) else None
            if output is None:
                error = {"code": "NO_OUTPUT", "message": "The run ended without an assembled story."}
        with self.repos.transaction() as tx:
            target = StoryStatus.FAILED if error else StoryStatus.COMPLETED
            story = self.stories.claim(story_id, StoryStatus.GENERATING, target)
            if story is None:
                return None
            story.generation_completed_at = utcnow()
            if error:
                story.error = error
            else:
                self.fill(story, output)
            self.stories.save(story)
            started = story.generation_started_at or story.created_at
            tx.publish(DomainEvent("story.generation.completed", str(story.id), {
                "storyId": str(story.id), "sessionId": str(run.id) if run else None, "success": error is None,
                "duration": int((story.generation_completed_at - started).total_seconds() * 1000),
                **({"error": error} if error else {})}, tenant_id=story.tenant_id))
            if story.created_by_user_id is not None:
                # The writer hears of it wherever they are in the studio (and by mail if they
                # asked for email_on_story_ready), once the story is committed.
                notify(story.created_by_user_id, "story_ready",
                       f"Your story “{story.title or 'Untitled'}” is ready" if not error
                       else "Your story could not be written",
                       error["message"] if error else f"{len(story.chapters)} chapters, {story.word_count:,} words.",
                       tenant_id=story.tenant_id, related_entity_type="story", related_entity_id=str(story.id),
                       action_url=f"/stories/{story.id}", action_label="Read it" if not error else "See why",
                       priority="normal" if not error else "high")
        return story

    @staticmethod
    def fill(story: Story, output: dict[str, Any]) -> None:
        story.title = output["title"][:300]
        story.offline = bool(output.get("offline"))
        story.replace_chapters(output["chapters"])
        story.details = story_metadata(output.get("primary_characters"), output.get("secondary_characters"),
                                       output.get("genre"), output.get("theme"), story.word_count)
