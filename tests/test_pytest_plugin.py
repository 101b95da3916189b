"""The fixtures shipped to plugin authors (app/pytest_plugin.py, the ``pytest11`` entry point).

A plugin package's own test file, with no conftest of its own, is run in a fresh pytest
process: the fixtures must come from the installed core alone.
"""

from __future__ import annotations

import os

pytest_plugins = ["pytester"]

PLUGIN_AUTHORS_TESTS = '''
from app.runtime import current_state


def test_app_is_built_for_testing(app, registry):
    assert app.config["ENV"] == "testing"
    assert registry is current_state(app).registry


def test_client_serves_the_probes(client):
    assert client.get("/readyz").json["data"]["status"] == "ready"


def test_api_client_is_signed_in_as_a_user_with_a_tenant(api_client, user):
    me = api_client.get("/api/me")
    assert me.status_code == 200
    assert me.json["data"]["role"] == "owner"


def test_run_jobs_runs_what_was_queued(app, run_jobs):
    with app.app_context():
        current_state().enqueue("app.jobs.purge_expired_sessions")
    assert run_jobs() == 1


def test_each_test_starts_from_an_empty_database(repos):
    assert repos.users.count() == 0


def test_the_app_runs_on_the_clock_a_test_asks_for(app, clock):
    before = clock.now()
    clock.advance(3600)
    assert current_state(app).clock is clock
    assert (clock.now() - before).total_seconds() == 3600


def test_run_jobs_can_run_what_was_scheduled_for_later(app, run_jobs):
    from datetime import timedelta

    with app.app_context():
        current_state().queue().enqueue_in(timedelta(hours=1), "app.jobs.purge_expired_sessions")
    assert run_jobs() == 0
    assert run_jobs(scheduled=True) == 1
'''


def test_a_plugin_authors_tests_pass_with_no_conftest_of_their_own(pytester, fresh_database_url, monkeypatch,
                                                                   inkwright_redis_url):
    # The suite's own database is in use by this very run (and a PostgreSQL one would be
    # rebuilt by the inner session), so the inner run gets an empty one of the same kind;
    # INKWRIGHT_TEST_REDIS_URL, when set, passes through as this worker uses it. The inner run
    # is a plain one, not a pytest-xdist worker (it would make databases of its own).
    monkeypatch.setenv("INKWRIGHT_TEST_DATABASE_URL", fresh_database_url)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    if "INKWRIGHT_TEST_REDIS_URL" in os.environ:
        monkeypatch.setenv("INKWRIGHT_TEST_REDIS_URL", inkwright_redis_url)
    pytester.makepyfile(test_my_plugin=PLUGIN_AUTHORS_TESTS)
    assert not list(pytester.path.glob("conftest.py"))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "error::DeprecationWarning:app.*")
    result.assert_outcomes(passed=7)

