"""``flask inkwright agents list|run|show|cancel``: review agents from the command line.

``run`` queues a run for the workers, as the API does; with ``--now`` it makes the run's try
in this process instead (no worker needed: a demo, or a machine with none running).
"""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from rich.console import Console
from rich.table import Table

from ..agent_runs.execution import AgentRunTry
from ..agent_runs.service import AgentRunService
from ..agent_runs.subjects import RUN_KIND, subject_kinds
from ..auth.principal import Principal, set_principal
from ..errors import AppError
from ..models import Role
from ..runtime import current_state, repositories


def _tenant(slug: str):
    tenants = repositories().tenants
    tenant = tenants.first(tenants.model.slug == slug)
    if tenant is None:
        raise click.ClickException(f"No tenant with the slug {slug!r}.")
    return tenant


def _service(tenant_slug: str, email: str | None) -> AgentRunService:
    tenant = _tenant(tenant_slug)
    repos = repositories(tenant.id)
    user = repos.users.find_by_email(email) if email else None
    role = repos.tenants.role_of(user.id, tenant.id) if user else Role.OWNER
    if email and (user is None or role is None):
        raise click.ClickException(f"{email} is not a member of {tenant_slug}.")
    principal = Principal(user, tenant.id, role, "cli") if user else None
    set_principal(principal)
    return AgentRunService(repos, current_state(), principal)


def _failed(error: AppError) -> click.ClickException:
    fields = error.details.get("fields") or ""
    return click.ClickException(f"{error.code}: {error.message} {json.dumps(fields) if fields else ''}".strip())


@click.group("agents")
def agents_group() -> None:
    """Review agents: list them, run one over a subject, show or cancel a run."""


@agents_group.command("list")
@with_appcontext
def list_agents() -> None:
    """The installed agents and the kinds of subject they review."""
    registry = current_state().registry
    table = Table(title="Review agents")
    for column in ("name", "version", "categories", "about"):
        table.add_column(column)
    for name, agent in sorted(registry.agents.items()):
        table.add_row(name, agent.version, ", ".join(agent.categories), agent.description)
    Console(width=160).print(table)
    click.echo("Subject kinds: " + ", ".join(sorted(subject_kinds(registry))))


@agents_group.command("run")
@click.argument("agent")
@click.option("--subject", "subject_id", required=True, help="The subject's id (a project's, a run's).")
@click.option("--kind", "subject_kind", default=RUN_KIND, show_default=True, help="The subject's kind.")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant (slug) of the subject.")
@click.option("--as", "email", default=None, help="The member the run is for and who pays (default: the owner "
                                                    "of the subject).")
@click.option("--priority", default=5, show_default=True, type=int, help="1 (low) to 10 (urgent).")
@click.option("--model", default=None, help="provider:model for the agent's calls.")
@click.option("--now", is_flag=True, help="Make the try in this process instead of queueing it for a worker.")
@with_appcontext
def run_agent(agent: str, subject_id: str, subject_kind: str, tenant_slug: str, email: str | None, priority: int,
              model: str | None, now: bool) -> None:
    """Run AGENT over a subject."""
    service = _service(tenant_slug, email)
    try:
        run = service.start(subject_kind=subject_kind, subject_id=subject_id, agent_type=agent, priority=priority,
                            model=model)
    except AppError as error:
        raise _failed(error) from error
    click.echo(f"Agent run {run.id} ({agent}, priority {run.priority}): {run.status.value}")
    if now:
        status = AgentRunTry(service.repos, service.state).run(run.id)
        _show(service.get(run.id))
        if status != "completed":
            raise SystemExit(1)


@agents_group.command("show")
@click.argument("run_id")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant (slug) of the run.")
@with_appcontext
def show_run(run_id: str, tenant_slug: str) -> None:
    """A run's status, summary and findings."""
    service = _service(tenant_slug, None)
    try:
        _show(service.get(run_id))
    except AppError as error:
        raise _failed(error) from error


@agents_group.command("cancel")
@click.argument("run_id")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant (slug) of the run.")
@with_appcontext
def cancel_run(run_id: str, tenant_slug: str) -> None:
    """Cancel a queued or running run."""
    service = _service(tenant_slug, None)
    try:
        run = service.cancel(run_id)
    except AppError as error:
        raise _failed(error) from error
    click.echo(f"Agent run {run.id}: {run.status.value}")


def _show(run) -> None:
    click.echo(f"Agent run {run.id}: {run.agent_type} over {run.subject_kind} {run.project_id}")
    click.echo(f"Status: {run.status.value}" + (f" ({run.error_code}: {run.error_message})" if run.error_code
                                                 and run.status.value != "completed" else ""))
    if run.summary:
        click.echo(run.summary)
    issues = (run.results or {}).get("issues") or []
    if issues:
        table = Table()
        for column in ("id", "severity", "file", "line", "message"):
            table.add_column(column)
        for issue in issues:
            table.add_row(issue["id"], issue["severity"], issue.get("file") or "", str(issue.get("line") or ""),
                          issue["message"])
        Console(width=160).print(table)


COMMANDS = (agents_group,)
