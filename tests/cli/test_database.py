"""app/cli/database.py: ``flask inkwright migrate`` brings an empty database to every head."""

from __future__ import annotations

from sqlalchemy import inspect, text

from app.extensions import db
from app.runtime import auth_service, repositories


def test_migrate_builds_the_schema_on_an_empty_database(make_app, fresh_database_url, run_command):
    app = make_app(DATABASE_URL=fresh_database_url)

    result = run_command("migrate", application=app)

    assert result.exit_code == 0, result.output
    assert "The database is at the head of every migration branch." in result.output
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        core = {mapper.local_table.name for mapper in db.Model.registry.mappers
                if mapper.class_.__module__.startswith("app.models.")}
        assert core <= tables
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM alembic_version")) >= 1
        # The schema is usable: an account can register on it.
        auth_service().register("first@example.com", "a long enough password")
        assert repositories().users.find_by_email("first@example.com") is not None
        db.session.remove()
        db.engine.dispose()


def test_migrate_twice_changes_nothing_the_second_time(make_app, fresh_database_url, run_command):
    app = make_app(DATABASE_URL=fresh_database_url)
    assert run_command("migrate", application=app).exit_code == 0
    with app.app_context():
        with db.engine.connect() as connection:
            heads = set(connection.scalars(text("SELECT version_num FROM alembic_version")))

    result = run_command("migrate", application=app)

    assert result.exit_code == 0, result.output
    with app.app_context():
        with db.engine.connect() as connection:
            assert set(connection.scalars(text("SELECT version_num FROM alembic_version"))) == heads
        db.engine.dispose()
