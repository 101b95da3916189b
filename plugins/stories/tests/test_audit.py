"""The stories plugin's audited actions (issue 14): deleting a story (API or page) and its
Markdown download each write exactly one audit entry through ``app.toolkit.record_audit``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLogEntry

AGENT = "stories-audit-probe/1.0"
CLIENT_IP = "192.0.2.45"
THROUGH_PROXY = {"User-Agent": AGENT, "X-Forwarded-For": CLIENT_IP}


@pytest.fixture
def inkwright_config(inkwright_config: dict[str, Any]) -> dict[str, Any]:
    return {**inkwright_config, "TRUSTED_PROXIES": 1}


def entries(app, action: str) -> list[AuditLogEntry]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == action)))
        db.session.expunge_all()
        return found


def check(entry: AuditLogEntry, user, story_id: str) -> None:
    assert (entry.user_id, entry.tenant_id) == (user.user.id, user.tenant_id)
    assert (entry.entity_type, entry.entity_id) == ("story", story_id)
    assert (entry.ip_address, entry.user_agent) == (CLIENT_IP, AGENT)


def test_deleting_a_story_over_the_api_writes_one_entry(app, api_client, user):
    story = api_client.post("/api/stories", json={"title": "The Salt Road"}).json["data"]
    assert api_client.delete(f"/api/stories/{story['id']}", headers=THROUGH_PROXY).status_code in (200, 204)
    assert api_client.delete(f"/api/stories/{story['id']}").status_code == 404  # nothing left to delete

    [entry] = entries(app, "story.delete")
    check(entry, user, story["id"])
    assert entry.changes == {"deleted": {"before": False, "after": True}}
    assert entry.details["title"] == "The Salt Road"


def test_deleting_a_story_on_its_page_writes_one_entry(app, api_client, browser, csrf_token, user):
    story = api_client.post("/api/stories", json={"title": "The Salt Road"}).json["data"]
    token = csrf_token(browser, f"/stories/{story['id']}")
    response = browser.post(f"/stories/{story['id']}/delete", data={"csrf_token": token}, headers=THROUGH_PROXY)
    assert response.status_code == 302

    [entry] = entries(app, "story.delete")
    check(entry, user, story["id"])
    assert entry.details["via"] == "session"


def test_downloading_a_written_story_writes_one_export_entry(app, generate, browser, user):
    story = generate()["story"]
    response = browser.get(f"/stories/{story['id']}/export.md", headers=THROUGH_PROXY)
    assert response.status_code == 200

    [entry] = entries(app, "story.export")
    check(entry, user, story["id"])
    assert entry.details["format"] == "markdown"
