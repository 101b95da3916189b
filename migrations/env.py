"""Alembic environment of Inkwright: the core's history and every enabled plugin's.

Only tables the core or an enabled plugin owns are considered, so a model module that
happens to be imported (a disabled plugin's, a test's) never leaks into a migration.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

from app.models.base import UTCDateTime
from app.runtime import current_state

config = context.config
# Keep the app's own loggers alive: fileConfig disables existing loggers by default.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option(
    "sqlalchemy.url", target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def owned_tables() -> set[str]:
    core = {
        mapper.local_table.name
        for mapper in target_db.Model.registry.mappers
        if mapper.class_.__module__.startswith("app.models.")
    }
    return core | set(current_state().registry.owned_tables())


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table":
        return name in OWNED or name == "alembic_version"
    table = getattr(obj, "table", None)
    return table is None or table.name in OWNED


def render_item(type_, obj, autogen_context):
    # UTCDateTime is a TypeDecorator of our own; migrations spell out what it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


OWNED = owned_tables()


def process_revision_directives(context_, revision, directives):
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def configure_args() -> dict:
    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("process_revision_directives", process_revision_directives)
    args.update(target_metadata=target_db.metadata, include_object=include_object, render_item=render_item,
                compare_type=True, compare_server_default=False)
    return args


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **configure_args())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    with target_db.engine.connect() as connection:
        context.configure(connection=connection, **configure_args())
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
