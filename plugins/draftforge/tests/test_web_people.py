"""DraftForge's people pages through the Flask test client (web_people.py): the People tab
invites, changes a role, revokes, resends and removes, with errors beside the form's fields
and the free tier's limit said as a message; the invitee's pages list their invitations and
shared projects, and the mail's link lets them accept (signed in), or sign in or register
and come back (signed out); a closed invitation answers 410, a bad link 404."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from inkwright_draftforge.models import Collaborator, Project, Visibility
from inkwright_draftforge.repositories import ProjectRepository
from inkwright_draftforge.repository_store import open_manuscript
from sqlalchemy import select

from app.extensions import db
from app.models import Membership, Notification, OutboxMessage, Role
from app.runtime import repositories
from app.usernames import ensure_username

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
CHAPTER = "chapters/01-arrival.md"
FILES = {CHAPTER: "# Arrival\n\nShe came home in the rain.\n"}
LINK = re.compile(r"/invitations/([A-Za-z0-9_-]{20,})")


@pytest.fixture(autouse=True)
def scoped_to_tenants(tenant_scope_guard):
    """The pages' requests stay within their tenant (the invitations' system scope aside)."""
    return tenant_scope_guard


@pytest.fixture
def project_id(make_project, user) -> str:
    return make_project(user, FILES)


@pytest.fixture
def owner(app, user):
    return sign_in(app.test_client(), user)


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


def token_of(response: Any) -> str:
    found = CSRF_INPUT.search(text_of(response))
    assert found, "no csrf_token on the page"
    return found.group(1)


def submit(client, path: str, data: dict[str, Any] | None = None, *, page: str | None = None):
    """Post a form as a browser does: with the CSRF token of the page it came from."""
    shown = client.get(page or path)
    assert shown.status_code == 200, f"GET {page or path} answered {shown.status_code}"
    return client.post(path, data={**(data or {}), "csrf_token": token_of(shown)})


def sign_in(client, account):
    answer = submit(client, "/login", {"email": account.email, "password": account.password})
    assert answer.status_code == 302, text_of(answer)
    return client


def beside(response: Any, field_id: str) -> list[str]:
    """The messages a page shows beside one form field (``<ul id="<field>-errors">``)."""
    block = re.search(rf'<ul class="errors" id="{field_id}-errors"[^>]*>(.*?)</ul>', text_of(response), re.DOTALL)
    return [html.unescape(m) for m in re.findall(r"<li>(.*?)</li>", block.group(1))] if block else []


def flashes(response: Any) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'<p class="flash flash-\w+" role="status">(.*?)</p>',
                                                  text_of(response), re.DOTALL)]


def invite(owner, project_id: str, invitee: str, role: str = "editor"):
    people = f"/draftforge/{project_id}/people"
    return submit(owner, people, {"invitee": invitee, "role": role})


def mailed_token(app, address: str) -> str:
    """The token in the newest invitation mailed to ``address``: only the mail has it."""
    with app.app_context():
        body = db.session.scalars(select(OutboxMessage.body).where(
            OutboxMessage.kind == "draftforge.invitation", OutboxMessage.to_address == address)
            .order_by(OutboxMessage.created_at.desc())).first()
    assert body, f"no invitation mailed to {address}"
    return LINK.search(body).group(1)


def row_of(app, project_id: str, **where: Any) -> Collaborator:
    with app.app_context():
        rows = db.session.scalars(select(Collaborator).where(
            Collaborator.project_id == uuid.UUID(project_id),
            *(getattr(Collaborator, key) == value for key, value in where.items()))).all()
        db.session.expunge_all()
    assert len(rows) == 1, rows
    return rows[0]


def username_of(app, account) -> str:
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            return ensure_username(repos, account.user.id)


def chapter_text(app, account, project_id: str) -> str:
    with app.app_context():
        project = repositories().for_tenant(account.tenant_id).get(ProjectRepository).get(uuid.UUID(project_id))
        return open_manuscript(project).read(CHAPTER)


def joined(app, owner, make_user, project_id: str, role: str = "editor"):
    """A second account, invited by its address and accepted on the mail's page: signed in
    and working in the project's tenant."""
    account = make_user(name=f"An {role.capitalize()}")
    assert invite(owner, project_id, account.email, role).status_code == 302
    client = sign_in(app.test_client(), account)
    token = mailed_token(app, account.email)
    accepted = submit(client, f"/invitations/{token}", {"accept": "Accept"})
    assert accepted.status_code == 302, text_of(accepted)
    assert accepted.headers["Location"] == f"/draftforge/{project_id}"
    return account, client


