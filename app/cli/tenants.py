"""The tenants a person belongs to, from the command line: the slug ``run --tenant`` takes."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from rich.console import Console
from rich.table import Table

from ..repositories.tenants import MembershipLocator
from ..runtime import repositories


@click.command("tenants")
@click.argument("email")
@with_appcontext
def list_tenants(email: str) -> None:
    """The tenants EMAIL belongs to: slug, name and role (the first is their own studio)."""
    user = repositories().users.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No account uses {email}.")
    table = Table("slug", "name", "role", title=f"Tenants of {email}")
    for tenant, role in repositories().get(MembershipLocator).tenants_of(user.id):
        table.add_row(tenant.slug, tenant.name, role.value)
    Console().print(table)


COMMANDS = [list_tenants]
