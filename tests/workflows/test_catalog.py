"""The workflow catalog: tenant uploads as immutable versions, and plugins' packaged workflows."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import ConflictError, NotFoundError
from app.extensions import db
from app.models import WorkflowVersion
from app.registry import PluginRegistry
from app.runtime import current_state, repositories
from app.toolkit import Plugin
from app.workflows import TemplateEngine, WorkflowInvalid
from app.workflows.catalog import WorkflowCatalog, checksum

V1 = "name: story\nversion: 1\ndescription: First try.\nsteps:\n  - {id: write, skill: test.echo}\n"
V1_CHANGED = "name: story\nversion: 1\ndescription: Changed, same version.\nsteps:\n  - {id: write, skill: test.noop}\n"
V2 = "name: story\nversion: 2\ndescription: Second try.\nsteps:\n  - {id: write, skill: test.noop}\n"
PACKAGED = "name: plugin.flow\nversion: 1.0\ndescription: Shipped.\nsteps:\n  - {id: only, skill: test.noop}\n"
BROKEN = "name: plugin.broken\nversion: 1\nsteps:\n  - {id: only, skill: no.such.skill}\n"


def upload(app, account, source):
    with app.app_context():
        return current_state().catalog.upload(repositories(account.tenant_id), source, account.user.id)


def versions(app, account, name):
    with app.app_context():
        return [(entry.version, entry.description) for entry in
                current_state().catalog.versions(repositories(account.tenant_id), name)]


def resolve(app, account, name, version=None):
    with app.app_context():
        return current_state().catalog.resolve(repositories(account.tenant_id), name, version)


def stored(app, name="story"):
    with app.app_context():
        rows = db.session.query(WorkflowVersion).filter_by(name=name).order_by(WorkflowVersion.sequence)
        return [(row.tenant_id, row.version, row.sequence, row.checksum) for row in rows]


@pytest.fixture
def packaged(app, tmp_path: Path):
    """A throwaway plugin with a workflows folder (one valid document, one broken), enabled."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "flow.yaml").write_text(PACKAGED)
    (folder / "broken.yml").write_text(BROKEN)
    (folder / "notes.txt").write_text("not a workflow")

    class Packer(Plugin):
        name = "packer"
        workflows = folder

    state = current_state(app)
    state.registry.plugins["packer"] = Packer()
    state.catalog.load_packaged()
    return state.catalog


def test_an_upload_creates_version_one(app, user):
    entry, created = upload(app, user, V1)
    assert created is True
    assert (entry.name, entry.version, entry.description, entry.origin, entry.source) == \
        ("story", "1", "First try.", "tenant", V1)
    assert entry.definition.step("write").skill == "test.echo"
    assert stored(app) == [(user.tenant_id, "1", 1, checksum(V1))]


def test_the_same_document_again_creates_nothing(app, user):
    first, _ = upload(app, user, V1)
    again, created = upload(app, user, V1)
    assert created is False
    assert again.stored_id == first.stored_id
    assert len(stored(app)) == 1


def test_a_changed_document_with_the_same_version_is_a_conflict(app, user):
    upload(app, user, V1)
    with pytest.raises(ConflictError) as caught:
        upload(app, user, V1_CHANGED)
    assert (caught.value.code, caught.value.status_code) == ("CONFLICT", 409)
    assert caught.value.details == {"fields": {"version": ["Already used by other content."]}}
    assert stored(app) == [(user.tenant_id, "1", 1, checksum(V1))]
    assert resolve(app, user, "story").description == "First try."


def test_a_new_version_comes_first(app, user):
    upload(app, user, V1)
    entry, created = upload(app, user, V2)
    assert created is True and entry.version == "2"
    assert versions(app, user, "story") == [("2", "Second try."), ("1", "First try.")]
    assert [row[1:3] for row in stored(app)] == [("1", 1), ("2", 2)]


def test_resolve_by_version_and_by_default_the_newest(app, user):
    upload(app, user, V2)
    upload(app, user, V1)  # uploaded last, so newest, whatever its number
    assert resolve(app, user, "story").version == "1"
    assert resolve(app, user, "story", "2").description == "Second try."
    assert resolve(app, user, "story", 2).version == "2"


