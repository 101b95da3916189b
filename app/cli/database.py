"""The schema: upgrade every branch (core and plugins) in one go."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..migrations import MigrationError, upgrade_all


@click.command("migrate")
@with_appcontext
def migrate_database() -> None:
    """Apply every pending migration of the core and of each enabled plugin."""
    try:
        upgrade_all()
    except MigrationError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("The database is at the head of every migration branch.")


COMMANDS = (migrate_database,)
