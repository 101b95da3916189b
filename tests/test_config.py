"""app/config.py: declared settings, their sources and precedence, validation, masking."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from app import create_app
from app.config import MASK, SETTINGS, Setting, load_config, shown_value
from app.errors import ConfigError
from app.registry import PLUGINS, discover
from app.toolkit import Plugin

SETTING = {setting.key: setting for setting in SETTINGS}
GOOD_SECRET = "a-production-secret-key-of-plenty-characters"
GOOD_FERNET_KEY = "l2H3m5qKk3wz6Jq0v4d0b8Jx9s7QyE1cPm2nA5fVt6U="


def write_instance_file(instance, text: str) -> None:
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "inkwright.toml").write_text(text)


# Declaration ------------------------------------------------------------------------


def test_every_setting_is_declared_once_with_a_one_line_doc():
    keys = [setting.key for setting in SETTINGS]
    assert len(keys) == len(set(keys))
    for setting in SETTINGS:
        assert setting.doc.strip(), setting.key
        assert "\n" not in setting.doc, setting.key
        assert setting.key == setting.key.upper()


def test_every_declared_setting_reaches_the_flask_config(app):
    for setting in SETTINGS:
        assert setting.key in app.config


# Sources and precedence -------------------------------------------------------------


def test_defaults_apply_when_nothing_sets_a_key(tmp_path):
    loaded = load_config(str(tmp_path), environ={})

    assert loaded.problems == []
    assert loaded.values["ACCESS_TOKEN_TTL"] == 900
    assert loaded.values["PLUGINS"] == ("*",)
    assert loaded.values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'inkwright.db'}"
    assert loaded.sources["ACCESS_TOKEN_TTL"] == "default"


def test_development_secret_key_is_generated_once_into_the_instance_folder(tmp_path):
    first = load_config(str(tmp_path), environ={}).values["SECRET_KEY"]
    second = load_config(str(tmp_path), environ={}).values["SECRET_KEY"]

    assert len(first) >= 32
    assert first == second  # sessions survive a restart
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_instance_file_overrides_defaults_with_typed_values(tmp_path):
    write_instance_file(tmp_path, 'access_token_ttl = 120\nPLUGINS = ["alpha", "beta"]\n'
                                  'PUBLIC_REGISTRATION = false\n')

    loaded = load_config(str(tmp_path), environ={})

    assert loaded.problems == []
    assert loaded.values["ACCESS_TOKEN_TTL"] == 120
    assert loaded.values["PLUGINS"] == ("alpha", "beta")
    assert loaded.values["PUBLIC_REGISTRATION"] is False
    assert loaded.sources["ACCESS_TOKEN_TTL"] == "file"


def test_file_named_by_INKWRIGHT_CONFIG_FILE_replaces_the_instance_file(tmp_path):
    write_instance_file(tmp_path / "instance", "QUEUE_NAME = 'from-instance'\n")
    named = tmp_path / "elsewhere.toml"
    named.write_text("QUEUE_NAME = 'from-named-file'\n")

    loaded = load_config(str(tmp_path / "instance"), environ={"INKWRIGHT_CONFIG_FILE": str(named)})

    assert loaded.values["QUEUE_NAME"] == "from-named-file"


def test_a_named_config_file_that_is_missing_is_a_problem(tmp_path):
    loaded = load_config(str(tmp_path), environ={"INKWRIGHT_CONFIG_FILE": str(tmp_path / "nope.toml")})

    assert any(p.startswith("CONFIG_FILE:") and "does not exist" in p for p in loaded.problems)


def test_an_unreadable_instance_file_is_a_problem(tmp_path):
    write_instance_file(tmp_path, "QUEUE_NAME = [unterminated\n")

    loaded = load_config(str(tmp_path), environ={})

    assert any(p.startswith("CONFIG_FILE:") and "cannot be read" in p for p in loaded.problems)


def test_environment_overrides_the_instance_file(tmp_path):
    write_instance_file(tmp_path, "ACCESS_TOKEN_TTL = 120\nQUEUE_NAME = 'file-queue'\n")

    loaded = load_config(str(tmp_path), environ={"INKWRIGHT_ACCESS_TOKEN_TTL": "300"})

    assert loaded.values["ACCESS_TOKEN_TTL"] == 300
    assert loaded.sources["ACCESS_TOKEN_TTL"] == "env INKWRIGHT_ACCESS_TOKEN_TTL"
    assert loaded.values["QUEUE_NAME"] == "file-queue"


@pytest.mark.parametrize("key, url", [
    ("DATABASE_URL", "postgresql://db.example/ink"),
    ("REDIS_URL", "redis://cache.example:6379/2"),
])
def test_well_known_alias_overrides_the_instance_file(tmp_path, key, url):
    write_instance_file(tmp_path, f"{key} = 'sqlite:///from-file.db'\n")

    loaded = load_config(str(tmp_path), environ={key: url})

    assert loaded.values[key] == url
    assert loaded.sources[key] == f"env {key}"


def test_inkwright_variable_wins_over_the_well_known_alias(tmp_path):
    environ = {"DATABASE_URL": "postgresql://shared-platform-db/other",
               "INKWRIGHT_DATABASE_URL": "postgresql://db.example/ink"}

    loaded = load_config(str(tmp_path), environ=environ)

    assert loaded.values["DATABASE_URL"] == "postgresql://db.example/ink"


def test_create_app_config_overrides_the_environment_and_passes_unknown_keys_through(tmp_path):
    write_instance_file(tmp_path, "ACCESS_TOKEN_TTL = 120\n")

    loaded = load_config(str(tmp_path), {"ACCESS_TOKEN_TTL": 45, "TESTING": True},
                         environ={"INKWRIGHT_ACCESS_TOKEN_TTL": "300"})

    assert loaded.values["ACCESS_TOKEN_TTL"] == 45
    assert loaded.sources["ACCESS_TOKEN_TTL"] == "create_app"
    assert loaded.values["TESTING"] is True


@pytest.mark.parametrize("raw, expected", [("yes", True), ("ON", True), ("1", True), ("off", False), ("0", False)])
def test_booleans_read_the_way_people_write_them(tmp_path, raw, expected):
    loaded = load_config(str(tmp_path), environ={"INKWRIGHT_SECURE_COOKIES": raw})

    assert loaded.values["SECURE_COOKIES"] is expected


def test_comma_separated_lists_are_trimmed(tmp_path):
    loaded = load_config(str(tmp_path), environ={"INKWRIGHT_DISABLED_PLUGINS": " alpha , beta,, "})

    assert loaded.values["DISABLED_PLUGINS"] == ("alpha", "beta")


# Validation -------------------------------------------------------------------------


def test_every_bad_value_is_reported_at_once_with_its_source(tmp_path):
    environ = {"INKWRIGHT_ACCESS_TOKEN_TTL": "soon", "DATABASE_URL": "mysql://x", "INKWRIGHT_LOG_LEVEL": "LOUD",
               "INKWRIGHT_PUBLIC_REGISTRATION": "maybe"}

    loaded = load_config(str(tmp_path), {"ENV": "production", "SECRET_KEY": "short",
                                         "SECRET_ENCRYPTION_KEYS": GOOD_FERNET_KEY}, environ=environ)

    problems = "\n".join(loaded.problems)
    assert len(loaded.problems) == 6, problems
    assert "ACCESS_TOKEN_TTL: expected a whole number, got 'soon' (from env INKWRIGHT_ACCESS_TOKEN_TTL)" in problems
    assert "DATABASE_URL: must be a sqlite:// or postgresql:// URL (from env DATABASE_URL)" in problems
    assert "LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR" in problems
    assert "PUBLIC_REGISTRATION: expected true or false" in problems
    assert "SECRET_KEY: must be set to at least 32 random characters in production (from create_app)" in problems
    assert "SECURE_COOKIES: must be true in production" in problems


@pytest.mark.parametrize("key, raw", [
    ("ACCESS_TOKEN_TTL", "10"), ("REDIS_URL", "http://cache"), ("WORKER_CLASS", "greenlets"), ("WORKER_CONCURRENCY", "0"), ("DATABASE_POOL_SIZE", "-1"),
    ("LOGIN_RATE_LIMIT", "lots"), ("ENV", "staging"), ("MAX_CONTENT_LENGTH", "-1"),
])
def test_out_of_range_values_are_problems(tmp_path, key, raw):
    loaded = load_config(str(tmp_path), environ={f"INKWRIGHT_{key}": raw})

    assert [p for p in loaded.problems if p.startswith(f"{key}:")], loaded.problems


def test_a_short_secret_key_is_fine_outside_production(tmp_path):
    loaded = load_config(str(tmp_path), {"ENV": "development", "SECRET_KEY": "short"}, environ={})

    assert loaded.problems == []


def test_create_app_fails_fast_listing_every_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("INKWRIGHT_LOG_LEVEL", "LOUD")
    monkeypatch.setenv("DATABASE_URL", "mysql://x")
    monkeypatch.delenv("INKWRIGHT_DATABASE_URL", raising=False)

    with pytest.raises(ConfigError) as raised:
        create_app({"ACCESS_TOKEN_TTL": "soon", "ENV": "production", "SECRET_KEY": "short"},
                   instance_path=str(tmp_path))

    keys = sorted(problem.split(":")[0] for problem in raised.value.problems)
    # production also wants its own key for provider keys at rest (never one derived here)
    assert keys == ["ACCESS_TOKEN_TTL", "DATABASE_URL", "LOG_LEVEL", "SECRET_ENCRYPTION_KEYS", "SECRET_KEY",
                    "SECURE_COOKIES"]
    message = str(raised.value)
    assert message.startswith("Inkwright cannot start")
    assert all(problem in message for problem in raised.value.problems)


def test_create_app_accepts_production_with_a_long_secret_key(tmp_path, inkwright_config):
    app = create_app({**inkwright_config, "ENV": "production", "SECRET_KEY": GOOD_SECRET,
                      "SECRET_ENCRYPTION_KEYS": GOOD_FERNET_KEY, "SECURE_COOKIES": True}, instance_path=str(tmp_path))

    assert app.config["ENV"] == "production"
    assert app.config["TESTING"] is False
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_production_refuses_to_start_with_cookies_that_may_travel_over_plain_http(tmp_path, inkwright_config):
    with pytest.raises(ConfigError) as raised:
        create_app({**inkwright_config, "ENV": "production", "SECRET_KEY": GOOD_SECRET,
                    "SECRET_ENCRYPTION_KEYS": GOOD_FERNET_KEY, "SECURE_COOKIES": False}, instance_path=str(tmp_path))

    assert raised.value.problems == [
        "SECURE_COOKIES: must be true in production; serve the studio over TLS and set "
        "INKWRIGHT_SECURE_COOKIES=true (from create_app)"]
    assert "SECURE_COOKIES" in str(raised.value)


def test_production_refuses_to_start_on_the_generated_secret_key(tmp_path, inkwright_config):
    settings = {key: value for key, value in inkwright_config.items() if key != "SECRET_KEY"}

    with pytest.raises(ConfigError) as raised:
        create_app({**settings, "ENV": "production", "SECRET_ENCRYPTION_KEYS": GOOD_FERNET_KEY,
                    "SECURE_COOKIES": True}, instance_path=str(tmp_path))

    assert "SECRET_KEY: must be set in production (INKWRIGHT_SECRET_KEY)" in raised.value.problems
    assert {problem.split(":")[0] for problem in raised.value.problems} == {"SECRET_KEY"}


def test_secure_cookies_may_stay_off_outside_production(tmp_path):
    loaded = load_config(str(tmp_path), {"ENV": "development", "SECURE_COOKIES": False}, environ={})

    assert loaded.problems == []


# Masking ----------------------------------------------------------------------------


def test_secret_values_are_masked_and_other_values_shown():
    assert shown_value(SETTING["SECRET_KEY"], "s3cr3t-value") == MASK
    assert shown_value(SETTING["QUEUE_NAME"], "inkwright") == "inkwright"
    assert shown_value(SETTING["PLUGINS"], ("alpha", "beta")) == "alpha,beta"
    assert shown_value(SETTING["REDIS_URL"], "") == ""


@pytest.mark.parametrize("setting, url, shown", [
    ("DATABASE_URL", "postgresql://ink:hunter2@db.example:5432/ink", f"postgresql://ink:{MASK}@db.example:5432/ink"),
    ("DATABASE_URL", "sqlite:////srv/inkwright.db", "sqlite:////srv/inkwright.db"),
    ("REDIS_URL", "redis://:hunter2@cache.example:6379/0", f"redis://:{MASK}@cache.example:6379/0"),
    ("REDIS_URL", "unix:///run/redis.sock?db=2&password=hunter2", f"unix:///run/redis.sock?db=2&password={MASK}"),
])
def test_urls_keep_everything_but_their_password(setting, url, shown):
    assert shown_value(SETTING[setting], url) == shown


# Plugin settings --------------------------------------------------------------------


class UnprefixedSettingPlugin(Plugin):
    name = "probe"
    settings = (Setting("COLOUR", "blue", "a setting that forgot the plugin's prefix"),)


class PrefixedSettingPlugin(Plugin):
    name = "probe"
    settings = (Setting("PROBE_COLOUR", "blue", "the probe's colour"),)


def probe_entry_point(target: str) -> dict[str, list[EntryPoint]]:
    return {PLUGINS: [EntryPoint(name="probe", value=f"{__name__}:{target}", group=PLUGINS)]}


def test_plugin_setting_without_its_prefix_is_refused():
    registry = discover(found=probe_entry_point("UnprefixedSettingPlugin"))

    [entry] = registry.entries
    assert entry.status == "failed"
    assert "COLOUR must carry the plugin's prefix PROBE_" in entry.error
    assert "probe" not in registry.plugins
    assert registry.settings() == []


def test_plugin_setting_with_its_prefix_is_read_like_a_core_one(tmp_path):
    registry = discover(found=probe_entry_point("PrefixedSettingPlugin"))

    loaded = load_config(str(tmp_path), environ={"INKWRIGHT_PROBE_COLOUR": "green"},
                         settings=(*SETTINGS, *registry.settings()))

    assert registry.plugins["probe"].settings[0].key == "PROBE_COLOUR"
    assert loaded.values["PROBE_COLOUR"] == "green"


def test_production_refuses_a_generated_secret_key_and_writes_none(tmp_path):
    loaded = load_config(str(tmp_path), environ={"INKWRIGHT_ENV": "production"})
    assert any(p.startswith("SECRET_KEY: must be set in production") for p in loaded.problems)
    assert not (tmp_path / "secret_key").exists()
