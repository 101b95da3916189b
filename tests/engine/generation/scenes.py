"""What the generation tests share: a provider the offline one cannot stand in for, the
workflows, and ways to drive and read a run (app/engine/generation/)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import uuid
from decimal import Decimal

from PIL import Image
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry
from sqlalchemy import update

from app.engine.executor import dispatch
from app.engine.generation.poller import GenerationPoller
from app.extensions import db
from app.models import Artifact, GenerationJob, UsageLogEntry
from app.runtime import current_state, repositories
from app.statuses import StepStatus
from app.toolkit import MediaPoll, MediaRequest, MediaSubmission, ModelInfo, Provider
from app.workers import build_worker

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MEDIA_DELAY = 0.3


class Darkroom(Provider):
    """A media backend whose results are downloaded from a URI and priced per image.

    Params: ``hold`` (seconds processing; negative: forever) and ``prompt``. Like the offline
    provider it keeps no state: the job id carries the request.
    """

    name = "darkroom"
    kinds = ("image",)
    requires_key = False
    models = (ModelInfo("darkroom:photo", kind="image", price_per_item=Decimal("0.04")),)

    def submit(self, request: MediaRequest) -> MediaSubmission:
        spec = {"hold": float(request.params.get("hold", 0)), "t": time.time(),
                "prompt": str(request.params.get("prompt", ""))}
        return MediaSubmission(job_id=base64.urlsafe_b64encode(json.dumps(spec).encode()).decode(), poll_interval=0.1)

    def poll(self, job_id: str) -> MediaPoll:
        spec = json.loads(base64.urlsafe_b64decode(job_id))
        if spec["hold"] < 0 or time.time() < spec["t"] + spec["hold"]:
            return MediaPoll(status="processing")
        return MediaPoll(status="completed", result_uri=f"darkroom://prints/{job_id}", content_type="image/png")

    def fetch(self, result_uri: str) -> bytes:
        spec = json.loads(base64.urlsafe_b64decode(result_uri.rsplit("/", 1)[1]))
        shade = hashlib.sha256(spec["prompt"].encode()).digest()[:3]
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), tuple(shade)).save(buffer, format="PNG")
        return buffer.getvalue()


def image_workflow(name: str, model: str = "offline:image", retry: int = 1, params: str = "{}",
                   timeout: str = "null") -> str:
    return f"""
name: {name}
version: "1"
inputs:
  subject: {{type: string, required: true}}
steps:
  - id: picture
    skill: media.image
    retry: {{max_attempts: {retry}, backoff: 0}}
    with:
      prompt: "A lighthouse over {{{{ inputs.subject }}}}"
      width: 64
      height: 48
      model: {model}
      timeout: {timeout}
      params: {params}
  - id: caption
    skill: test.echo
    with: {{text: "{{{{ steps.picture.output.artifact_id }}}}"}}
"""


def work_once(app) -> None:
    """Run a real worker until the queue is empty, starting with RQ's scheduler (which
    enqueues the delayed jobs that are due: polls)."""
    worker = build_worker(app)
    worker.listens_for_commands = False
    worker.work(burst=True, with_scheduler=True, logging_level="WARNING")


def drive(app, until, timeout: float = 20.0) -> None:
    """Run real workers until ``until()`` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "timed out driving the workers"
        work_once(app)
        # Polls are RQ scheduled jobs, due by the Redis server's clock rather than the app's,
        # so this waits for RQ's scheduler to move them, not for an expiry of ours.
        time.sleep(0.05)


def jobs_of(app, run_id) -> list[GenerationJob]:
    with app.app_context():
        rows = db.session.query(GenerationJob).filter(GenerationJob.run_id == run_id) \
            .order_by(GenerationJob.created_at).all()
        db.session.expunge_all()
        return rows


def artifact(app, artifact_id) -> Artifact:
    with app.app_context():
        row = db.session.get(Artifact, uuid.UUID(str(artifact_id)))
        db.session.expunge_all()
        return row


def finished_functions(app) -> list[str]:
    """The function of every job the workers have run on the test's queue, failed ones too."""
    with app.app_context():
        queue = current_state().queue()
        ids = FinishedJobRegistry(queue=queue).get_job_ids() + FailedJobRegistry(queue=queue).get_job_ids()
        return sorted(job.func_name for job in Job.fetch_many(ids, connection=queue.connection,
                                                              serializer=queue.serializer) if job is not None)


def scheduled_polls(app) -> list[str]:
    with app.app_context():
        queue = current_state().queue()
        return ScheduledJobRegistry(queue=queue).get_job_ids()


def finished(studio, run_id):
    return lambda: studio.run(run_id).status.is_terminal


def waiting_step(app, studio, run_jobs, source: str, **inputs):
    """Start a run of ``source`` and run its first job: the run, its waiting step, its job."""
    run = studio.start(source, **inputs)
    # The first job only, whatever else the queue may hold by then (twice in a full suite
    # run the count here was not 1; run alone, the file never showed it).
    ran = run_jobs(max_jobs=1)
    assert ran == 1, f"ran {ran} jobs; step {studio.steps(run.id)['picture'].status}"
    step = studio.steps(run.id)["picture"]
    assert step.status == StepStatus.WAITING
    [job] = jobs_of(app, run.id)
    return run, step, job


def poll(app, job_id, poll_job_id):
    """What ``app.jobs.poll_generation`` does when RQ runs it as the job ``poll_job_id``."""
    with app.app_context():
        return GenerationPoller(current_state(), dispatch).poll(str(job_id), poll_job_id)


def studio_repos(studio):
    return repositories(studio.account.tenant_id)


def set_job(app, job_id, **values) -> None:
    with app.app_context():
        db.session.execute(update(GenerationJob).where(GenerationJob.id == job_id).values(**values))
        db.session.commit()


def usage_of(app, run_id) -> list[UsageLogEntry]:
    with app.app_context():
        rows = db.session.query(UsageLogEntry).filter(UsageLogEntry.run_id == run_id) \
            .order_by(UsageLogEntry.created_at).all()
        db.session.expunge_all()
        return rows


def took_ms(job: GenerationJob) -> int:
    return int((job.completed_at - job.started_at).total_seconds() * 1000)
