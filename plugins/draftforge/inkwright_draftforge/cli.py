"""``flask inkwright draftforge stats rebuild``: recount projects' statistics from their git history."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from app.toolkit import repositories

from .repositories import ProjectRepository
from .stats_service import rebuild_stats


@click.group("draftforge")
def draftforge_group() -> None:
    """DraftForge: projects with git manuscripts."""


@draftforge_group.group("stats")
def stats_group() -> None:
    """Projects' writing statistics."""


@stats_group.command("rebuild")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant (slug) of the projects.")
@click.option("--project", "project_id", default=None, help="One project's id (default: every project).")
@with_appcontext
def rebuild_command(tenant_slug: str, project_id: str | None) -> None:
    """Replay each project's git log into its stats row (words, chapters, streaks, history)."""
    tenants = repositories().tenants
    tenant = tenants.first(tenants.model.slug == tenant_slug)
    if tenant is None:
        raise click.ClickException(f"No tenant with the slug {tenant_slug!r}.")
    repos = repositories(tenant.id)
    projects = repos.get(ProjectRepository)
    chosen = [projects.get(project_id)] if project_id else projects.list()
    if project_id and chosen[0] is None:
        raise click.ClickException(f"No project {project_id} in {tenant_slug}.")
    for project in chosen:
        row = rebuild_stats(project, repos=repos)
        click.echo(f"{project.slug}: {row.word_count} words in {row.chapter_count} chapters, "
                   f"{row.total_commits} commits, longest streak {row.longest_streak_days} days")