def test_an_unknown_workflow_or_version_is_not_found(app, user):
    with pytest.raises(NotFoundError) as caught:
        resolve(app, user, "story")
    assert caught.value.details == {"workflow": "story"}
    upload(app, user, V1)
    with pytest.raises(NotFoundError) as caught:
        resolve(app, user, "story", "9")
    assert caught.value.message == "Workflow 'story' has no version '9'; it has 1."
    assert caught.value.details == {"workflow": "story", "version": "9"}


def test_an_invalid_upload_writes_nothing(app, user, row_count):
    with pytest.raises(WorkflowInvalid) as caught:
        upload(app, user, V1.replace("test.echo", "no.such.skill"))
    assert caught.value.details["problems"][0]["line"] == 5
    assert row_count(WorkflowVersion) == 0


def test_tenants_never_see_each_others_uploads(app, make_user):
    ada, bob = make_user(name="Ada"), make_user(name="Bob")
    upload(app, ada, V1)
    with pytest.raises(NotFoundError):
        resolve(app, bob, "story")
    with app.app_context():
        assert current_state().catalog.listing(repositories(bob.tenant_id)) == []
    # The same name and version are Bob's own to use, with his own content.
    _, created = upload(app, bob, V1_CHANGED)
    assert created is True
    assert versions(app, ada, "story") == [("1", "First try.")]
    assert versions(app, bob, "story") == [("1", "Changed, same version.")]


def test_a_packaged_workflow_is_listed_for_every_tenant(app, user, packaged):
    upload(app, user, V1)
    with app.app_context():
        listing = current_state().catalog.listing(repositories(user.tenant_id))
    assert [(entry.name, entry.version, entry.origin) for entry in listing] == [
        ("plugin.flow", "1.0", "plugin:packer"), ("story", "1", "tenant")]
    entry = resolve(app, user, "plugin.flow")
    assert (entry.source, entry.description, entry.stored_id) == (PACKAGED, "Shipped.", None)


def test_a_tenant_cannot_upload_a_packaged_workflows_name(app, user, packaged, row_count):
    with pytest.raises(ConflictError) as caught:
        upload(app, user, PACKAGED.replace("version: 1.0", "version: 7"))
    assert caught.value.status_code == 409
    assert caught.value.details == {"fields": {"name": ["Taken by a plugin's workflow."]}}
    assert row_count(WorkflowVersion) == 0


def test_uploading_a_packaged_workflows_name_over_the_api_is_409(packaged, api_client, row_count):
    response = api_client.post("/api/workflows", data=PACKAGED, content_type="application/yaml")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "CONFLICT"
    assert row_count(WorkflowVersion) == 0


def test_an_invalid_packaged_workflow_is_left_out_and_reported(app, user, packaged):
    assert sorted(packaged.packaged) == ["plugin.flow"]
    assert packaged.problems == {"packer:broken.yml": [
        "line 4: steps[0].skill: unknown skill 'no.such.skill'; installed: "
        + ", ".join(sorted(current_state(app).registry.skills))]}
    with pytest.raises(NotFoundError):
        resolve(app, user, "plugin.broken")


def test_a_catalog_reads_only_enabled_plugins_workflow_folders(tmp_path):
    (tmp_path / "one.yaml").write_text(PACKAGED)

    class WithFlows(Plugin):
        name = "with_flows"
        workflows = tmp_path

    class WithoutFlows(Plugin):
        name = "without"

    catalog = WorkflowCatalog(PluginRegistry(plugins={"with_flows": WithFlows(), "without": WithoutFlows()}),
                              TemplateEngine())
    catalog.load_packaged()
    # No skills are installed in this registry, so the skill check refuses the document.
    assert catalog.packaged == {}
    assert list(catalog.problems) == ["with_flows:one.yaml"]
    catalog = WorkflowCatalog(PluginRegistry(skills={"test.noop": object()},
                                             plugins={"with_flows": WithFlows(), "without": WithoutFlows()}),
                              TemplateEngine())
    catalog.load_packaged()
    assert list(catalog.packaged) == ["plugin.flow"] and catalog.problems == {}
