"""What this Inkwright is made of: its configuration and its plugins."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from rich.console import Console
from rich.table import Column, Table

from ..config import shown_value
from ..runtime import current_state


@click.command("config")
@with_appcontext
def show_config() -> None:
    """Show every setting, where its value came from, and what it does (secrets masked)."""
    state = current_state()
    # Values fold rather than end in "…": an operator must be able to read a whole URL.
    table = Table(Column("key", no_wrap=True), Column("value", overflow="fold"), "from", "what it does",
                  title="Inkwright configuration")
    for setting in state.settings:
        value = current_app.config.get(setting.key)
        table.add_row(setting.key, shown_value(setting, value), state.config.sources.get(setting.key, "default"),
                      setting.doc)
    Console(width=160).print(table)


@click.command("plugins")
@click.option("--verbose", is_flag=True, help="Show the traceback of each failure.")
@with_appcontext
def show_plugins(verbose: bool) -> None:
    """List every Inkwright entry point found, its version, and whether it loaded."""
    registry = current_state().registry
    table = Table("group", Column("name", overflow="fold"), Column("distribution", overflow="fold"), "version",
                  "status", "reason", title="Inkwright plugins")
    for entry in registry.entries:
        table.add_row(entry.group, entry.name, entry.distribution or "?", entry.version or "?", entry.status,
                      entry.error or "")
    console = Console(width=160)
    console.print(table)
    if not registry.entries:
        console.print("No Inkwright plugins are installed.")
    crossing = [(name, repository) for name, plugin in registry.plugins.items() for repository in plugin.system_scope]
    if crossing:
        # What a plugin may read or write across tenants, for the operator to review.
        scope = Table("plugin", "repository", Column("why it may cross tenants", overflow="fold"),
                      title="Plugins' system scope")
        for name, repository in crossing:
            scope.add_row(name, f"{repository.__module__}.{repository.__qualname__}",
                          " ".join((repository.__doc__ or "").split()))
        console.print(scope)
    if verbose:
        for entry in registry.failures:
            console.print(f"[bold]{entry.group} {entry.name}[/bold]\n{entry.detail or entry.error}")


COMMANDS = (show_config, show_plugins)