# The People tab ---------------------------------------------------------------------------

def test_an_invitation_by_username_reaches_the_invitees_list_and_notifications(app, owner, make_user, project_id,
                                                                              user):
    invitee = make_user(name="Bea Editor")
    name = username_of(app, invitee)
    sent = invite(owner, project_id, name, "editor")
    assert sent.status_code == 302 and sent.headers["Location"] == f"/draftforge/{project_id}/people"

    page = owner.get(sent.headers["Location"])
    text = text_of(page)
    assert flashes(page) == [f"Invitation sent to {name}: they join as editor once they accept."]
    assert text.index("Ada Writer") < text.index("Bea Editor")  # the owner first
    assert 'data-status="pending"' in text and mailed_token(app, invitee.email) not in text

    client = sign_in(app.test_client(), invitee)
    mine = text_of(client.get("/invitations"))
    assert "The Lighthouse" in mine and "Ada Writer invites you as" in mine and "<strong>editor</strong>" in mine
    assert "/accept" in mine and "/decline" in mine
    with app.app_context():
        [notice] = db.session.scalars(select(Notification).where(Notification.user_id == invitee.user.id)).all()
        assert (notice.type, notice.title, notice.action_url) == ("invitation", "Ada Writer invited you to "
                                                                  "The Lighthouse", "/invitations")
    notifications = client.get("/notifications")
    assert "Ada Writer invited you to The Lighthouse" in text_of(notifications)
    assert 'data-unread="1"' in text_of(notifications)


def test_an_editor_saves_demoted_to_viewer_is_refused_and_removed_finds_nothing(app, owner, make_user, project_id,
                                                                              user):
    editor, client = joined(app, owner, make_user, project_id, "editor")
    project = client.get(f"/draftforge/{project_id}")
    assert project.status_code == 200 and "You joined The Lighthouse as editor." in flashes(project)
    edit = f"/draftforge/{project_id}/edit/{CHAPTER}"
    page = client.get(edit)
    assert page.status_code == 200
    base = re.search(r'name="base"[^>]*value="([0-9a-f]{40})"', text_of(page)).group(1)
    saved = client.post(edit, data={"text": "# Arrival\n\nAn editor's line.\n", "base": base,
                                    "csrf_token": token_of(page)})
    assert saved.status_code == 302, text_of(saved)
    assert chapter_text(app, user, project_id) == "# Arrival\n\nAn editor's line.\n"

    row = row_of(app, project_id, user_id=editor.user.id)
    opened = client.get(edit)  # the editor has the page open when the owner demotes them
    demoted = submit(owner, f"/draftforge/{project_id}/people/{row.id}/role", {"role": "viewer"},
                     page=f"/draftforge/{project_id}/people")
    assert demoted.status_code == 302
    assert "An Editor is now viewer of the project." in flashes(owner.get(demoted.headers["Location"]))
    refused = client.post(edit, data={"text": "# Arrival\n\nA viewer's line.\n", "base": base,
                                      "csrf_token": token_of(opened)})
    assert refused.status_code == 403
    assert client.get(edit).status_code == 403
    assert client.get(f"/draftforge/{project_id}").status_code == 200  # a viewer still reads

    removed = submit(owner, f"/draftforge/{project_id}/people/{row.id}/remove", page=f"/draftforge/{project_id}/people")
    assert removed.status_code == 302
    people = owner.get(removed.headers["Location"])
    assert "An Editor is removed: their access ended." in flashes(people)
    assert f'id="person-{row.id}" data-status="removed"' in text_of(people)
    assert client.get(f"/draftforge/{project_id}").status_code == 404
    with app.app_context():
        # Their last project shared in the tenant gone, so is their guest membership.
        assert db.session.scalars(select(Membership).where(Membership.user_id == editor.user.id,
                                                           Membership.tenant_id == user.tenant_id)).all() == []


