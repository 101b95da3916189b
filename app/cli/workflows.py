"""Workflows and runs from the command line: validate, list, run (with a live progress bar),
and reconcile."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..auth.principal import Principal, set_principal
from ..engine.reconciler import Reconciler
from ..engine.service import RunService
from ..errors import AppError
from ..models import Role
from ..runtime import current_state, repositories
from ..statuses import RunStatus
from ..workflows.inputs import parse_cli_value
from ..workflows.loader import parse_workflow


@click.group("workflows")
def workflows_group() -> None:
    """Validate and list workflows."""


@workflows_group.command("validate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def validate_workflow(path: Path) -> None:
    """Check a workflow YAML file; print every problem with its line (exit 1 if any)."""
    state = current_state()
    definition, problems = parse_workflow(path.read_text(encoding="utf-8"), state.registry.skills, state.templates,
                                          state.registry.providers, state.registry.agents)
    if problems:
        for problem in problems:
            click.echo(f"{path}:{problem.line or 1}: {problem.path or '(document)'}: {problem.message}", err=True)
        raise SystemExit(1)
    click.echo(f"{path}: {definition.name} {definition.version} is valid ({len(definition.steps)} steps).")


@workflows_group.command("list")
@click.option("--tenant", "tenant_slug", help="Also list this tenant's uploaded workflows (its slug).")
@with_appcontext
def list_workflows(tenant_slug: str | None) -> None:
    """List packaged workflows (and a tenant's uploads)."""
    catalog = current_state().catalog
    table = Table("workflow", "version", "from", "steps", "description", title="Workflows")
    tenant = _tenant(tenant_slug) if tenant_slug else None
    entries = catalog.listing(repositories(tenant.id)) if tenant else \
        [next(iter(reversed(v.values()))) for _, v in sorted(catalog.packaged.items())]
    for entry in entries:
        table.add_row(entry.name, entry.version, entry.origin, str(len(entry.definition.steps)), entry.description)
    Console(width=160).print(table)
    for place, problems in sorted(catalog.problems.items()):
        click.echo(f"left out {place}: " + "; ".join(problems), err=True)


def _tenant(slug: str):
    tenant = repositories().tenants.first(repositories().tenants.model.slug == slug)
    if tenant is None:
        raise click.ClickException(f"No tenant with the slug {slug!r}.")
    return tenant


def _parse_inputs(pairs: tuple[str, ...]) -> dict:
    inputs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{pair!r} is not key=value", param_hint="-i")
        inputs[key.strip()] = parse_cli_value(value)
    return inputs


@click.command("run")
@click.argument("workflow")
@click.option("-i", "--input", "pairs", multiple=True, help="An input as key=value (values read like YAML).")
@click.option("--version", default=None, help="Workflow version (default: newest).")
@click.option("--tenant", "tenant_slug", required=True, help="The tenant (slug) the run belongs to.")
@click.option("--as", "email", default=None, help="The member the run is attributed to (default: an owner).")
@click.option("--wait/--no-wait", default=False, help="Follow the run with a progress bar until it ends.")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to wait with --wait.")
@with_appcontext
def run_workflow(workflow: str, pairs: tuple[str, ...], version: str | None, tenant_slug: str,
                 email: str | None, wait: bool, timeout: float) -> None:
    """Start a run of WORKFLOW in a tenant; with --wait, show its progress live."""
    tenant = _tenant(tenant_slug)
    repos = repositories(tenant.id)
    user = repos.users.find_by_email(email) if email else None
    role = repos.tenants.role_of(user.id, tenant.id) if user else Role.OWNER
    if email and (user is None or role is None):
        raise click.ClickException(f"{email} is not a member of {tenant_slug}.")
    principal = Principal(user, tenant.id, role, "cli")
    set_principal(principal)
    state = current_state()
    service = RunService(repos, state, principal)
    try:
        entry = state.catalog.resolve(repos, workflow, version)
        run, _ = service.start(entry, _parse_inputs(pairs))
    except AppError as error:
        fields = error.details.get("fields") or error.details.get("problems") or ""
        raise click.ClickException(f"{error.message} {fields}".strip()) from error
    click.echo(f"Run {run.id} of {entry.name} {entry.version}: {run.status.value}")
    if wait:
        _follow(repos, run.id, timeout)


def _follow(repos, run_id, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
                  TimeElapsedColumn(), console=Console(stderr=True)) as progress:
        task = progress.add_task("queued", total=1)
        while True:
            run = repos.runs.get(run_id)
            repos.transaction().end_read()
            progress.update(task, total=max(1, run.steps_total), completed=run.steps_done,
                            description=run.status.value)
            if run.status.is_terminal or run.status == RunStatus.PAUSED or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    click.echo(f"Run {run.id}: {run.status.value}" + (f" — {run.pause_reason}" if run.pause_reason else "")
               + (f" — {run.error.get('message')}" if run.error else ""))
    if run.status in (RunStatus.FAILED, RunStatus.CRASHED, RunStatus.CANCELLED):
        sys.exit(1)


@click.command("reconcile")
@with_appcontext
def reconcile_command() -> None:
    """Requeue lost work now: steps of dead workers, jobs Redis lost, runs left hanging."""
    report = Reconciler(current_state(), current_app.config["STEP_STALE_AFTER"]).run()
    for key, value in report.as_dict().items():
        click.echo(f"{key}: {value}")


COMMANDS = (workflows_group, run_workflow, reconcile_command)
