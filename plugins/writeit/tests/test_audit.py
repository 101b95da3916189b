"""WriteIt's audited actions (issue 14): an article's export, over the API and on its page,
and a primer's deletion each write exactly one audit entry through ``app.toolkit.record_audit``,
with the caller, the tenant, the entity, the client's address and user agent."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLogEntry

AGENT = "writeit-audit-probe/1.0"
CLIENT_IP = "192.0.2.44"
THROUGH_PROXY = {"User-Agent": AGENT, "X-Forwarded-For": CLIENT_IP}
PRIMER = {"primerId": "house-style", "name": "House Style", "content": "Short sentences."}


@pytest.fixture
def inkwright_config(inkwright_config: dict[str, Any]) -> dict[str, Any]:
    return {**inkwright_config, "TRUSTED_PROXIES": 1}


def entries(app, action: str) -> list[AuditLogEntry]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == action)))
        db.session.expunge_all()
        return found


def check(entry: AuditLogEntry, user, entity: tuple[str, str]) -> None:
    assert (entry.user_id, entry.tenant_id) == (user.user.id, user.tenant_id)
    assert (entry.entity_type, entry.entity_id) == entity
    assert (entry.ip_address, entry.user_agent) == (CLIENT_IP, AGENT)


def test_an_export_over_the_api_writes_one_entry(app, api_client, user):
    article = api_client.post("/api/writeit/articles", json={"topic": "Harbour pilots"}).json["data"]
    response = api_client.get(f"/api/writeit/articles/{article['id']}/export?format=yaml", headers=THROUGH_PROXY)
    assert response.status_code == 200

    [entry] = entries(app, "article.export")
    check(entry, user, ("article", article["id"]))
    assert entry.details["format"] == "yaml" and entry.details["filename"].endswith(".yaml")


def test_an_export_on_the_page_writes_one_entry_and_a_refused_one_none(app, api_client, browser, user):
    article = api_client.post("/api/writeit/articles", json={"topic": "Harbour pilots"}).json["data"]
    refused = browser.get(f"/articles/{article['id']}/export.markdown", headers=THROUGH_PROXY)  # unfinished
    assert refused.status_code == 302 and entries(app, "article.export") == []

    assert browser.get(f"/articles/{article['id']}/export.yaml", headers=THROUGH_PROXY).status_code == 200
    [entry] = entries(app, "article.export")
    check(entry, user, ("article", article["id"]))
    assert entry.details["via"] == "session"


def test_deleting_a_primer_writes_one_entry_and_a_refused_delete_none(app, api_client, user):
    assert api_client.post("/api/writeit/primers", json=PRIMER).status_code == 201
    assert api_client.delete("/api/writeit/primers/house-style", headers=THROUGH_PROXY).status_code == 204
    assert api_client.delete("/api/writeit/primers/house-style").status_code == 404  # gone: nothing to record

    [entry] = entries(app, "primer.delete")
    check(entry, user, ("primer", "house-style"))
    assert entry.details["name"] == "House Style"