def test_a_guest_lists_only_what_is_shared_and_opens_it_from_their_own_tenant(app, owner, make_user, make_project,
                                                                              user, project_id):
    make_project(user, name="Private Notes", slug="private-notes")
    guest, client = joined(app, owner, make_user, project_id, "reviewer")
    listed = text_of(client.get("/draftforge/"))
    assert "The Lighthouse" in listed and "Private Notes" not in listed
    assert "You are a guest of this workspace" in listed and "New project" not in listed
    assert client.get("/draftforge/new").status_code == 403

    with client.session_transaction() as session:
        session["tenant_id"] = str(guest.tenant_id)  # back in their own studio
    own = client.get("/draftforge/")
    assert "The Lighthouse" in text_of(own) and 'id="shared-with-me"' in text_of(own)
    assert client.get(f"/draftforge/{project_id}").status_code == 404  # not in this tenant
    opened = submit(client, f"/invitations/shared/{project_id}/open", page="/draftforge/")
    assert opened.status_code == 302 and opened.headers["Location"] == f"/draftforge/{project_id}"
    assert client.get(f"/draftforge/{project_id}").status_code == 200
    assert "The Lighthouse" in text_of(client.get("/invitations"))  # shared with me, there too
    stranger = submit(client, f"/invitations/shared/{make_project(user, slug='other')}/open", page="/invitations")
    assert stranger.status_code == 404


def test_a_reader_of_the_tenant_sees_the_people_but_no_buttons_and_may_not_invite(app, owner, make_user, project_id,
                                                                                 user):
    assert invite(owner, project_id, "someone@example.com", "viewer").status_code == 302
    member = make_user(name="Mo Member")
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.for_tenant(user.tenant_id).memberships.add(Membership(user_id=member.user.id, role=Role.MEMBER))
    client = sign_in(app.test_client(), member)
    with client.session_transaction() as session:
        session["tenant_id"] = str(user.tenant_id)
    page = client.get(f"/draftforge/{project_id}/people")
    text = text_of(page)
    assert page.status_code == 200 and "someone@example.com" in text
    for button in ("Revoke", "Resend", "Remove", "Send the invitation", "/role"):
        assert button not in text
    refused = client.post(f"/draftforge/{project_id}/people", data={"invitee": "x@example.com", "role": "editor",
                                                                    "csrf_token": token_of(page)})
    assert refused.status_code == 403


def test_bad_invitations_are_refused_beside_their_fields_and_write_nothing(app, owner, project_id, row_count, user):
    people = f"/draftforge/{project_id}/people"
    empty = submit(owner, people, {"invitee": "  ", "role": "editor"})
    assert empty.status_code == 400
    assert beside(empty, "invitee") == ["Name the person: their username, or an email address."]
    owner_role = submit(owner, people, {"invitee": "someone@example.com", "role": "owner"})
    assert owner_role.status_code == 400 and beside(owner_role, "role") == ["Not a valid choice."]
    unknown = submit(owner, people, {"invitee": "nobody-by-that-name", "role": "editor"})
    assert unknown.status_code == 400
    assert beside(unknown, "invitee") == ["Nobody has that username; invite them by email instead."]
    themselves = submit(owner, people, {"invitee": username_of(app, user), "role": "editor"})
    assert themselves.status_code == 409 and beside(themselves, "invitee") == ["That is the project's owner."]
    assert row_count(Collaborator) == 1  # the owner's row alone
    assert row_count(OutboxMessage) == 0


def test_a_sixth_collaborator_on_the_free_tier_is_a_message_not_a_failure(app, owner, project_id, row_count):
    for number in range(5):
        assert invite(owner, project_id, f"reader{number}@example.com", "viewer").status_code == 302
    sixth = invite(owner, project_id, "reader5@example.com", "viewer")
    assert sixth.status_code == 403
    assert flashes(sixth) == ["A project of the free tier has at most 5 collaborators (pending invitations "
                              "included); remove one or upgrade."]
    assert beside(sixth, "invitee") == []
    assert "5 of 5 collaborators" in text_of(sixth)
    assert row_count(Collaborator) == 6


