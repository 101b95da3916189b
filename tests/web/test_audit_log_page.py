"""The audit log's studio page (app/web/audit_log.py): owners and admins see their tenant's
entries with filters and pages, platform administrators every tenant's; members and viewers
are refused; a bad filter is shown beside its field, never a 500. Signing in and out of the
browser are audited too."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLogEntry, Role, utcnow

AUDIT_LINK = '<a href="/audit-log"'


def actions_on(page: str) -> list[str]:
    return re.findall(r'<tr data-action="([^"]+)">', page)


def test_an_owner_sees_the_tenants_entries_newest_first_and_the_link(browser, user):
    response = browser.get("/audit-log")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert actions_on(page)[:2] == ["auth.login", "auth.register"]
    assert "Ada Writer" in page  # people are shown by name
    assert AUDIT_LINK in browser.get("/").get_data(as_text=True)
    assert 'aria-current="page">Audit log' in page


def test_filters_narrow_the_list_and_keep_their_values(browser, user, submit):
    assert submit(browser, "/api-keys", {"name": "ci runner", "role": "member"}).status_code in (302, 303)

    page = browser.get("/audit-log?action=api_key.create").get_data(as_text=True)
    assert actions_on(page) == ["api_key.create"]
    assert 'value="api_key.create"' in page
    assert actions_on(browser.get(f"/audit-log?user={user.email}").get_data(as_text=True))[0] == "api_key.create"
    assert actions_on(browser.get("/audit-log?since=2000-01-01&until=2000-01-02").get_data(as_text=True)) == []
    assert actions_on(browser.get("/audit-log?entity_type=api_key").get_data(as_text=True)) == ["api_key.create"]


def test_pages_of_entries(browser, app, user):
    with app.app_context():
        with db.engine.begin() as connection:  # thirty sign-ins' worth of entries, quickly
            connection.execute(AuditLogEntry.__table__.insert(), [
                {"id": uuid.uuid4(), "tenant_id": user.tenant_id, "user_id": user.user.id,
                 "action": "auth.login", "entity_type": "user", "entity_id": str(user.user.id),
                 "created_at": utcnow()} for _ in range(30)])
    first = browser.get("/audit-log").get_data(as_text=True)
    assert len(actions_on(first)) == 25 and 'rel="next"' in first and "Page 1 of 2" in first
    second = browser.get("/audit-log?page=2").get_data(as_text=True)
    assert 'rel="prev"' in second and "Page 2 of 2" in second
    assert "Page 2 of 2" in browser.get("/audit-log?page=99").get_data(as_text=True)


def test_bad_filters_are_shown_beside_their_fields_not_a_500(browser, errors_beside):
    for query, field in (("since=yesterday", "since"), ("since=2026-12-05&until=2026-12-01", "until"),
                         ("user=nobody@example.com", "user"), ("action=" + "x" * 101, "action"),
                         ("entity_id=a%00b", "entity_id")):
        response = browser.get(f"/audit-log?{query}")
        assert response.status_code == 400, query
        assert errors_beside(response, field), query


def test_members_and_viewers_are_refused_and_see_no_link(client, make_user, add_member, sign_in, user):
    for role in (Role.MEMBER, Role.VIEWER):
        account = make_user()
        add_member(user.tenant_id, account, role)
        visitor = sign_in(client.application.test_client(), account)
        with visitor.session_transaction() as session:
            session["tenant_id"] = str(user.tenant_id)
        response = visitor.get("/audit-log")
        assert response.status_code == 403
        assert AUDIT_LINK not in visitor.get("/").get_data(as_text=True)


def test_a_platform_administrator_sees_every_tenant(client, make_user, sign_in):
    stranger = make_user(name="Stan Stranger")
    admin = make_user(name="Pat Platform", platform_admin=True)
    sign_in(client.application.test_client(), stranger)
    page = sign_in(client, admin).get("/audit-log").get_data(as_text=True)
    assert "Stan Stranger" in page and "Pat Platform" in page
    assert "<th scope=\"col\">Tenant</th>" in page


def test_signing_in_and_out_of_the_browser_is_audited(app, browser, submit, user):
    assert submit(browser, "/logout", page="/").status_code == 302
    with app.app_context():
        found = [(entry.action, entry.user_id, entry.tenant_id)
                 for entry in db.session.scalars(select(AuditLogEntry).order_by(AuditLogEntry.created_at))]
    assert found[-2:] == [("auth.login", user.user.id, user.tenant_id), ("auth.logout", user.user.id, user.tenant_id)]
