"""The trash emptied (inkwright_draftforge/trash.py): a project deleted more than 30 days ago
goes for good with its stats, agent runs and git repository; the usage rows of its runs stay;
projects still inside their recovery window, and live ones, are untouched."""

from __future__ import annotations

import shutil
import uuid

from inkwright_draftforge.models import Project, ProjectStatsRecord
from inkwright_draftforge.repository_store import repository_path
from inkwright_draftforge.trash import purge_trash

from app.extensions import db
from app.models import AgentRun, UsageLogEntry
from app.runtime import current_state
from app.schedules import all_schedules

BASE = "/api/draftforge/projects"
DAY = 24 * 3600


def rows(app, model, *criteria) -> list:
    with app.app_context():
        found = db.session.query(model).filter(*criteria).all()
        db.session.expunge_all()
        return found


def folder_of(app, project_id: str):
    with app.app_context():
        return repository_path(db.session.get(Project, uuid.UUID(project_id)))


def test_the_plugin_declares_its_daily_schedule(app):
    schedule = {s.name: s for s in all_schedules(current_state(app).registry)}["draftforge.trash-purge"]
    assert (schedule.job, schedule.cron) == ("inkwright_draftforge.trash.purge_trash", "40 3 * * *")


def test_a_project_in_the_trash_past_30_days_goes_with_what_it_owns(app, api_client, user, make_project, clock,
                                                                    run_jobs):
    old = make_project(user, {"chapters/01-one.md": "# One\n\nShe came home.\n"}, name="Old", slug="old")
    recent = make_project(user, {"chapters/01-one.md": "# One\n\nText.\n"}, name="Recent", slug="recent")
    live = make_project(user, {"chapters/01-one.md": "# One\n\nText.\n"}, name="Live", slug="live")
    started = api_client.post("/api/agent-runs", json={"subjectKind": "draftforge.project", "subjectId": old,
                                                        "agentType": "style"})
    assert started.status_code == 202, started.json
    run_jobs()
    run_id = uuid.UUID(started.json["data"]["id"])
    metered = rows(app, UsageLogEntry, UsageLogEntry.agent_run_id == run_id)
    assert metered, "the review's model calls are metered"
    old_folder, recent_folder = folder_of(app, old), folder_of(app, recent)

    assert api_client.delete(f"{BASE}/{old}").status_code == 200
    clock.advance(20 * DAY)
    assert api_client.delete(f"{BASE}/{recent}").status_code == 200
    with app.app_context():
        assert purge_trash() == 0, "20 days in the trash is inside the window"
    clock.advance(10 * DAY + 60)  # the old one: 30 days and a minute

    with app.app_context():
        assert purge_trash() == 1
        assert purge_trash() == 0, "nothing left that is due"

    assert sorted(p.slug for p in rows(app, Project)) == ["live", "recent"]
    assert not rows(app, ProjectStatsRecord, ProjectStatsRecord.project_id == uuid.UUID(old))
    assert not rows(app, AgentRun, AgentRun.project_id == uuid.UUID(old))
    assert not old_folder.exists() and recent_folder.exists() and folder_of(app, live).exists()
    # The bill keeps every call, no longer tied to the run or the project that are gone.
    kept = rows(app, UsageLogEntry, UsageLogEntry.id.in_([row.id for row in metered]))
    assert len(kept) == len(metered) and {(r.agent_run_id, r.project_id) for r in kept} == {(None, None)}

    assert api_client.post(f"{BASE}/{old}/restore").status_code == 404
    assert api_client.post(f"{BASE}/{recent}/restore").status_code == 200, "still inside its window"
    assert api_client.get(f"{BASE}/{recent}/chapters/01-one.md").status_code == 200


def test_a_repository_already_gone_from_disk_does_not_stop_the_purge(app, api_client, user, make_project, clock):
    project_id = make_project(user, {"chapters/01-one.md": "# One\n\nText.\n"})
    folder = folder_of(app, project_id)
    assert api_client.delete(f"{BASE}/{project_id}").status_code == 200
    clock.advance(31 * DAY)
    shutil.rmtree(folder)
    with app.app_context():
        assert purge_trash() == 1
    assert not rows(app, Project, Project.id == uuid.UUID(project_id))
