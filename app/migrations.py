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

from alembic.config import Config
from flask import current_app
from flask_migrate import upgrade

from .extensions import migrate
from .state import current_state

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


def upgrade_all() -> None:
    """Bring the database to the head of every branch: the core's and each plugin's."""
    with current_app.app_context():
        upgrade(directory=str(MIGRATIONS_DIRECTORY), revision="heads")
