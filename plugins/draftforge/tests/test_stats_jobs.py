"""Stats on a worker (inkwright_draftforge/stats_jobs.py): a save queues one job per project
and commit, the job brings the row to it, a project gone meanwhile is skipped, and with Redis
away the count is made in the request rather than lost."""

from __future__ import annotations

import uuid

from inkwright_draftforge.models import Project, ProjectStatsRecord
from inkwright_draftforge.repository_store import open_manuscript
from inkwright_draftforge.stats_jobs import JOB, bring_stats_up_to, queue_stats

from app.extensions import db
from app.runtime import current_state

BASE = "/api/draftforge/projects"


def stats_row(app, project_id: str) -> ProjectStatsRecord:
    with app.app_context():
        row = db.session.query(ProjectStatsRecord).filter_by(project_id=uuid.UUID(project_id)).one()
        db.session.expunge(row)
        return row


def stats_jobs_queued(app) -> list[str]:
    with app.app_context():
        queue = current_state().queue()
        return [job_id for job_id in queue.get_job_ids() if queue.fetch_job(job_id).func_name == JOB]


def test_a_save_queues_one_job_per_commit_which_brings_the_row_to_it(app, api_client, user, make_project, run_jobs):
    project_id = make_project(user, {"chapters/01-one.md": "# One\n\nAlpha beta.\n"})
    saved = api_client.put(f"{BASE}/{project_id}/chapters/01-one.md", json={"text": "# One\n\nAlpha beta gamma.\n"})
    assert saved.status_code == 200, saved.json
    sha = saved.json["data"]["sha"]
    with app.app_context():
        project = db.session.get(Project, uuid.UUID(project_id))
        queue_stats(project, sha)  # the same commit again (a retried request): still one job
    assert stats_jobs_queued(app) == [f"draftforge-stats-{project_id}-{sha}"]
    assert stats_row(app, project_id).last_commit_sha != sha

    run_jobs()
    row = stats_row(app, project_id)
    assert (row.last_commit_sha, row.word_count, row.chapter_count) == (sha, 4, 1)


def test_the_job_skips_a_project_that_is_gone(app, api_client, user, make_project):
    project_id = make_project(user, {"chapters/01-one.md": "# One\n\nAlpha beta.\n"})
    with app.app_context():
        head = open_manuscript(db.session.get(Project, uuid.UUID(project_id))).head()
    assert api_client.delete(f"{BASE}/{project_id}").status_code == 200  # to the trash before its job ran
    with app.app_context():
        assert bring_stats_up_to(str(user.tenant_id), project_id, head) is None
        assert bring_stats_up_to(str(user.tenant_id), str(uuid.uuid4()), head) is None
    assert stats_row(app, project_id).last_commit_sha != head


def test_with_redis_away_the_save_is_counted_in_the_request(make_app, app, user, make_project):
    project_id = make_project(user, {"chapters/01-one.md": "# One\n\nAlpha beta.\n"})
    # Nothing listens on port 9 (discard): every Redis command fails to connect, as in an outage.
    no_redis = make_app(REDIS_URL="redis://127.0.0.1:9/0")
    with no_redis.app_context():
        project = db.session.get(Project, uuid.UUID(project_id))
        head = open_manuscript(project).head()
        queue_stats(project, head)
    row = stats_row(app, project_id)
    assert (row.last_commit_sha, row.word_count) == (head, 3)
