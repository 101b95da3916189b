"""Plugin discovery and installation (app/registry.py): what loads, what is refused and why.

Entry points are given to ``discover(found=...)`` directly, or installed for real as a
generated ``*.dist-info`` folder on ``sys.path`` that ``importlib.metadata`` finds.
The throwaway distribution at the end is the issue's "done when": a third-party package
with a skill, a provider, pages, an API, a model and its own migration branch.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import inspect, text

from app.errors import NotFoundError
from app.extensions import db
from app.migrations import MigrationError, upgrade_all
from app.models.base import Model
from app.registry import AGENTS, PLUGINS, PROVIDERS, SKILLS, discover, entry_for
from app.runtime import current_state

SUPPORT = Path(__file__).resolve().parent / "plugins"
SAMPLES = "inkwright_sample_plugins"


@pytest.fixture
def inkwright_plugins() -> tuple[str, ...]:
    """The core and the sample packages these tests install (the first-party plugins in
    plugins/ stay out, as they do for the rest of the core's suite)."""
    return ("inkwright", "inkwright-samples", THROWAWAY)


@pytest.fixture
def samples_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(SUPPORT))


def ep(name: str, target: str, group: str) -> EntryPoint:
    return EntryPoint(name, f"{SAMPLES}:{target}" if ":" not in target else target, group)


