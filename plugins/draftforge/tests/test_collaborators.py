"""A project's collaborators and invitations over the JSON API (seed 003 table 7, rules 6):
invite, accept, decline, revoke, remove, change a role, resend; a guest reaches only what was
shared with them; the limit of the free tier; expiry on the app's clock."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from inkwright_draftforge.models import Collaborator
from sqlalchemy import event, select

from app.extensions import db
from app.models import AuditLogEntry, Membership, Notification, OutboxMessage, Role

pytestmark = pytest.mark.usefixtures("tenant_scope_guard")
CHAPTER = "chapters/01-arrival.md"
FILES = {CHAPTER: "# Arrival\n\nShe came home in the rain.\n"}


@pytest.fixture
def project_id(make_project, user):
    return make_project(user, FILES)


@pytest.fixture
def people(api_client, project_id):
    return f"/api/draftforge/projects/{project_id}/collaborators"


def invite(api_client, people, invitee: str, role: str = "editor", **more):
    answer = api_client.post(people, json={"invitee": invitee, "role": role, **more})
    assert answer.status_code == 201, answer.json
    return answer.json["data"]


def joined(app, login_api, make_user, api_client, people, role: str = "editor", account=None):
    """A second account, invited and accepted; its client speaks in the project's tenant."""
    account = account or make_user(name=f"An {role}")
    token = invite(api_client, people, account.email, role)["invitationToken"]
    client = login_api(account)
    accepted = client.post("/api/invitations/accept", json={"token": token})
    assert accepted.status_code == 200, accepted.json
    return account, client


def in_tenant(user) -> dict[str, str]:
    return {"X-Tenant-ID": str(user.tenant_id)}


def chapter_write(client, user, project_id: str, text: str):
    return client.put(f"/api/draftforge/projects/{project_id}/chapters/{CHAPTER}", json={"text": text},
                      headers=in_tenant(user))


def test_a_new_project_lists_its_owner_alone(api_client, people, user):
    listed = api_client.get(people).json["data"]
    assert [(row["role"], row["invitationStatus"], row["userId"]) for row in listed["items"]] == \
        [("owner", "accepted", str(user.user.id))]
    assert listed["limit"] == 5 and listed["counted"] == 0
    assert listed["items"][0]["permissions"] == {key: True for key in listed["items"][0]["permissions"]}


def test_an_invitation_is_the_same_answer_for_an_account_and_an_unknown_address(app, api_client, people,
                                                                               make_user):
    known = make_user(name="Known")
    to_account = invite(api_client, people, known.email)
    to_nobody = invite(api_client, people, "nobody-yet@example.com")

    shapes = [{key: value for key, value in answer["collaborator"].items()
               if key not in ("id", "invitee", "createdAt", "updatedAt", "invitationExpiresAt")}
              for answer in (to_account, to_nobody)]
    assert shapes[0] == shapes[1] and shapes[0]["userId"] is None and shapes[0]["invitationStatus"] == "pending"
    assert to_account["invitationToken"] != to_nobody["invitationToken"]
    with app.app_context():
        rows = {row.invited_email: row for row in db.session.scalars(select(Collaborator))}
        # Only the token's SHA-256 is kept.
        assert to_account["invitationToken"] not in {row.invitation_token for row in rows.values()}
        mails = {mail.to_address: mail for mail in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.kind == "draftforge.invitation"))}
        assert to_account["invitationToken"] in mails[known.email].body
        assert "register with nobody-yet@example.com" in mails["nobody-yet@example.com"].body
        (note,) = db.session.scalars(select(Notification).where(Notification.user_id == known.user.id,
                                                                Notification.type == "invitation"))
        assert to_account["invitationToken"] not in (note.action_url or "")  # the token lives in the mail


