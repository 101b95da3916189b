"""``flask inkwright draftforge stats rebuild`` (inkwright_draftforge/cli.py): the stats row
recounted from the git history equals the one the saves kept up to date."""

from __future__ import annotations

import uuid

from inkwright_draftforge.manuscript_values import Author, Put
from inkwright_draftforge.models import Project, ProjectStatsRecord
from inkwright_draftforge.repository_store import open_manuscript
from inkwright_draftforge.stats_service import record_commit

from app.extensions import db
from app.runtime import repositories

FIELDS = ("word_count", "chapter_count", "character_count", "last_commit_sha", "total_commits",
          "longest_streak_days", "stats_history", "file_counts")


def stats_of(app, project_id) -> dict:
    with app.app_context():
        row = db.session.query(ProjectStatsRecord).filter_by(project_id=uuid.UUID(project_id)).one()
        return {field: getattr(row, field) for field in FIELDS}


def test_rebuild_replays_the_history_into_the_same_stats_the_saves_kept(app, user, make_project):
    project_id = make_project(user)
    with app.app_context():
        repos = repositories(user.tenant_id)
        project = db.session.get(Project, uuid.UUID(project_id))
        manuscript = open_manuscript(project)
        for number, text in enumerate(["One two three.", "Four five.", "Six."], start=1):
            sha = manuscript.commit_changes([Put(f"chapters/0{number}-part.md", f"# Part {number}\n\n{text}\n")],
                                            Author("Ada", user.email), f"Part {number}", base=manuscript.head())
            record_commit(project, sha, repos=repos)
        tenant = repos.tenants.require(user.tenant_id).slug
    kept = stats_of(app, project_id)
    with app.app_context():  # the row drifts (a lost update, a hand edit)
        db.session.query(ProjectStatsRecord).filter_by(project_id=uuid.UUID(project_id)).update(
            {"word_count": 1, "total_commits": 99})
        db.session.commit()

    result = app.test_cli_runner().invoke(args=["inkwright", "draftforge", "stats", "rebuild", "--tenant", tenant])

    assert result.exit_code == 0, result.output
    assert "the-lighthouse:" in result.output
    assert stats_of(app, project_id) == kept
    assert kept["chapter_count"] == 3 and kept["total_commits"] == 4  # the project's first commit, then three


def test_rebuild_refuses_an_unknown_tenant_or_project(app, user, make_project):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["inkwright", "draftforge", "stats", "rebuild", "--tenant", "nobody"]).exit_code != 0
    with app.app_context():
        tenant = repositories(user.tenant_id).tenants.require(user.tenant_id).slug
    refused = runner.invoke(args=["inkwright", "draftforge", "stats", "rebuild", "--tenant", tenant,
                                  "--project", str(uuid.uuid4())])
    assert refused.exit_code != 0 and "No project" in refused.output
