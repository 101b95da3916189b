"""``flask inkwright …``: the operator's commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from . import (
    accounts,
    agents,
    credits,
    database,
    feature_flags,
    inspection,
    schedules,
    secrets,
    studio,
    tenants,
    workflows,
)


def register_cli(app: Flask) -> None:
    group = AppGroup("inkwright", help="Operate Inkwright: config, plugins, database, users, studio, worker.")
    for module in (inspection, database, accounts, tenants, credits, secrets, studio, workflows, schedules, agents,
                   feature_flags):
        for command in module.COMMANDS:
            group.add_command(command)
    app.cli.add_command(group)


__all__ = ["register_cli", "click"]
