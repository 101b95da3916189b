"""``flask inkwright schedules``: every recurring job, when it last ran and when it runs next;
``flask inkwright schedules run NAME`` queues one now."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from rich.console import Console
from rich.table import Table

from ..cron import ScheduleRunner
from ..queue import enqueue
from ..runtime import current_state
from ..schedules import all_schedules


def _runner() -> ScheduleRunner:
    state = current_state()
    return ScheduleRunner(state.redis.client(), all_schedules(state.registry), state.queue_name, state.clock,
                          name="cli")


@click.group("schedules", invoke_without_command=True)
@click.pass_context
@with_appcontext
def schedules_group(context: click.Context) -> None:
    """List the schedules (the core's and the plugins'), their last and next runs."""
    if context.invoked_subcommand is not None:
        return
    runner = _runner()
    table = Table(title="Schedules (run by workers started --with-cron; times in UTC)")
    for column in ("name", "when", "job", "last run", "next run", "about"):
        table.add_column(column)
    for entry in runner.states():
        schedule = entry.schedule
        table.add_row(schedule.name, schedule.when, schedule.job,
                      entry.last_run.strftime("%Y-%m-%d %H:%M:%S") if entry.last_run else "never",
                      entry.next_run.strftime("%Y-%m-%d %H:%M:%S"), schedule.description)
    Console(width=160).print(table)
    leader = ScheduleRunner.leader(runner.connection)
    click.echo(f"Leading runner: {leader}" if leader else "No runner leads right now (start a worker --with-cron).")


@schedules_group.command("run")
@click.argument("name")
@with_appcontext
def run_now(name: str) -> None:
    """Queue schedule NAME's job now, outside its time (its next run is unchanged)."""
    runner = _runner()
    schedule = runner.schedules.get(name)
    if schedule is None:
        raise click.UsageError(f"No schedule {name!r}; `flask inkwright schedules` lists them.")
    job = enqueue(current_state().queue(), schedule.job, job_timeout=schedule.timeout)
    click.echo(f"Queued {schedule.job} as job {job.id}.")


COMMANDS = (schedules_group,)