def test_an_already_collaborating_person_is_said_beside_the_field(app, owner, make_user, project_id):
    editor, _client = joined(app, owner, make_user, project_id, "editor")
    again = invite(owner, project_id, editor.email, "viewer")
    assert again.status_code == 409 and beside(again, "invitee") == ["Already a collaborator."]


def test_a_role_outside_the_choices_is_refused_beside_that_rows_select(app, owner, make_user, project_id):
    editor, _client = joined(app, owner, make_user, project_id, "editor")
    row = row_of(app, project_id, user_id=editor.user.id)
    refused = submit(owner, f"/draftforge/{project_id}/people/{row.id}/role", {"role": "owner"},
                     page=f"/draftforge/{project_id}/people")
    assert refused.status_code == 400
    assert beside(refused, f"role-{row.id}") == ["Not a valid choice."]
    assert row_of(app, project_id, user_id=editor.user.id).role.value == "editor"


def test_revoking_closes_the_link_and_resending_mails_a_new_one(app, owner, project_id):
    assert invite(owner, project_id, "later@example.com", "viewer").status_code == 302
    first = mailed_token(app, "later@example.com")
    row = row_of(app, project_id, invited_email="later@example.com")
    people = f"/draftforge/{project_id}/people"
    revoked = submit(owner, f"{people}/{row.id}/revoke", page=people)
    assert revoked.status_code == 302
    page = owner.get(people)
    assert "The invitation to later@example.com is revoked: its link no longer works." in flashes(page)
    assert f'id="person-{row.id}" data-status="revoked"' in text_of(page)
    anonymous = app.test_client()
    assert anonymous.get(f"/invitations/{first}").status_code == 410  # the link says it was revoked

    resent = submit(owner, f"{people}/{row.id}/resend", page=people)
    assert resent.status_code == 302
    assert "Invitation sent again to later@example.com, with a new link." in flashes(owner.get(people))
    second = mailed_token(app, "later@example.com")
    assert second != first and anonymous.get(f"/invitations/{second}").status_code == 200
    again = submit(owner, f"{people}/{row.id}/revoke", page=people)
    assert again.status_code == 302
    twice = submit(owner, f"{people}/{row.id}/revoke", page=people)  # no longer pending: said, not a 500
    assert twice.status_code == 302
    assert any("Only a pending invitation can be revoked" in said for said in flashes(owner.get(people)))


# The invitee's side -----------------------------------------------------------------------

def test_signed_out_the_link_offers_to_register_with_the_address_and_comes_back(app, owner, project_id):
    assert invite(owner, project_id, "newcomer@example.com", "editor").status_code == 302
    token = mailed_token(app, "newcomer@example.com")
    visitor = app.test_client()
    page = visitor.get(f"/invitations/{token}")
    text = html.unescape(text_of(page))
    assert page.status_code == 200
    assert "Ada Writer invites you to work on" in text and "The Lighthouse" in text and "<strong>editor</strong>" in text
    assert 'name="accept"' not in text and 'aria-label="Project"' not in text  # no buttons, no project tabs
    register = re.search(r'<a class="secondary df-button" href="([^"]+)">Register</a>', text).group(1)
    assert parse_qs(urlsplit(register).query) == {"next": [f"/invitations/{token}"], "email": ["newcomer@example.com"]}
    login = re.search(r'<a class="primary df-button" href="([^"]+)">Sign in</a>', text).group(1)
    assert urlsplit(login).path == "/login" and parse_qs(urlsplit(login).query)["next"] == [f"/invitations/{token}"]

    form = visitor.get(register)
    assert 'value="newcomer@example.com"' in text_of(form)
    registered = visitor.post(register, data={"name": "New Comer", "email": "newcomer@example.com",
                                              "password": "a long enough password",
                                              "confirm": "a long enough password", "csrf_token": token_of(form)})
    assert registered.status_code == 302 and registered.headers["Location"] == f"/invitations/{token}"
    accepted = submit(visitor, f"/invitations/{token}", {"accept": "Accept"})
    assert accepted.status_code == 302 and accepted.headers["Location"] == f"/draftforge/{project_id}"
    assert visitor.get(f"/draftforge/{project_id}").status_code == 200