def test_accepting_makes_a_guest_who_edits_as_editor_and_nothing_of_the_tenant_else(
        app, api_client, people, project_id, user, make_user, login_api, make_project):
    other = make_project(user, {}, name="Secret", slug="secret")
    guest, client = joined(app, login_api, make_user, api_client, people, "editor")

    with app.app_context():
        membership = db.session.scalars(select(Membership).where(Membership.user_id == guest.user.id,
                                                                 Membership.tenant_id == user.tenant_id)).one()
        assert membership.role == Role.GUEST
    assert chapter_write(client, user, project_id, "# Arrival\n\nA guest's line.\n").status_code == 200
    listed = client.get("/api/draftforge/projects", headers=in_tenant(user)).json["data"]
    assert [item["id"] for item in listed["items"]] == [project_id]  # the shared one only
    assert client.get(f"/api/draftforge/projects/{other}", headers=in_tenant(user)).status_code == 404
    for tenant_wide in ("/api/runs", "/api/workflows", f"/api/tenants/{user.tenant_id}/members", "/api/audit-log"):
        refused = client.get(tenant_wide, headers=in_tenant(user))
        assert refused.status_code == 403, (tenant_wide, refused.json)
    key = client.post("/api/api-keys", json={"name": "git"}, headers=in_tenant(user))
    assert key.status_code == 201 and key.json["data"]["role"] == "guest"
    with app.app_context():
        actions = set(db.session.scalars(select(AuditLogEntry.action)))
        assert {"collaborator.invite", "collaborator.accept"} <= actions
        told = db.session.scalars(select(Notification.title).where(Notification.user_id == user.user.id)).all()
        assert any("accepted your invitation" in title for title in told)


def test_demoted_to_viewer_a_save_is_refused_and_removed_the_project_is_gone(
        app, api_client, people, project_id, user, make_user, login_api):
    guest, client = joined(app, login_api, make_user, api_client, people, "editor")
    row = next(item for item in api_client.get(people).json["data"]["items"] if item["role"] == "editor")

    demoted = api_client.patch(f"{people}/{row['id']}", json={"role": "viewer"})
    assert demoted.status_code == 200 and demoted.json["data"]["permissions"]["can_write"] is False
    refused = chapter_write(client, user, project_id, "# Arrival\n\nNot allowed.\n")
    assert refused.status_code == 403 and refused.json["error"]["details"]["permission"] == "can_write"
    assert client.get(f"/api/draftforge/projects/{project_id}", headers=in_tenant(user)).status_code == 200

    removed = api_client.delete(f"{people}/{row['id']}")
    assert removed.status_code == 200 and removed.json["data"]["invitationStatus"] == "removed"
    # Their last shared project gone, so is their guest membership: the tenant is closed to them.
    gone = client.get(f"/api/draftforge/projects/{project_id}", headers=in_tenant(user))
    assert gone.status_code in (401, 403, 404), gone.json
    with app.app_context():
        assert db.session.scalars(select(Membership).where(Membership.user_id == guest.user.id,
                                                           Membership.tenant_id == user.tenant_id)).first() is None


def test_permission_overrides_sit_on_top_of_the_role(app, api_client, people, project_id, user, make_user,
                                                     login_api):
    _guest, client = joined(app, login_api, make_user, api_client, people, "reviewer")
    row = next(item for item in api_client.get(people).json["data"]["items"] if item["role"] == "reviewer")
    assert row["permissions"] == {"can_read": True, "can_write": False, "can_delete": False, "can_invite": False,
                                  "can_run_agents": True, "can_view_stats": True, "can_export": False,
                                  "can_manage_settings": False}
    assert chapter_write(client, user, project_id, "# Arrival\n\nNo.\n").status_code == 403

    granted = api_client.patch(f"{people}/{row['id']}", json={"permissions": {"can_write": True}})
    assert granted.json["data"]["role"] == "reviewer" and granted.json["data"]["permissions"]["can_write"] is True
    assert chapter_write(client, user, project_id, "# Arrival\n\nNow yes.\n").status_code == 200
    bad = api_client.patch(f"{people}/{row['id']}", json={"permissions": {"can_fly": True}})
    assert bad.status_code == 400


