"""People's AI credits from the command line: show a balance, grant bonus tokens, set a tier."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from rich.console import Console
from rich.table import Table

from .. import audit
from ..models import CreditAccount, SubscriptionPeriod, SubscriptionStatus, SubscriptionTier, User
from ..runtime import repositories
from .accounts import CLI_ACTOR

#: A grant larger than this is a typo, and the column is a 32-bit integer on PostgreSQL.
MAX_GRANT = 1_000_000_000


def _user(email: str) -> User:
    user = repositories().users.find_by_email(email)
    if user is None:
        raise click.ClickException(f"No account uses {email}.")
    return user


def _print_account(email: str, account: CreditAccount) -> None:
    remaining = account.credits_remaining
    limit = account.tokens_limit_per_period
    table = Table("", "", title=f"Credits of {email}", show_header=False)
    for name, value in (
        ("tier", account.subscription_tier.value),
        ("status", account.subscription_status.value),
        ("period", f"{account.current_period_start:%Y-%m-%d %H:%M} → {account.current_period_end:%Y-%m-%d %H:%M} UTC "
                   f"({account.subscription_period.value})"),
        ("limit", "unlimited" if limit is None else f"{limit:,}"),
        ("used this period", f"{account.tokens_used_this_period:,}"),
        ("reserved", f"{account.tokens_reserved:,}"),
        ("bonus", f"{account.credits_bonus:,}"),
        ("remaining", "unlimited" if remaining is None else f"{max(remaining, 0):,}"),
        ("total used", f"{account.tokens_used_total:,}"),
    ):
        table.add_row(name, value)
    Console(width=120).print(table)


@click.group("credits")
def credits_group() -> None:
    """Show and change people's AI credits (tokens per period, bonus, tier)."""


@credits_group.command("show")
@click.argument("email")
@with_appcontext
def show_credits(email: str) -> None:
    """Show an account's tier and balance."""
    repos = repositories()
    user = _user(email)
    with repos.transaction():  # the first look opens the account
        account = repos.credit_accounts.account_for(user.id)
        _print_account(user.email, account)


@credits_group.command("grant")
@click.argument("email")
@click.argument("tokens", type=click.IntRange(min=1, max=MAX_GRANT))
@with_appcontext
def grant_credits(email: str, tokens: int) -> None:
    """Give an account bonus TOKENS, spent after its period's allowance and never reset."""
    repos = repositories()
    user = _user(email)
    with repos.transaction():
        account = repos.credit_accounts.grant_bonus(user.id, tokens)
        bonus = account.credits_bonus
        audit.record(repos, "credits.grant", "user", user.id, actor_id=None, tenant_id=None,
                     changes=audit.changed({"credits_bonus": bonus - tokens}, {"credits_bonus": bonus}),
                     metadata=CLI_ACTOR)
    click.echo(f"Granted {tokens:,} bonus tokens to {user.email}; bonus is now {bonus:,}.")


@credits_group.command("tier")
@click.argument("email")
@click.argument("tier", type=click.Choice([tier.value for tier in SubscriptionTier]))
@with_appcontext
def set_tier(email: str, tier: str) -> None:
    """Move an account to a TIER; its limit per period becomes the tier's."""
    repos = repositories()
    user = _user(email)
    with repos.transaction():
        before = repos.credit_accounts.account_for(user.id).subscription_tier.value
        account = repos.credit_accounts.set_tier(user.id, tier)
        limit = account.tokens_limit_per_period
        audit.record(repos, "credits.tier", "user", user.id, actor_id=None, tenant_id=None,
                     changes=audit.changed({"subscription_tier": before}, {"subscription_tier": tier}),
                     metadata=CLI_ACTOR)
    shown = "unlimited tokens" if limit is None else f"{limit:,} tokens"
    click.echo(f"{user.email} is now on the {tier} tier: {shown} per period.")


@credits_group.command("subscription")
@click.argument("email")
@click.option("--status", type=click.Choice([status.value for status in SubscriptionStatus]),
              help="active, or canceled / expired / paused: no platform credits are spent then.")
@click.option("--period", type=click.Choice([period.value for period in SubscriptionPeriod]),
              help="A new period starts now; an annual one has twelve months' allowance.")
@with_appcontext
def set_subscription(email: str, status: str | None, period: str | None) -> None:
    """Change an account's subscription STATUS or billing PERIOD."""
    if status is None and period is None:
        raise click.UsageError("Give --status, --period or both.")
    repos = repositories()
    user = _user(email)
    with repos.transaction():
        current = repos.credit_accounts.account_for(user.id)
        before = {"subscription_status": current.subscription_status.value,
                  "subscription_period": current.subscription_period.value}
        account = repos.credit_accounts.set_subscription(user.id, status=status, period=period)
        audit.record(repos, "credits.subscription", "user", user.id, actor_id=None, tenant_id=None,
                     changes=audit.changed(before, {"subscription_status": account.subscription_status.value,
                                                    "subscription_period": account.subscription_period.value}),
                     metadata=CLI_ACTOR)
        shown = (account.subscription_status.value, account.subscription_period.value, account.tokens_limit_per_period)
    limit = "unlimited" if shown[2] is None else f"{shown[2]:,} tokens"
    click.echo(f"{user.email}: subscription {shown[0]}, {shown[1]} periods of {limit}.")


COMMANDS = (credits_group,)
