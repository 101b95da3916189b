"""DraftForge's migration branch against its models, on an empty database of the suite's kind:
it gives exactly the models' schema, comes down and goes up again, and the collaborators'
revision gives every project made before it the owner row a new project gets."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
from alembic import command
from flask import current_app
from flask_migrate import downgrade, upgrade
from inkwright_draftforge.models import Collaborator, CollaboratorRole, InvitationStatus
from sqlalchemy import inspect, select, text

from app.extensions import db
from app.migrations import MIGRATIONS_DIRECTORY, upgrade_all
from app.runtime import auth_service

DRAFTFORGE_TABLES = {"draftforge_projects", "draftforge_project_stats", "draftforge_collaborators"}


@pytest.fixture
def fresh_app(fresh_database_url, make_app):
    return make_app(DATABASE_URL=fresh_database_url)


def tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_the_branch_gives_exactly_the_models_schema_and_comes_down_again(fresh_app):
    with fresh_app.app_context():
        upgrade_all()
        command.check(current_app.extensions["migrate"].migrate.get_config())
        assert DRAFTFORGE_TABLES <= tables()
        downgrade(directory=str(MIGRATIONS_DIRECTORY), revision="draftforge@base")
        assert not DRAFTFORGE_TABLES & tables() and "memberships" in tables()
        upgrade_all()
        assert DRAFTFORGE_TABLES <= tables()
        db.session.remove()


def test_projects_made_before_collaborators_get_their_owner_row(fresh_app):
    project_id = uuid.uuid4()
    with fresh_app.app_context():
        upgrade_all()
        downgrade(directory=str(MIGRATIONS_DIRECTORY), revision="6a9b7c8d9e05")  # before collaborators
        service = auth_service()
        user = service.register("early@example.com", "correct horse battery staple", "Early")
        owner = SimpleNamespace(user=SimpleNamespace(id=user.id), tenant_id=service.default_tenant(user))
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO draftforge_projects (id, tenant_id, user_id, name, slug, project_type, "
                "github_default_branch, chapters_directory, manuscript_directory, settings, language, status, "
                "visibility, created_at, updated_at) VALUES (:id, :tenant, :user, 'Early', 'early', 'novel', "
                "'main', 'chapters', 'manuscript', '{}', 'en', 'active', 'private', :now, :now)"),
                {"id": project_id.hex if db.engine.dialect.name == "sqlite" else project_id,
                 "tenant": owner.tenant_id.hex if db.engine.dialect.name == "sqlite" else owner.tenant_id,
                 "user": owner.user.id.hex if db.engine.dialect.name == "sqlite" else owner.user.id,
                 "now": "2026-12-01 10:00:00"})
        upgrade(directory=str(MIGRATIONS_DIRECTORY), revision="draftforge@head")
        (row,) = db.session.scalars(select(Collaborator).where(Collaborator.project_id == project_id)).all()
        assert row.user_id == owner.user.id and row.tenant_id == owner.tenant_id
        assert row.role == CollaboratorRole.OWNER and row.invitation_status == InvitationStatus.ACCEPTED
        assert all(row.permissions.values()) and len(row.permissions) == 8
        db.session.remove()