def test_a_sixth_collaborator_on_the_free_tier_is_refused(api_client, people, make_user):
    for number in range(5):
        invite(api_client, people, f"reader{number}@example.com", "viewer")
    sixth = api_client.post(people, json={"invitee": "reader5@example.com", "role": "viewer"})
    assert sixth.status_code == 403 and sixth.json["error"]["code"] == "COLLABORATOR_LIMIT_REACHED"
    assert sixth.json["error"]["details"]["limit"] == 5
    # A revoked invitation frees its place.
    first = api_client.get(people).json["data"]["items"][1]
    assert api_client.patch(f"{people}/{first['id']}", json={"revoke": True}).status_code == 200
    assert api_client.post(people, json={"invitee": "reader5@example.com", "role": "viewer"}).status_code == 201


def test_an_expired_invitation_cannot_be_accepted_and_a_resend_opens_it_again(
        app, clock, api_client, people, make_user, login_api):
    invitee = make_user(name="Late")
    answer = invite(api_client, people, invitee.email, "viewer")
    client = login_api(invitee)
    clock.advance(timedelta(days=7, seconds=1).total_seconds())

    listed = api_client.get(people).json["data"]["items"]
    assert [row["invitationStatus"] for row in listed] == ["accepted", "expired"]
    late = client.post("/api/invitations/accept", json={"token": answer["invitationToken"]})
    assert late.status_code == 410 and late.json["error"]["code"] == "INVITATION_EXPIRED"

    resent = api_client.post(f"{people}/{answer['collaborator']['id']}/resend")
    assert resent.status_code == 200
    assert client.post("/api/invitations/accept", json={"token": answer["invitationToken"]}).status_code == 404
    assert client.post("/api/invitations/accept",
                       json={"token": resent.json["data"]["invitationToken"]}).status_code == 200


def test_declining_tells_the_inviter_and_a_used_token_is_closed(app, api_client, people, make_user, login_api,
                                                               user):
    invitee = make_user(name="No thanks")
    answer = invite(api_client, people, invitee.email, "viewer")
    client = login_api(invitee)
    mine = client.get("/api/invitations").json["data"]["items"]
    assert [(item["projectName"], item["role"]) for item in mine] == [("The Lighthouse", "viewer")]

    declined = client.post("/api/invitations/decline", json={"invitationId": mine[0]["id"]})
    assert declined.status_code == 200 and declined.json["data"]["invitation"]["invitationStatus"] == "declined"
    assert client.get("/api/invitations").json["data"]["items"] == []
    reused = client.post("/api/invitations/accept", json={"token": answer["invitationToken"]})
    assert reused.status_code == 410 and reused.json["error"]["code"] == "INVITATION_INVALID"
    with app.app_context():
        titles = db.session.scalars(select(Notification.title).where(Notification.user_id == user.user.id)).all()
        assert any("declined your invitation" in title for title in titles)


def test_an_invitation_to_another_address_cannot_be_taken(api_client, people, make_user, login_api):
    answer = invite(api_client, people, "meant-for@example.com", "viewer")
    thief = login_api(make_user(name="Someone else"))
    taken = thief.post("/api/invitations/accept", json={"token": answer["invitationToken"]})
    assert taken.status_code == 403 and taken.json["error"]["code"] == "INVITATION_NOT_FOR_YOU"


def test_only_those_who_may_invite_do_and_nobody_makes_a_second_owner(app, api_client, people, make_user,
                                                                      login_api, user):
    _viewer, client = joined(app, login_api, make_user, api_client, people, "viewer")
    refused = client.post(people, json={"invitee": "x@example.com"}, headers=in_tenant(user))
    assert refused.status_code == 403
    owner = api_client.post(people, json={"invitee": "y@example.com", "role": "owner"})
    assert owner.status_code == 400
    again = api_client.post(people, json={"invitee": user.email})
    assert again.status_code == 409 and again.json["error"]["code"] == "ALREADY_COLLABORATOR"
    owner_row = api_client.get(people).json["data"]["items"][0]
    for change in (api_client.patch(f"{people}/{owner_row['id']}", json={"role": "viewer"}),
                   api_client.delete(f"{people}/{owner_row['id']}")):
        assert change.status_code == 409 and change.json["error"]["code"] == "OWNER_REQUIRED"