def test_an_expired_invitation_answers_410_and_reads_expired_on_the_people_tab(app, clock, owner, make_user,
                                                                                project_id):
    late = make_user(name="Lou Late")
    assert invite(owner, project_id, late.email, "viewer").status_code == 302
    token = mailed_token(app, late.email)
    clock.advance(timedelta(days=7, seconds=1).total_seconds())

    client = sign_in(app.test_client(), late)
    page = client.get(f"/invitations/{token}")
    assert page.status_code == 410
    assert "This invitation is expired: it cannot be answered now." in html.unescape(text_of(page))
    assert 'name="accept"' not in text_of(page)
    assert app.test_client().get(f"/invitations/{token}").status_code == 410  # signed out alike
    assert "No invitations wait for you." not in text_of(client.get("/invitations"))  # still listed, as expired
    row = row_of(app, project_id, user_id=late.user.id)
    by_id = submit(client, f"/invitations/by-id/{row.id}/accept", page="/invitations")
    assert by_id.status_code == 302 and by_id.headers["Location"] == "/invitations"
    assert any("expired" in said for said in flashes(client.get("/invitations")))
    people = text_of(owner.get(f"/draftforge/{project_id}/people"))
    assert f'id="person-{row.id}" data-status="expired"' in people


def test_declining_from_the_list_says_so_and_leaves_nothing_to_answer(app, owner, make_user, project_id, user):
    invitee = make_user(name="Nora No")
    assert invite(owner, project_id, invitee.email, "viewer").status_code == 302
    client = sign_in(app.test_client(), invitee)
    row = row_of(app, project_id, user_id=invitee.user.id)
    declined = submit(client, f"/invitations/by-id/{row.id}/decline", page="/invitations")
    assert declined.status_code == 302 and declined.headers["Location"] == "/invitations"
    after = client.get("/invitations")
    assert "You declined the invitation to The Lighthouse; whoever invited you is told." in flashes(after)
    assert "No invitations wait for you." in text_of(after)
    assert client.get(f"/draftforge/{project_id}").status_code == 404


def test_someone_elses_link_is_refused_and_a_bad_link_is_not_found(app, owner, make_user, project_id):
    assert invite(owner, project_id, "meant-for@example.com", "viewer").status_code == 302
    token = mailed_token(app, "meant-for@example.com")
    other = sign_in(app.test_client(), make_user(name="Not Meant"))
    taken = submit(other, f"/invitations/{token}", {"accept": "Accept"})
    assert taken.status_code == 403 and "sent to another address" in html.unescape(text_of(taken))
    assert row_of(app, project_id, invited_email="meant-for@example.com").invitation_status.value == "pending"
    missing = other.get("/invitations/not-a-real-token-at-all")
    assert missing.status_code == 404 and "Invitation not found" in text_of(missing)
    assert other.post(f"/invitations/{token}", data={"accept": "Accept"}).status_code == 400  # no CSRF token
    assert app.test_client().post(f"/invitations/{token}", data={"accept": "Accept"}).status_code == 400
    assert row_of(app, project_id, invited_email="meant-for@example.com").invitation_status.value == "pending"


def test_an_unlisted_project_opens_for_a_reader_of_another_workspace_with_its_link(app, make_user, project_id):
    browser = sign_in(app.test_client(), make_user(name="Reader"))
    assert browser.get(f"/draftforge/{project_id}").status_code == 404
    with app.app_context():
        db.session.get(Project, uuid.UUID(project_id)).visibility = Visibility.UNLISTED
        db.session.commit()
    page = browser.get(f"/draftforge/{project_id}")
    assert page.status_code == 200 and "Arrival" in page.get_data(as_text=True)
    assert f"/draftforge/{project_id}/people" not in page.get_data(as_text=True)  # its people are its tenant's
    assert browser.get(f"/draftforge/{project_id}/people").status_code == 403
    assert browser.get(f"/draftforge/{project_id}/chapters/new").status_code == 403