def install_distribution(site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]]) -> None:
    """Write the dist-info folder pip would leave for a package with these entry points."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    sections = [f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in names.items())
                for group, names in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(sections))


# Discovery, one entry point at a time ---------------------------------------------------


def test_skills_providers_and_plugins_register_under_their_entry_point_names(samples_importable):
    registry = discover(found={
        SKILLS: [ep("shout", "ShoutSkill", SKILLS)], PROVIDERS: [ep("echo", "EchoProvider", PROVIDERS)],
        PLUGINS: [ep("greeting", "GreetingPlugin", PLUGINS)],
    })
    samples = importlib.import_module(SAMPLES)
    assert registry.skills == {"shout": samples.ShoutSkill}
    assert registry.skill("shout") is samples.ShoutSkill
    assert registry.providers == {"echo": samples.EchoProvider}
    assert isinstance(registry.plugins["greeting"], samples.GreetingPlugin)
    assert [e.status for e in registry.entries] == ["loaded", "loaded", "loaded"]
    assert [s.key for s in registry.settings()] == ["GREETING_WORD"]


def test_asking_for_a_skill_nobody_provides_is_not_found():
    with pytest.raises(NotFoundError) as raised:
        discover(found={}).skill("shout")
    assert raised.value.details == {"skill": "shout"}


def test_plugin_whose_import_raises_is_reported_and_the_rest_still_load(samples_importable):
    registry = discover(found={SKILLS: [
        ep("exploding", "inkwright_exploding_plugin:Skill", SKILLS), ep("shout", "ShoutSkill", SKILLS)]})
    failed = entry_for(registry, SKILLS, "exploding")
    assert failed.status == "failed"
    assert failed.error == "failed to import: RuntimeError: this plugin cannot be imported"
    assert "Traceback" in failed.detail
    assert registry.failures == [failed]
    assert list(registry.skills) == ["shout"]


@pytest.mark.parametrize(("group", "name", "target", "reason"), [
    (SKILLS, "impostor", "NotASkill", "is not a subclass of app.toolkit.Skill"),
    (SKILLS, "shout", "EchoProvider", "is not a subclass of app.toolkit.Skill"),
    (PROVIDERS, "shout", "ShoutSkill", "is not a subclass of app.toolkit.Provider"),
    (AGENTS, "shout", "ShoutSkill", "is not a subclass of app.toolkit.Agent"),
    (PLUGINS, "greeting", "ShoutSkill", "is not an app.toolkit.Plugin"),
    (SKILLS, "whisper", "ShoutSkill", "its name 'shout' differs from the entry-point name 'whisper'"),
    (SKILLS, "nameless", "NamelessSkill", "NamelessSkill has no name"),
    (PLUGINS, "badprefix", "BadPrefixPlugin", "setting WORD must carry the plugin's prefix BADPREFIX_"),
    # A repository of the plugin's package that crosses tenants must be declared, for review.
    (PLUGINS, "unreviewed", "inkwright_sample_crossing:UnreviewedPlugin",
     "EveryTenantsCount cross tenants but are not in the plugin's system_scope"),
    (PLUGINS, "wrongscope", "inkwright_sample_crossing:WrongScopePlugin",
     "system_scope entry <class 'dict'> is not an app.toolkit.SystemRepository"),
])
def test_entry_point_naming_the_wrong_thing_fails_with_the_reason(samples_importable, group, name, target, reason):
    registry = discover(found={group: [ep(name, target, group)]})
    entry = entry_for(registry, group, name)
    assert entry.status == "failed"
    assert reason in entry.error
    assert not (registry.skills or registry.providers or registry.agents or registry.plugins)


def test_a_plugin_declaring_its_system_scope_loads_and_the_operator_sees_it(samples_importable):
    registry = discover(found={PLUGINS: [ep("reviewed", "inkwright_sample_crossing:ReviewedPlugin", PLUGINS)]})
    assert [e.status for e in registry.entries] == ["loaded"]
    assert [r.__name__ for r in registry.plugins["reviewed"].system_scope] == ["EveryTenantsCount"]


def test_second_package_claiming_a_skill_name_fails_and_the_first_keeps_it(samples_importable):
    registry = discover(found={SKILLS: [ep("shout", "ShoutSkill", SKILLS), ep("shout", "WhisperSkill", SKILLS)]})
    first, second = registry.entries
    assert (first.status, second.status) == ("loaded", "failed")
    assert "another package already provides 'shout'" in second.error
    assert registry.skills["shout"].__name__ == "ShoutSkill"


def test_second_plugin_with_the_same_name_fails(samples_importable):
    greeting = ep("greeting", "GreetingPlugin", PLUGINS)
    registry = discover(found={PLUGINS: [greeting, greeting]})
    assert [e.status for e in registry.entries] == ["loaded", "failed"]
    assert "already provides a plugin named 'greeting'" in registry.entries[1].error


@pytest.mark.parametrize(("enabled", "disabled", "loaded"), [
    (("*",), (), {"shout", "echo", "greeting"}),
    (("shout", "greeting"), (), {"shout", "greeting"}),
    (("*",), ("echo",), {"shout", "greeting"}),
    (("shout",), ("shout",), set()),
])
def test_plugins_and_disabled_plugins_decide_which_entry_points_load(samples_importable, enabled, disabled, loaded):
    registry = discover(enabled, disabled, found={
        SKILLS: [ep("shout", "ShoutSkill", SKILLS)], PROVIDERS: [ep("echo", "EchoProvider", PROVIDERS)],
        PLUGINS: [ep("greeting", "GreetingPlugin", PLUGINS)],
    })
    assert {e.name for e in registry.entries if e.status == "loaded"} == loaded
    assert {e.name for e in registry.entries if e.status == "disabled"} == {"shout", "echo", "greeting"} - loaded
    assert set(registry.skills) | set(registry.providers) | set(registry.plugins) == loaded


def test_a_disabled_plugin_is_not_even_imported(samples_importable):
    exploding = ep("exploding", "inkwright_exploding_plugin:Skill", SKILLS)
    registry = discover(disabled=["exploding"], found={SKILLS: [exploding]})
    [entry] = registry.entries
    assert (entry.status, entry.error) == ("disabled", None)
    assert registry.failures == []


# Installed distributions, in a real app ------------------------------------------------


@pytest.fixture
def samples_installed(tmp_path, monkeypatch, samples_importable):
    site = tmp_path / "site"
    install_distribution(site, "inkwright-samples", "0.2.0", {
        SKILLS: {"shout": f"{SAMPLES}:ShoutSkill", "exploding": "inkwright_exploding_plugin:Skill"},
        PLUGINS: {"greeting": f"{SAMPLES}:GreetingPlugin", "broken-blueprints": f"{SAMPLES}:BrokenBlueprintsPlugin"},
    })
    monkeypatch.syspath_prepend(str(site))


def test_app_starts_despite_plugins_that_fail_to_import_or_install(samples_installed, make_app):
    app = make_app(PLUGINS=["inkwright-samples"])
    registry = current_state(app).registry
    broken = entry_for(registry, PLUGINS, "broken-blueprints")
    assert broken.error == "failed to install: RuntimeError: the blueprint factory is broken"
    assert "broken-blueprints" not in registry.plugins
    assert entry_for(registry, SKILLS, "exploding").error.startswith("failed to import: RuntimeError")
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/greeting").text == "hello from a plugin"
    assert app.config["GREETING_WORD"] == "hello"

    listing = app.test_cli_runner().invoke(args=["inkwright", "plugins"]).output
    assert "failed to install: RuntimeError" in listing
    assert "inkwright-samples" in listing and "0.2.0" in listing


@pytest.mark.parametrize(("settings", "loaded"), [
    ({"PLUGINS": ["inkwright-samples"]}, {"shout", "greeting"}),
    ({"PLUGINS": ["shout"]}, {"shout"}),
    ({"DISABLED_PLUGINS": ["inkwright-samples"]}, set()),
    ({"PLUGINS": ["inkwright-samples"], "DISABLED_PLUGINS": ["greeting"]}, {"shout"}),
])
def test_settings_enable_plugins_by_entry_point_or_distribution_name(samples_installed, make_app, settings, loaded):
    app = make_app(**settings)
    ours = [e for e in current_state(app).registry.entries if e.distribution == "inkwright-samples"]
    assert len(ours) == 4
    assert {e.name for e in ours if e.status == "loaded"} == loaded
    assert app.test_client().get("/greeting").status_code == (200 if "greeting" in loaded else 404)


# The throwaway distribution: skill, provider, pages, API, model and migration branch ---


THROWAWAY = "throwaway_inkwright"


@pytest.fixture(scope="module")
def throwaway(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(SUPPORT / "throwaway_template" / THROWAWAY, site / THROWAWAY,
                    ignore=shutil.ignore_patterns("__pycache__"))
    install_distribution(site, THROWAWAY, "0.1.0", {
        SKILLS: {"throwaway-note": f"{THROWAWAY}:NoteSkill"},
        PROVIDERS: {"throwaway-echo": f"{THROWAWAY}:EchoProvider"},
        PLUGINS: {"throwaway": f"{THROWAWAY}:plugin"},
    })
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        yield site
    for name in [m for m in sys.modules if m == THROWAWAY or m.startswith(THROWAWAY + ".")]:
        del sys.modules[name]
    if "throwaway_notes" in Model.metadata.tables:
        Model.metadata.remove(Model.metadata.tables["throwaway_notes"])
    importlib.invalidate_caches()


def test_throwaway_distribution_is_found_through_its_entry_points(throwaway, make_app):
    app = make_app()
    registry = current_state(app).registry
    assert registry.skills["throwaway-note"].__module__ == THROWAWAY
    assert registry.providers["throwaway-echo"].__module__ == THROWAWAY
    assert type(registry.plugins["throwaway"]).__name__ == "ThrowawayPlugin"
    ours = [e for e in registry.entries if e.distribution == THROWAWAY]
    assert {(e.name, e.version, e.status) for e in ours} == {
        ("throwaway-note", "0.1.0", "loaded"), ("throwaway-echo", "0.1.0", "loaded"), ("throwaway", "0.1.0", "loaded")}

    listing = app.test_cli_runner().invoke(args=["inkwright", "plugins"]).output
    rows = {tuple(cell.strip() for cell in line.split("│")[1:6]) for line in listing.splitlines() if THROWAWAY in line}
    assert rows == {(SKILLS, "throwaway-note", THROWAWAY, "0.1.0", "loaded"),
                    (PROVIDERS, "throwaway-echo", THROWAWAY, "0.1.0", "loaded"),
                    (PLUGINS, "throwaway", THROWAWAY, "0.1.0", "loaded")}

    client = app.test_client()
    assert "Throwaway notes" in client.get("/throwaway/").text
    assert "/api/throwaway/notes" in client.get("/api/openapi.json").json["paths"]
    anonymous = client.get("/api/throwaway/notes")
    assert anonymous.status_code == 401
    assert anonymous.json["error"]["code"] == "UNAUTHORIZED"


def test_throwaway_migration_branch_is_applied_and_its_api_works(throwaway, fresh_database_url, make_app):
    app = make_app(DATABASE_URL=fresh_database_url)
    with app.app_context():
        upgrade_all()
        config = current_app.extensions["migrate"].migrate.get_config()
        heads = set(ScriptDirectory.from_config(config).get_heads())
        command.check(config)  # autogenerate through migrations/env.py finds no difference
        applied = {row[0] for row in db.session.execute(text("SELECT version_num FROM alembic_version"))}
        assert "throwaway_notes" in inspect(db.engine).get_table_names()
        db.session.remove()
    assert len(heads) == 2 and "7d0a1c9e3b21" in heads
    # Alembic records the plugin's head, and the core's head unless the plugin's revision
    # depends on it (then it is implied); command.check above refuses a database that is
    # not at every head.
    assert "7d0a1c9e3b21" in applied and applied <= heads

    client = app.test_client()
    tokens = []
    for email in ("ada@example.com", "bo@example.com"):
        registered = client.post("/api/auth/register", json={"email": email, "password": "long enough password"})
        tokens.append({"Authorization": f"Bearer {registered.json['data']['session']['token']}"})
    created = client.post("/api/throwaway/notes", json={"text": "a plot twist"}, headers=tokens[0])
    assert created.status_code == 201
    assert created.json["success"] is True and created.json["data"]["text"] == "a plot twist"
    assert created.json["metadata"]["requestId"] == created.headers["X-Request-ID"]
    listed = client.get("/api/throwaway/notes", headers=tokens[0]).json["data"]
    assert [note["id"] for note in listed] == [created.json["data"]["id"]]
    assert client.get("/api/throwaway/notes", headers=tokens[1]).json["data"] == []


def test_disabled_plugin_adds_no_routes_and_no_migrations(throwaway, fresh_database_url, make_app):
    importlib.import_module(THROWAWAY)  # its model is imported, yet it must not leak into the schema
    app = make_app(DATABASE_URL=fresh_database_url, DISABLED_PLUGINS=[THROWAWAY])
    assert "throwaway" not in current_state(app).registry.plugins
    with app.app_context():
        upgrade_all()
        command.check(current_app.extensions["migrate"].migrate.get_config())
        tables = inspect(db.engine).get_table_names()
        versions = db.session.execute(text("SELECT count(*) FROM alembic_version")).scalar_one()
        db.session.remove()
    assert "throwaway_notes" not in tables and "tenants" in tables
    assert versions == 1
    assert app.test_client().get("/throwaway/").status_code == 404



def test_disabling_a_migrated_plugin_makes_migrate_say_what_to_do(throwaway, fresh_database_url, make_app):
    with make_app(DATABASE_URL=fresh_database_url).app_context():
        upgrade_all()
        db.session.remove()
    app = make_app(DATABASE_URL=fresh_database_url, DISABLED_PLUGINS=[THROWAWAY])
    result = app.test_cli_runner().invoke(args=["inkwright", "migrate"])
    assert result.exit_code == 1
    assert "7d0a1c9e3b21" in result.output and "Re-enable" in result.output
    with app.app_context():
        with pytest.raises(MigrationError):
            upgrade_all()
        db.session.remove()