def test_another_tenants_project_has_no_people_to_show(api_client, people, make_user, login_api):
    stranger = login_api(make_user(name="Stranger"))
    assert stranger.get(people).status_code == 404
    assert stranger.post(people, json={"invitee": "z@example.com"}).status_code == 404


def test_last_accessed_at_is_written_at_most_once_a_minute(app, clock, api_client, people, project_id, user,
                                                           make_user, login_api):
    guest, client = joined(app, login_api, make_user, api_client, people, "viewer")

    def stamp():
        with app.app_context():
            return db.session.scalar(select(Collaborator.last_accessed_at).where(
                Collaborator.user_id == guest.user.id))
    read = f"/api/draftforge/projects/{project_id}"
    assert client.get(read, headers=in_tenant(user)).status_code == 200
    first = stamp()
    clock.advance(30)
    client.get(read, headers=in_tenant(user))
    assert stamp() == first
    clock.advance(31)
    client.get(read, headers=in_tenant(user))
    assert stamp() > first


def test_a_bad_project_or_collaborator_id_is_not_found(api_client, people):
    assert api_client.patch(f"{people}/{uuid.uuid4()}", json={"role": "viewer"}).status_code == 404
    assert api_client.delete(f"{people}/not-an-id").status_code == 404
    assert api_client.get(f"/api/draftforge/projects/{uuid.uuid4()}/collaborators").status_code == 404


def test_an_editor_exports_the_shared_project_and_a_viewer_may_not(app, api_client, people, project_id, user,
                                                                   make_user, login_api, run_jobs):
    _editor, editor = joined(app, login_api, make_user, api_client, people, "editor")
    _viewer, viewer = joined(app, login_api, make_user, api_client, people, "viewer")
    body = {"subjectKind": "draftforge.project", "subjectId": project_id, "exportType": "html"}

    started = editor.post("/api/exports", json=body, headers=in_tenant(user))
    assert started.status_code == 202, started.json
    run_jobs()
    done = editor.get(f"/api/exports/{started.json['data']['id']}", headers=in_tenant(user)).json["data"]
    assert done["status"] == "completed"
    # A viewer's role has no can_export: the project is not theirs to export.
    assert viewer.post("/api/exports", json=body, headers=in_tenant(user)).status_code == 404
    # And nobody sees another's exports: the editor's is not in the viewer's list.
    assert viewer.get("/api/exports", headers=in_tenant(user)).json["data"]["items"] == []


def test_the_permission_check_costs_one_query_a_request(app, api_client, people, project_id, user, make_user,
                                                        login_api):
    _editor, client = joined(app, login_api, make_user, api_client, people, "editor")
    client.get(f"/api/draftforge/projects/{project_id}", headers=in_tenant(user))  # the access stamp, once
    seen = []

    def count(_conn, _cursor, statement, *_args):
        if "FROM draftforge_collaborators" in statement:
            seen.append(statement)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        # The lookup of the caller's collaborator row is the check's one query, made once
        # however often the request asks (project_access, may()).
        assert client.get(f"/api/draftforge/projects/{project_id}/chapters", headers=in_tenant(user)).status_code == 200
        assert len(seen) == 1, seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_an_unlisted_project_is_read_by_anyone_signed_in_with_its_link_and_written_by_nobody_else(
        app, api_client, project_id, make_user, login_api):
    stranger = login_api(make_user(name="Reader"))
    project = f"/api/draftforge/projects/{project_id}"
    assert stranger.get(project).status_code == 404
    assert api_client.patch(project, json={"visibility": "unlisted"}).status_code == 200

    assert stranger.get(project).status_code == 200
    assert stranger.get(f"{project}/chapters/{CHAPTER}").status_code == 200
    refused = stranger.put(f"{project}/chapters/{CHAPTER}", json={"text": "# Arrival\n\nMine.\n"})
    assert refused.status_code == 403
    assert stranger.get(f"{project}/collaborators").status_code == 403  # the text is open, its people not
    # Not listed among their projects, and private again it is gone.
    assert project_id not in [p["id"] for p in stranger.get("/api/draftforge/projects").json["data"]["items"]]
    assert api_client.patch(project, json={"visibility": "private"}).status_code == 200
    assert stranger.get(project).status_code == 404
