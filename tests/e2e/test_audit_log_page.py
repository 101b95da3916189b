"""The audit log in a real browser (issue 14): a new owner creates an API key and changes
nothing else, then finds their sign-up, sign-in and the key on ``/audit-log`` — linked from
the header — filters to the key, and the page never scrolls sideways on a phone (390 px) or
a desktop (1,280 px), its table turning into cards on the phone."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_page_widths import SCREENSHOTS, sideways_overflow, widest_elements

pytestmark = pytest.mark.browser

LONG_NAME = "Maximiliana Evangelina Featherstonehaugh-Cholmondeley of the Very Long Names"


def test_an_owner_reads_and_filters_the_audit_log_at_phone_and_desktop_widths(page, studio_url, sign_up):
    sign_up(LONG_NAME, "maximiliana.featherstonehaugh-cholmondeley@example.com")
    page.goto(f"{studio_url}/api-keys")
    page.get_by_label("Name").fill("a key with a rather long name for the nightly export script")
    page.get_by_role("button", name="Create key").click()
    page.wait_for_selector("#new-api-key")

    page.goto(f"{studio_url}/")
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url(f"{studio_url}/audit-log")
    actions = page.locator("#audit-log tbody tr").evaluate_all("rows => rows.map(r => r.dataset.action)")
    assert actions[:2] == ["api_key.create", "auth.register"], actions
    assert "127.0.0.1" in page.locator("#audit-log tbody tr").first.inner_text()

    page.get_by_label("Action", exact=True).fill("api_key.create")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*/audit-log\?.*action=api_key\.create"))
    assert page.locator("#audit-log tbody tr").count() == 1
    assert page.locator("#audit-summary").inner_text() == "1 entry"

    page.get_by_label("From", exact=True).fill("2026-12-05")
    page.get_by_label("To", exact=True).fill("2026-12-01")
    page.get_by_role("button", name="Filter").click()
    assert "Must not be before From." in page.locator("#until-errors").inner_text()

    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{studio_url}/audit-log")
        page.wait_for_load_state("load")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"audit-log-filled-{width}.png"), full_page=True)
        extra = sideways_overflow(page)
        assert extra <= 0, f"/audit-log at {width} px scrolls {extra} px sideways: {widest_elements(page)}"
        narrow = page.locator("#audit-log").evaluate("t => t.classList.contains('cards-narrow')")
        assert narrow, "the table is not labelled for cards on narrow screens"
