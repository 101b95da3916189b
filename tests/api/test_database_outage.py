"""While the database cannot be reached the API says so — 503 ``SERVICE_UNAVAILABLE``,
retryable, with ``Retry-After`` — never a 500 (issue 11). The outage is made at the driver:
every new connection the engine opens fails as the driver fails when the server is down,
and the pool is emptied, so no connection made before the outage survives it."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event

from app.errors import DatabaseUnavailableError, RepositoryError
from app.extensions import db
from app.repositories.failures import database_unreachable, repository_error


@contextmanager
def database_down(app):
    with app.app_context():
        engine = db.engine
    refused = engine.dialect.dbapi.OperationalError

    def refuse(*_args, **_kwargs):
        raise refused('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    engine.dispose()
    event.listen(engine, "do_connect", refuse)
    try:
        yield
    finally:
        event.remove(engine, "do_connect", refuse)
        engine.dispose()


@pytest.mark.parametrize("path", ["/api/runs", "/api/me", "/api/workflows"])
def test_the_api_answers_503_with_retry_after_while_the_database_is_away(app, api_client, expect_error, path):
    assert api_client.get(path).status_code == 200
    with database_down(app):
        response = api_client.get(path)
        error = expect_error(response, 503, "SERVICE_UNAVAILABLE")
        assert error["retryable"] is True and response.headers["Retry-After"] == "5"
        assert "try again" in error["message"] and "Connection refused" not in response.get_data(as_text=True)
    assert api_client.get(path).status_code == 200  # back as soon as the database is


def test_a_write_during_the_outage_is_a_503_and_leaves_nothing(app, api_client, upload_workflow, expect_error):
    with database_down(app):
        response = api_client.post("/api/workflows", data='name: during\nversion: "1"\nsteps: []\n',
                                   content_type="application/yaml")
        expect_error(response, 503, "SERVICE_UNAVAILABLE")
    assert "during" not in str(api_client.get("/api/workflows").json["data"])


def test_a_bug_is_still_a_repository_error_not_an_outage(app):
    from sqlalchemy.exc import OperationalError

    missing_table = OperationalError("SELECT * FROM nowhere", {}, Exception("no such table: nowhere"))
    refused = OperationalError("SELECT 1", {}, Exception("could not connect to server: Connection refused"))

    assert not database_unreachable(missing_table) and database_unreachable(refused)
    assert type(repository_error("get", "Run", missing_table)) is RepositoryError
    assert isinstance(repository_error("get", "Run", refused), DatabaseUnavailableError)
