"""app/cli/inspection.py: ``flask inkwright config`` and ``flask inkwright plugins``."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import MASK, SETTINGS

DATABASE_PASSWORD = "hunter2-database"
REDIS_PASSWORD = "hunter2-redis"
SECRET_KEY = "cli-test-secret-key-that-nobody-may-read-0123456789"


def unwrapped(text: str) -> str:
    return text.replace(" ", "")


@pytest.fixture
def inkwright_plugins() -> tuple[str, ...]:
    """The probe distributions these tests install must load as in a real deployment."""
    return ("*",)


def test_config_lists_every_setting_with_its_source_and_doc(run_command, read_table):
    result = run_command("config")

    assert result.exit_code == 0, result.output
    rows = {row[0]: row for row in read_table(result.output)}
    for setting in SETTINGS:
        assert rows[setting.key][3] == setting.doc
    assert rows["ENV"][1:3] == ["testing", "create_app"]
    assert rows["WORKER_CLASS"][1:3] == ["simple", "default"]


def test_config_masks_secrets_but_shows_other_values_whole(tmp_path, monkeypatch, read_table):
    # URLs of servers that are never contacted: showing the configuration needs neither.
    monkeypatch.setenv("INKWRIGHT_QUEUE_NAME", "night-shift")
    long_name = "a-database-name-long-enough-to-need-more-than-one-line-of-the-table"
    app = create_app({
        "ENV": "testing", "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": f"postgresql://inkwright:{DATABASE_PASSWORD}@db.example:5432/{long_name}",
        "REDIS_URL": f"redis://:{REDIS_PASSWORD}@cache.example:6379/0",
    }, instance_path=str(tmp_path))

    result = app.test_cli_runner().invoke(args=["inkwright", "config"])

    assert result.exit_code == 0, result.output
    for secret in (SECRET_KEY, DATABASE_PASSWORD, REDIS_PASSWORD, "hunter2"):
        assert secret not in unwrapped(result.output)
    rows = {row[0]: row for row in read_table(result.output)}
    assert rows["SECRET_KEY"][1] == MASK
    assert unwrapped(rows["DATABASE_URL"][1]) == f"postgresql://inkwright:{MASK}@db.example:5432/{long_name}"
    assert unwrapped(rows["REDIS_URL"][1]) == f"redis://:{MASK}@cache.example:6379/0"
    assert rows["QUEUE_NAME"][1:3] == ["night-shift", "env INKWRIGHT_QUEUE_NAME"]


def test_plugins_lists_loaded_failed_and_disabled_entry_points(installed_plugins, make_app, run_command,
                                                              read_table):
    suffix = installed_plugins
    app = make_app(DISABLED_PLUGINS=f"careless{suffix}")

    result = run_command("plugins", application=app)

    assert result.exit_code == 0, result.output
    rows = {row[1]: row for row in read_table(result.output)}
    assert rows[f"probe{suffix}"] == ["inkwright.plugins", f"probe{suffix}", "inkwright-cli-probe", "1.2.3",
                                      "loaded", ""]
    assert rows[f"careless{suffix}"][4:] == ["disabled", ""]
    assert rows[f"missing{suffix}"][4] == "failed"
    assert rows[f"missing{suffix}"][5] == (f"failed to import: ModuleNotFoundError: No module named "
                                           f"'inkwright_cli_probe_{suffix}_missing'")


def test_a_plugin_setting_without_its_prefix_is_reported_and_the_plugin_skipped(installed_plugins, make_app,
                                                                               run_command, read_table):
    suffix = installed_plugins
    app = make_app()

    result = run_command("plugins", application=app)

    careless = {row[1]: row for row in read_table(result.output)}[f"careless{suffix}"]
    assert careless[4:] == ["failed", f"setting COLOUR must carry the plugin's prefix CARELESS{suffix.upper()}_"]
    assert "COLOUR" not in app.config
    assert app.config[f"PROBE{suffix.upper()}_COLOUR"] == "blue"  # the good plugin's setting is declared


def test_plugins_verbose_shows_why_each_failure_happened(installed_plugins, make_app, run_command):
    suffix = installed_plugins
    app = make_app(PLUGINS=f"missing{suffix}")

    result = run_command("plugins", "--verbose", application=app)

    assert result.exit_code == 0, result.output
    assert f"inkwright.plugins missing{suffix}" in result.output
    assert "Traceback (most recent call last)" in result.output
    assert f"No module named 'inkwright_cli_probe_{suffix}_missing'" in result.output
