"""Agents on a schedule (inkwright_draftforge/scheduled_agents.py): queued at their cron
moments by the platform's scheduler, a missed moment once, never twice for one moment."""

from __future__ import annotations

import uuid

from inkwright_draftforge.models import Project
from inkwright_draftforge.scheduled_agents import queue_scheduled_agents

from app.extensions import db
from app.models import AgentRun, AgentTrigger
from app.runtime import current_state
from app.schedules import all_schedules


def scheduled_runs(app, project_id) -> list[AgentRun]:
    with app.app_context():
        rows = db.session.query(AgentRun).filter(AgentRun.project_id == uuid.UUID(project_id),
                                                 AgentRun.trigger == AgentTrigger.SCHEDULED).all()
        db.session.expunge_all()
        return rows


def schedule_style(app, project_id, cron: str) -> None:
    with app.app_context():
        project = db.session.get(Project, uuid.UUID(project_id))
        agents = dict(project.settings["agents"])
        agents["style"] = {**agents["style"], "enabled": True, "trigger": "scheduled", "schedule": cron}
        project.settings = {**project.settings, "agents": agents}
        db.session.commit()


def test_the_plugin_declares_its_schedule(app):
    assert "draftforge.scheduled-agents" in [s.name for s in all_schedules(current_state(app).registry)]


def test_a_scheduled_agent_runs_at_its_moment_once_and_again_at_the_next(app, user, make_project, clock, run_jobs):
    project_id = make_project(user, {"chapters/01-arrival.md": "# Arrival\n\nShe came home.\n"})
    schedule_style(app, project_id, "0 * * * *")  # on the hour
    with app.app_context():
        start = clock.now()
        minutes_to_hour = 60 - start.minute
        assert queue_scheduled_agents() == 0, "no moment since the project was made"
        clock.advance(minutes_to_hour * 60 + 30)
        assert queue_scheduled_agents() == 1
        assert queue_scheduled_agents() == 0, "that moment has its run"
        clock.advance(3 * 3600)  # three moments missed (the workers were down)
        assert queue_scheduled_agents() == 1, "a missed moment runs once, not three times"

    runs = scheduled_runs(app, project_id)
    assert [(r.agent_type, len(r.trigger_ref), r.priority) for r in runs] == [("style", 40, 2)] * 2  # the head
    run_jobs()
    assert {r.status.value for r in scheduled_runs(app, project_id)} == {"completed"}


def test_agents_not_on_a_schedule_or_disabled_are_not_queued(app, user, make_project, clock):
    project_id = make_project(user, {"chapters/01-arrival.md": "# Arrival\n\nText.\n"})
    with app.app_context():
        clock.advance(2 * 3600)
        assert queue_scheduled_agents() == 0  # the defaults run by hand
    schedule_style(app, project_id, "not a cron string")
    with app.app_context():
        assert queue_scheduled_agents() == 0
