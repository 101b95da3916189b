"""People and their access: platform administrators, the outbox, session clean-up."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from rich.console import Console
from rich.table import Table

from .. import audit
from ..jobs import purge_expired_sessions
from ..models import OutboxMessage
from ..retention import USER_RECOVERY
from ..runtime import repositories

#: What the audit log says of an operator's command: no person signed in, the command line.
CLI_ACTOR = {"via": "cli"}


def _set_admin(email: str, value: bool) -> None:
    repos = repositories()
    user = repos.users.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No account uses {email}.")
    with repos.transaction():
        before = user.is_platform_admin
        user.is_platform_admin = value
        repos.users.save(user)
        audit.record(repos, "user.platform_admin", "user", user.id, actor_id=None, tenant_id=None,
                     changes=audit.changed({"is_platform_admin": before}, {"is_platform_admin": value}),
                     metadata=CLI_ACTOR)


@click.command("grant-admin")
@click.argument("email")
@with_appcontext
def grant_admin(email: str) -> None:
    """Make an account a platform administrator (the RQ dashboard, system metrics)."""
    _set_admin(email, True)
    click.echo(f"{email} is now a platform administrator.")


@click.command("revoke-admin")
@click.argument("email")
@with_appcontext
def revoke_admin(email: str) -> None:
    """Take platform administration away from an account."""
    _set_admin(email, False)
    click.echo(f"{email} is no longer a platform administrator.")


@click.command("outbox")
@click.option("--limit", default=10, show_default=True, help="How many messages to show.")
@click.option("--body/--no-body", default=True, help="Show message bodies.")
@with_appcontext
def show_outbox(limit: int, body: bool) -> None:
    """Show the newest mail Inkwright wrote (reset links, in a studio with no mail server)."""
    messages = repositories().outbox.list(order_by=[OutboxMessage.created_at.desc()], limit=limit)
    console = Console(width=160)
    table = Table("when", "to", "kind", "subject", title="Outbox")
    for message in messages:
        table.add_row(message.created_at.isoformat(timespec="seconds"), message.to_address, message.kind,
                      message.subject)
    console.print(table)
    if body:
        for message in messages:
            console.print(f"\n[bold]{message.subject}[/bold] → {message.to_address}\n{message.body}")


@click.command("purge-sessions")
@with_appcontext
def purge_sessions() -> None:
    """Delete API sessions whose refresh token has expired."""
    click.echo(f"Removed {purge_expired_sessions()} expired sessions.")


@click.command("delete-user")
@click.argument("email")
@with_appcontext
def delete_user(email: str) -> None:
    """Soft-delete an account: it cannot sign in, and is removed for good after 30 days
    (the retention purge) unless restored before."""
    repos = repositories()
    user = repos.users.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No account uses {email}.")
    with repos.transaction():
        repos.users.delete(user)
        audit.record(repos, "user.delete", "user", user.id, actor_id=None, tenant_id=None, metadata=CLI_ACTOR)
    click.echo(f"{email} is deleted; `flask inkwright restore-user {email}` brings it back within "
               f"{USER_RECOVERY.days} days.")


@click.command("restore-user")
@click.argument("email")
@with_appcontext
def restore_user(email: str) -> None:
    """Bring back an account deleted less than 30 days ago, as it was."""
    repos = repositories()
    user = repos.users.deleted_by_email(email)
    if user is None:
        raise click.ClickException(f"No deleted account uses {email} (past 30 days it is gone for good).")
    with repos.transaction():
        repos.users.restore(user)
        audit.record(repos, "user.restore", "user", user.id, actor_id=None, tenant_id=None, metadata=CLI_ACTOR)
    click.echo(f"{email} is restored.")


COMMANDS = (grant_admin, revoke_admin, show_outbox, purge_sessions, delete_user, restore_user)
