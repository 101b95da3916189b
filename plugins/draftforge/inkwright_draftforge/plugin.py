"""The DraftForge plugin object: what the package adds to Inkwright."""

from __future__ import annotations

from pathlib import Path

from app.toolkit import EventType, Plugin, Schedule, Setting, parse_int

from .api import api
from .collaborator_api import invitations_api, people_api
from .exports import ProjectExports
from .github_links import GithubLinks
from .github_webhook import github_api
from .models import Collaborator, Project, ProjectStatsRecord
from .repositories import Invitations, VisibleProjects
from .subjects import ProjectSubjects
from .web import pages
from .web_people import invitation_pages

PACKAGE = Path(__file__).resolve().parent


class DraftForgePlugin(Plugin):
    """Writing projects with git manuscripts, their statistics and review agents (seed 003)."""

    name = "draftforge"
    version = "0.1.0"
    models = (Project, ProjectStatsRecord, Collaborator)
    migrations = PACKAGE / "migrations"
    templates = PACKAGE / "templates"
    system_scope = (GithubLinks, Invitations, VisibleProjects)
    settings = (
        Setting("DRAFTFORGE_REPOSITORIES", "", "folder of the projects' bare git repositories "
                "(default: <instance>/draftforge/repositories)"),
        Setting("DRAFTFORGE_INVITATION_TTL", 7 * 24 * 3600, "seconds an invitation to a project stays open",
                parse=parse_int),
        Setting("DRAFTFORGE_COLLABORATOR_LIMITS", "free=5", "collaborators per project (pending and accepted, the "
                "owner not counted) by the owner's tier, as tier=number pairs; a tier not listed has no limit "
                "(seed 003 rule 6)"),
    )

    def api_blueprints(self):
        return [api, people_api, invitations_api, github_api]

    def blueprints(self):
        return [pages, invitation_pages]

    def navigation(self):
        return [("Projects", "draftforge.index")]

    def agent_subjects(self):
        return [ProjectSubjects()]

    def export_sources(self):
        return [ProjectExports()]

    def init_app(self, app):
        from .cli import draftforge_group
        from .git_http import install_git_http

        install_git_http(app)
        # Beside the core's operator commands: `flask inkwright draftforge stats rebuild`.
        operators = app.cli.commands.get("inkwright")
        (operators or app.cli).add_command(draftforge_group)

    def schedules(self):
        return [Schedule("draftforge.scheduled-agents", "inkwright_draftforge.scheduled_agents.queue_scheduled_agents",
                         interval=60, description="queue the agents whose settings say trigger: scheduled, at their "
                                                  "cron moments"),
                Schedule("draftforge.trash-purge", "inkwright_draftforge.trash.purge_trash", cron="40 3 * * *",
                         description="purge the projects deleted more than 30 days ago, with their stats, agent "
                                     "runs and git repositories")]

    def event_types(self):
        return [EventType("project.created", "A DraftForge project was created."),
                EventType("stats.updated", "A project's writing statistics were updated after a save or push.")]
