"""The feature flags page (platform administrators) and the flag the studio uses for real:
``studio.live_text``, which streams model text into the run page."""

from __future__ import annotations

import pytest

from app.feature_flags import FeatureFlags
from app.runtime import current_state, repositories


ECHO = 'name: echoes\nversion: "1"\nsteps:\n  - id: say\n    skill: test.echo\n    with: {text: "hello"}\n'


@pytest.fixture
def admin_browser(app, make_user, sign_in):
    return sign_in(app.test_client(), make_user(platform_admin=True))


def test_an_administrator_makes_changes_and_deletes_a_flag(admin_browser, submit):
    form = {"flag_key": "editor.new", "name": "New editor", "is_enabled": "on", "rollout_percentage": "30",
            "rollout_tiers": "creator, professional"}
    response = submit(admin_browser, "/admin/feature-flags", form, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Flag editor.new saved: on, 30 %." in page
    assert "<code>editor.new</code>" in page and "creator, professional" in page

    response = submit(admin_browser, "/admin/feature-flags", {**form, "rollout_percentage": "50"}, follow_redirects=True)
    assert "saved: on, 50 %." in response.get_data(as_text=True)

    response = submit(admin_browser, "/admin/feature-flags/editor.new/delete", page="/admin/feature-flags",
                      follow_redirects=True)
    assert "Flag editor.new deleted." in response.get_data(as_text=True)


@pytest.mark.parametrize("changes, field, message", [
    ({"rollout_percentage": "101"}, "rollout_percentage", "A whole number from 0 to 100."),
    ({"flag_key": "Bad Key"}, "flag_key", "2 to 100 lower-case letters, digits, dots, dashes and underscores."),
    ({"rollout_tiers": "gold"}, "rollout_tiers", "Tiers are creator, enterprise, free, professional."),
])
def test_bad_values_are_shown_beside_their_field(admin_browser, submit, errors_beside, changes, field, message):
    form = {"flag_key": "editor.new", "is_enabled": "on", "rollout_percentage": "10", **changes}
    response = submit(admin_browser, "/admin/feature-flags", form)

    assert response.status_code == 400
    assert errors_beside(response, field) == [message]
    assert "<code>editor.new</code>" not in response.get_data(as_text=True)


def test_the_page_is_for_platform_administrators_only(browser, submit):
    assert browser.get("/admin/feature-flags").status_code == 403
    assert "Feature flags" not in browser.get("/").get_data(as_text=True)


def test_the_live_text_flag_turns_the_run_pages_streaming_off(app, browser, user, api_client, run_jobs):
    uploaded = api_client.post("/api/workflows", data=ECHO, content_type="application/yaml")
    assert uploaded.status_code == 201, uploaded.get_data(as_text=True)
    started = api_client.post("/api/runs", json={"workflow": "echoes", "inputs": {}})
    assert started.status_code == 202, started.get_data(as_text=True)
    run_page = f"/runs/{started.json['data']['id']}"
    assert "live_text.js" in browser.get(run_page).get_data(as_text=True)  # no flag: on by default

    with app.app_context():
        FeatureFlags(repositories(), current_state().cache).create({"flag_key": "studio.live_text", "name": "Live text"})
    assert "live_text.js" not in browser.get(run_page).get_data(as_text=True)  # off for everyone
    with app.app_context():
        FeatureFlags(repositories(), current_state().cache).update(
            "studio.live_text", {"is_enabled": True, "rollout_user_ids": [str(user.user.id)]})
    assert "live_text.js" in browser.get(run_page).get_data(as_text=True)  # on for this person
