"""DraftForge's collaborators in a real browser (issue 16): an owner invites a second account
from the People tab → it sees the notification, accepts and edits a chapter as editor → the
owner demotes it to viewer and its save is refused → the owner removes it and the project is
not found for it; the people pages do not scroll sideways at 360, 1,280 or 1,920 px.

The real ``flask inkwright studio`` and Debian's headless Chromium, with two browser contexts
(two people, each with their own cookies) in one browser.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.axe import axe_script, violations

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"


def register(page, studio_url: str, name: str, email: str) -> None:
    """What the ``sign_up`` fixture does, on another person's page."""
    page.goto(f"{studio_url}/register")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{studio_url}/")


def misfits(page, pages: dict[str, str], axe: str | None) -> list[str]:
    """Each page that scrolls sideways at 360, 1,280 or 1,920 px, or that axe finds serious
    faults in (at 360 and 1,280 px, where npm could fetch axe); the viewport is left at 1,280."""
    found = []
    for width in (360, 1280, 1920):
        page.set_viewport_size({"width": width, "height": 800})
        for name, url in pages.items():
            page.goto(url)
            if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
                found.append(f"{name} scrolls sideways at {width} px")
            if axe is not None and width < 1920:
                found += [f"{name} at {width} px: {fault}" for fault in violations(page, axe)]
    page.set_viewport_size({"width": 1280, "height": 800})
    return found


@pytest.mark.timeout(180)
def test_invite_accept_edit_demote_and_remove_a_collaborator(page, studio_url, sign_up):
    sign_up("Agatha Christie", "agatha@example.com")
    page.goto(f"{studio_url}/draftforge/new")
    page.get_by_label("Name").fill("The Harbour Murders")
    page.get_by_label("Slug").fill("harbour-murders")
    page.get_by_role("button", name="Create the project").click()
    page.wait_for_url(re.compile(rf"{re.escape(studio_url)}/draftforge/[0-9a-f-]{{36}}$"))
    project = page.url
    page.get_by_role("link", name="New chapter").click()
    page.get_by_label("Title").fill("Arrival")
    page.get_by_label("Text").fill("She came home in the rain.\n")
    page.get_by_role("button", name="Add the chapter").click()
    page.wait_for_url(re.compile(r".*/files/chapters/01-arrival\.md$"))
    chapter = page.url

    other = page.context.browser.new_context()
    other.set_default_timeout(10_000)
    bea = other.new_page()
    register(bea, studio_url, "Bea Editor", "bea@example.com")
    assert bea.locator("#notifications-link").get_attribute("data-unread") == "0"

    # The owner invites her from the People tab; a bad address is said beside the field.
    page.goto(project)
    page.get_by_role("link", name="People").click()
    page.wait_for_url(f"{project}/people")
    people = page.url
    page.get_by_role("button", name="Send the invitation").click()
    assert "Name the person" in page.locator("#invitee-errors").inner_text()
    page.get_by_label("Username or email").fill("bea@example.com")
    page.get_by_label("Role").select_option("editor")
    page.get_by_role("button", name="Send the invitation").click()
    page.wait_for_url(people)
    assert "Invitation sent to bea@example.com" in page.locator(".flash-success").inner_text()
    # Until she accepts, the row does not say whether an account uses the address.
    row = page.locator("tr", has_text="bea@example.com")
    assert row.get_attribute("data-status") == "pending" and "Bea Editor" not in row.inner_text()

    # She sees it among her notifications, and accepts from her invitations.
    bea.reload()
    assert bea.locator("#notifications-link").get_attribute("data-unread") == "1"
    bea.locator("#notifications-link").click()
    bea.get_by_role("link", name="Answer the invitation").click()
    bea.wait_for_url(f"{studio_url}/invitations")
    axe = axe_script()  # None where npm cannot fetch it: the widths are checked all the same
    assert not (found := misfits(bea, {"invitations": bea.url}, axe)), found
    bea.get_by_role("button", name="Accept the invitation to The Harbour Murders").click()
    bea.wait_for_url(project)
    assert "You joined The Harbour Murders as editor." in bea.locator(".flash-success").inner_text()
    bea.locator("a.plugin-link", has_text="Projects").click()  # a guest of the tenant: only what is shared
    assert bea.locator("main table tbody tr").count() == 1 and bea.get_by_role("link", name="New project").count() == 0
    assert not (found := misfits(bea, {"projects (a guest's)": bea.url}, axe)), found

    # As editor she edits the chapter.
    bea.goto(chapter)
    bea.get_by_role("link", name="Edit", exact=True).click()
    bea.get_by_label("Text").fill("She came home in the rain. Bea was waiting.\n")
    bea.get_by_role("button", name="Save").click()
    bea.wait_for_url(chapter)
    assert "Bea was waiting." in bea.locator(".df-lines").inner_text()

    # Demoted to viewer while her editor is open: the save is refused.
    bea.get_by_role("link", name="Edit", exact=True).click()
    bea.get_by_label("Text").fill("A viewer's line.\n")
    page.goto(people)
    assert page.locator("tr", has_text="Bea Editor").get_attribute("data-status") == "accepted"
    page.get_by_label("Role of Bea Editor").select_option("viewer")
    page.get_by_role("button", name="Save the role of Bea Editor").click()
    page.wait_for_url(people)
    assert "Bea Editor is now viewer of the project." in page.locator(".flash-success").inner_text()
    with bea.expect_response(lambda answer: answer.request.method == "POST") as refused:
        bea.get_by_role("button", name="Save").click()
    assert refused.value.status == 403
    bea.goto(chapter)
    assert "Bea was waiting." in bea.locator(".df-lines").inner_text()
    assert bea.get_by_role("link", name="Edit", exact=True).count() == 0

    # The people pages fit every width, with their forms and buttons.
    assert not (found := misfits(page, {"people": people, "projects": f"{studio_url}/draftforge/"}, axe)), found

    # Removed, the project is not found for her.
    page.goto(people)
    page.get_by_role("button", name="Remove Bea Editor").click()
    page.wait_for_url(people)
    assert page.locator("tr", has_text="Bea Editor").get_attribute("data-status") == "removed"
    assert bea.goto(project).status == 404
    assert bea.goto(chapter).status == 404
    other.close()
