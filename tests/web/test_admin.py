"""The RQ dashboard at /admin/rq, for platform administrators only (app/web/admin.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask import Flask

from app.runtime import current_state


@pytest.fixture
def queued_job(app: Flask) -> str:
    """One job waiting on the app's queue, so the queue shows up in Redis."""
    with app.app_context():
        job = current_state().enqueue("app.jobs.purge_expired_sessions")
    return job.id


def queue_length(app: Flask) -> int:
    with app.app_context():
        return current_state().queue().count


def test_anonymous_visitors_are_sent_to_sign_in_and_come_back_after(client, make_user, submit):
    admin = make_user(platform_admin=True)

    response = client.get("/admin/rq/")

    assert response.status_code == 302
    login = urlsplit(response.headers["Location"])
    assert login.path == "/login"
    signed_in = submit(client, response.headers["Location"], {"email": admin.email, "password": admin.password})
    assert urlsplit(signed_in.headers["Location"]).path == "/admin/rq/"
    assert client.get(signed_in.headers["Location"]).status_code == 200


def test_a_signed_in_user_who_is_not_a_platform_admin_is_forbidden(browser):
    assert browser.get("/admin/rq/").status_code == 403
    assert browser.get("/admin/rq/0/data/queues.json").status_code == 403
    assert "RQ dashboard" not in browser.get("/").get_data(as_text=True)


def test_a_non_admin_cannot_empty_the_queue(app: Flask, browser, queued_job):
    response = browser.post("/admin/rq/queue/inkwright/queued/empty")

    assert response.status_code == 403
    assert queue_length(app) == 1


def test_a_platform_admin_sees_the_dashboard(app: Flask, make_user, sign_in):
    admin = sign_in(app.test_client(), make_user(platform_admin=True))

    response = admin.get("/admin/rq/")

    assert response.status_code == 200
    assert "RQ dashboard" in admin.get("/").get_data(as_text=True)  # linked from the top bar


def test_the_dashboards_data_lists_the_apps_queue(app: Flask, make_user, sign_in, queued_job):
    admin = sign_in(app.test_client(), make_user(platform_admin=True))

    response = admin.get("/admin/rq/0/data/queues.json")

    assert response.status_code == 200
    queues = {queue["name"]: queue for queue in response.json["queues"]}
    assert queues["inkwright"]["count"] == 1


def test_the_dashboard_shows_a_queued_job_of_ours(app: Flask, make_user, sign_in, queued_job):
    admin = sign_in(app.test_client(), make_user(platform_admin=True))

    response = admin.get(f"/admin/rq/0/data/job/{queued_job}.json")

    assert response.status_code == 200
    assert "purge_expired_sessions" in response.json["description"]
