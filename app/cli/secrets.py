"""Secrets at rest from the command line: re-encrypt stored provider keys after a key rotation."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..repositories.webhooks import WebhookSecretRotator
from ..runtime import current_state, repositories


@click.group("secrets")
def secrets_group() -> None:
    """Encryption of stored secrets (provider keys)."""


@secrets_group.command("rotate")
@with_appcontext
def rotate_secrets() -> None:
    """Re-encrypt every stored provider key with the newest key of SECRET_ENCRYPTION_KEYS.

    Put a new key first in SECRET_ENCRYPTION_KEYS (keep the old ones after it), run this,
    then drop the old keys. Exits 1 when a stored key cannot be decrypted with any of them.
    """
    box = current_state().secrets
    repos = repositories()
    with repos.transaction():
        rotated, unreadable = repos.provider_keys.rotate_all(box)
    click.echo(f"Re-encrypted {rotated} provider keys with the newest key.")
    with repos.transaction():
        hooks_rotated, hooks_unreadable = repos.get(WebhookSecretRotator).rotate_all(box)
    click.echo(f"Re-encrypted {hooks_rotated} webhook secrets with the newest key.")
    plugins_unreadable = 0
    for name, plugin in current_state().registry.plugins.items():
        for rotator in (r for r in plugin.system_scope if hasattr(r, "rotate_all")):
            with repos.transaction():
                plugin_rotated, plugin_ids = repos.get(rotator).rotate_all(box)
            click.echo(f"Re-encrypted {plugin_rotated} secrets of {name} ({rotator.__name__}) with the newest key.")
            if plugin_ids:
                plugins_unreadable += len(plugin_ids)
                click.echo(f"{len(plugin_ids)} secrets of {name} ({rotator.__name__}) could not be decrypted with "
                           f"any configured key: {', '.join(str(i) for i in plugin_ids)}", err=True)
    if hooks_unreadable:
        ids = ", ".join(str(hook_id) for hook_id in hooks_unreadable)
        click.echo(f"{len(hooks_unreadable)} webhook secrets could not be decrypted with any configured key "
                   f"(restore the old key, or make those webhooks again): {ids}", err=True)
    if box.derived:
        click.echo("Note: SECRET_ENCRYPTION_KEYS is empty, so the newest key is the one derived from "
                   "SECRET_KEY.", err=True)
    if unreadable or hooks_unreadable or plugins_unreadable:
        ids = ", ".join(str(key_id) for key_id in unreadable)
        if unreadable:
            click.echo(f"{len(unreadable)} provider keys could not be decrypted with any configured key "
                       f"(restore the old key, or have their owners enter them again): {ids}", err=True)
        raise SystemExit(1)


COMMANDS = (secrets_group,)
