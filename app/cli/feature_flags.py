"""``flask inkwright flags``: list feature flags; ``flags set KEY …`` makes or changes one;
``flags delete KEY`` removes it."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from rich.console import Console
from rich.table import Table

from ..errors import AppError
from ..feature_flags import FeatureFlags
from ..models import SubscriptionTier
from ..runtime import current_state, repositories


def _flags() -> FeatureFlags:
    return FeatureFlags(repositories(), current_state().cache)


@click.group("flags", invoke_without_command=True)
@click.pass_context
@with_appcontext
def flags_group(context: click.Context) -> None:
    """List the feature flags."""
    if context.invoked_subcommand is not None:
        return
    table = Table(title="Feature flags")
    for column in ("key", "name", "on", "rollout", "people", "tiers"):
        table.add_column(column)
    for flag in _flags().repos.feature_flags.all():
        table.add_row(flag.flag_key, flag.name, "yes" if flag.is_enabled else "no", f"{flag.rollout_percentage} %",
                      str(len(flag.rollout_user_ids or [])), ", ".join(flag.rollout_tiers or []) or "—")
    Console(width=160).print(table)


@flags_group.command("set")
@click.argument("key")
@click.option("--name", help="What the flag is called (the key by default).")
@click.option("--description")
@click.option("--enable/--disable", "enabled", default=None, help="Turn the flag on or off for everyone.")
@click.option("--percentage", type=int, help="Share of people, 0-100, it is on for (stable as it grows).")
@click.option("--user", "emails", multiple=True, help="An account it is on for (repeatable; replaces the list).")
@click.option("--tier", "tiers", multiple=True, type=click.Choice([tier.value for tier in SubscriptionTier]),
              help="A subscription tier it is on for (repeatable; replaces the list).")
@with_appcontext
def set_flag(key: str, name: str | None, description: str | None, enabled: bool | None, percentage: int | None,
             emails: tuple[str, ...], tiers: tuple[str, ...]) -> None:
    """Make flag KEY, or change it."""
    flags = _flags()
    user_ids = None
    if emails:
        user_ids = []
        for email in emails:
            user = flags.repos.users.find_by_email(email)
            if user is None:
                raise click.ClickException(f"No account uses {email}.")
            user_ids.append(str(user.id))
    values = {"name": name, "description": description, "is_enabled": enabled, "rollout_percentage": percentage,
              "rollout_user_ids": user_ids, "rollout_tiers": list(tiers) if tiers else None}
    try:
        if flags.repos.feature_flags.by_key(key) is None:
            flag = flags.create({"flag_key": key, **{k: v for k, v in values.items() if v is not None}})
        else:
            flag = flags.update(key, values)
    except AppError as error:
        fields = error.details.get("fields") or {}
        raise click.ClickException(" ".join([error.message, *(f"{f}: {' '.join(m)}" for f, m in fields.items())]))
    click.echo(f"Flag {flag.flag_key}: {'on' if flag.is_enabled else 'off'}, {flag.rollout_percentage} %, "
               f"{len(flag.rollout_user_ids)} named people, tiers {', '.join(flag.rollout_tiers) or 'none'}.")


@flags_group.command("delete")
@click.argument("key")
@with_appcontext
def delete_flag(key: str) -> None:
    """Remove flag KEY (code asking for it gets its default again)."""
    try:
        _flags().delete(key)
    except AppError as error:
        raise click.ClickException(error.message)
    click.echo(f"Flag {key} deleted.")


COMMANDS = (flags_group,)
