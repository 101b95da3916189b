"""Where migrations live, and how plugins' histories join the core's.

The core's history is in the top-level ``migrations/`` folder (branch label ``core``).
Each plugin that carries migrations declares their folder on its plugin object; that
folder is one more Alembic *version location* and its first revision starts a branch of
its own (``down_revision = None``, ``branch_labels = ("<plugin name>",)``). All branches
share one ``alembic_version`` table, and ``upgrade("heads")`` applies every branch.
Nothing is found by searching the disk: only enabled plugins' declared folders count.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app

from .extensions import db, migrate
from .runtime import current_state

MIGRATIONS_DIRECTORY = Path(__file__).resolve().parent.parent / "migrations"
CORE_VERSIONS = MIGRATIONS_DIRECTORY / "versions"
CORE_BRANCH = "core"


def version_locations() -> list[Path]:
    """The core's versions folder followed by each enabled plugin's."""
    plugin_folders = [folder for _name, folder in current_state().registry.migration_locations()]
    return [CORE_VERSIONS, *plugin_folders]


@migrate.configure
def add_plugin_version_locations(config: Config) -> Config:
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_locations()))
    return config


class MigrationError(RuntimeError):
    """The database's migration state cannot be reconciled with the enabled plugins."""


def alembic_config() -> Config:
    """Alembic's configuration for this app, with every enabled plugin's versions folder."""
    return current_app.extensions["migrate"].migrate.get_config(str(MIGRATIONS_DIRECTORY))


def unknown_revisions(config: Config) -> list[str]:
    """Revisions recorded in the database that no enabled plugin (nor the core) provides."""
    script = ScriptDirectory.from_config(config)
    with db.engine.connect() as connection:
        recorded = MigrationContext.configure(connection).get_current_heads()
    unknown = []
    for revision in recorded:
        try:
            script.get_revision(revision)
        except CommandError:
            unknown.append(revision)
    return unknown


def upgrade_all() -> None:
    """Bring the database to the head of every branch: the core's and each plugin's.

    Alembic itself is called (not Flask-Migrate's command wrapper, which exits the process
    on an error), so failures reach the caller as exceptions.

    :raises MigrationError: when the database was migrated by a plugin now disabled or
        uninstalled; Alembic cannot place the other branches without that plugin's scripts.
    """
    config = alembic_config()
    unknown = unknown_revisions(config)
    if unknown:
        raise MigrationError(
            f"The database carries migration revision(s) {', '.join(unknown)} that no enabled plugin "
            "provides. Re-enable (or reinstall) the plugin that owns them — `flask inkwright plugins` "
            "lists what is installed — or downgrade its branch before removing it."
        )
    command.upgrade(config, "heads")
