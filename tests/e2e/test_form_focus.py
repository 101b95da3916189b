"""A form that comes back with errors puts the cursor in the first field to fix (issue 13)."""

from __future__ import annotations


def test_the_first_invalid_field_has_the_focus_after_an_error(page, studio_url):
    page.goto(f"{studio_url}/register")
    page.get_by_label("Name").fill("Ada")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_load_state("load")

    assert page.locator('[aria-invalid="true"]').count() >= 1
    focused = page.evaluate("document.activeElement && document.activeElement.id")
    assert focused == page.locator('[aria-invalid="true"]').first.get_attribute("id") == "password"
