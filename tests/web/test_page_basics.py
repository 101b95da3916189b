"""What every studio page shares (app/templates/base.html): an icon, unique ids, a way past
the navigation, a header that holds a long name; and rules shown before they are broken."""

from __future__ import annotations

import re
from collections import Counter

import pytest

SIGNED_IN_PAGES = ["/", "/workflows", "/account/credits", "/account/provider-keys", "/api-keys"]
SIGNED_OUT_PAGES = ["/login", "/register", "/forgot-password"]


def duplicate_ids(page: str) -> list[str]:
    return [name for name, count in Counter(re.findall(r'\sid="([^"]+)"', page)).items() if count > 1]


def test_favicon_ico_leads_to_the_icon_and_every_page_links_it(client):
    asked = client.get("/favicon.ico")
    assert asked.status_code == 301 and asked.headers["Location"].endswith("/static/favicon.svg")
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
def test_signed_in_pages_have_unique_ids_and_a_skip_link_to_the_main_content(browser, path):
    page = browser.get(path).get_data(as_text=True)
    assert duplicate_ids(page) == [], path
    assert '<a class="skip-link" href="#studio-main">' in page and '<main id="studio-main">' in page


@pytest.mark.parametrize("path", SIGNED_OUT_PAGES)
def test_signed_out_pages_have_unique_ids(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    assert duplicate_ids(response.get_data(as_text=True)) == [], path


def test_a_long_name_is_cut_in_the_header_and_given_whole_on_hover(app, make_user, sign_in):
    name = "Bartholomew Alexandra Fitzgerald-Montgomery of the Very Long Surnames"
    client = sign_in(app.test_client(), make_user(name=name))
    page = client.get("/").get_data(as_text=True)
    assert re.search(rf'<span class="who" title="{re.escape(name)}[^"]*">', page)


def test_the_password_rule_shows_before_it_is_broken(client, app):
    page = client.get("/register").get_data(as_text=True)
    rule = f"At least {app.config['PASSWORD_MIN_LENGTH']} characters"
    assert re.search(rf'<p class="help" id="password-help">{rule}', page)
    assert 'aria-describedby="password-help"' in page


def test_the_workflow_yaml_box_is_monospace(browser):
    page = browser.get("/workflows").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*class="code-input"[^>]*name="source"|<textarea[^>]*name="source"[^>]*class="code-input"',
                     page)


def test_the_credits_page_says_offline_calls_are_free(browser):
    assert "Offline calls" in browser.get("/account/credits").get_data(as_text=True)
