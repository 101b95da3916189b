"""Account pages (app/web/account.py): credits with the usage history, and provider keys."""

from __future__ import annotations

import re

import pytest

from app.models import ProviderKeyStatus
from app.runtime import repositories

ONE_CALL = """\
name: one.call
version: "1"
inputs:
  topic: {type: string, required: true}
steps:
  - id: write
    skill: text.generate
    with: {prompt: "Write two sentences about {{ inputs.topic }}.", max_tokens: 80}
"""


@pytest.fixture
def spent(api_client, run_jobs) -> str:
    """A finished run whose one offline model call is in the user's usage history."""
    api_client.post("/api/workflows", data=ONE_CALL, content_type="application/yaml")
    run_id = api_client.post("/api/runs", json={"workflow": "one.call", "inputs": {"topic": "tides"}}
                             ).json["data"]["id"]
    run_jobs()
    return run_id


def value_of(page: str, element_id: str) -> str:
    return re.search(rf'<dd id="{element_id}">([^<]*)</dd>', page).group(1)


# Credits and usage ----------------------------------------------------------------------

def test_the_credits_page_shows_the_balance_the_json_api_reports(browser, api_client, spent):
    credits = api_client.get("/api/account/credits").json["data"]

    page = browser.get("/account/credits").get_data(as_text=True)

    assert value_of(page, "credits-tier") == credits["tier"]
    assert value_of(page, "credits-limit") == str(credits["limit"])
    assert value_of(page, "credits-used") == str(credits["usedThisPeriod"])
    assert value_of(page, "credits-reserved") == str(credits["reserved"])
    assert value_of(page, "credits-bonus") == str(credits["bonus"])
    assert value_of(page, "credits-remaining") == str(credits["remaining"])


def test_the_usage_history_lists_each_call_with_its_tokens_and_run(browser, api_client, spent):
    usage = api_client.get("/api/account/usage").json["data"]

    page = browser.get("/account/credits").get_data(as_text=True)

    rows = re.findall(r"<tr><td>\d{4}-.*?</tr>", page, re.S)
    assert len(rows) == usage["total"] == 1
    assert "<code>offline:writer</code>" in rows[0] and "success" in rows[0]
    assert f"<td>{usage['items'][0]['tokensTotal']} <span class=\"badge usage-reported\"" in rows[0]
    assert f'href="/runs/{spent}"' in rows[0]
    assert f"1 call · {usage['totals']['tokensTotal']} tokens" in page


def test_tries_and_estimated_tokens_are_told_apart_on_the_page(app, browser, api_client, spent):
    """Issue 12: each try of a call is a row; tokens a server did not report are flagged."""
    import uuid

    from app.models import KeySource, UsageLogEntry, UsageSource, UsageStatus

    [call] = api_client.get("/api/account/usage").json["data"]["items"]
    call_id = uuid.uuid4()
    with app.app_context():
        repos = repositories()
        for number, status, tokens, source in ((1, UsageStatus.FAILED, 0, None),
                                               (2, UsageStatus.SUCCESS, 30, UsageSource.ESTIMATED)):
            repos.session.add(UsageLogEntry(
                tenant_id=uuid.UUID(call["tenantId"]), user_id=repos.users.list()[0].id, model_name="openai:local",
                provider="openai", key_source=KeySource.LOCAL, status=status, tokens_total=tokens,
                usage_source=source, call_id=call_id, call_try=number))
        repos.session.commit()

    page = browser.get("/account/credits").get_data(as_text=True)
    totals = api_client.get("/api/account/usage").json["data"]["totals"]

    assert (totals["calls"], totals["tries"], totals["tokensEstimated"]) == (2, 3, 30)
    assert "2 calls\n      (3 tries)" in page
    assert "30 of these tokens are <strong>estimated</strong>" in page
    assert 'class="badge usage-estimated"' in page and "try 2" in page


def test_filters_narrow_the_history_and_keep_their_values(browser, spent):
    failed = browser.get("/account/credits?status=failed").get_data(as_text=True)
    assert "No calls match." in failed and "0 calls" in failed
    assert '<option selected value="failed">failed</option>' in failed

    other = browser.get("/account/credits?model=openai:gpt-4o").get_data(as_text=True)
    assert "No calls match." in other and 'value="openai:gpt-4o"' in other

    mine = browser.get("/account/credits?model=offline:writer&status=success").get_data(as_text=True)
    assert "1 call ·" in mine


def test_a_bad_filter_is_shown_beside_it_not_a_500(browser, errors_beside):
    response = browser.get("/account/credits?status=exploded&page=zero")

    assert response.status_code == 400
    assert errors_beside(response, "status") == ["Not a valid choice."]
    assert "Page 1 of 1" in response.get_data(as_text=True) or "No calls match." in response.get_data(as_text=True)


def test_the_history_pages_through_many_calls(app, user, browser, spent, api_client, run_jobs):
    for topic in range(26):
        api_client.post("/api/runs", json={"workflow": "one.call", "inputs": {"topic": f"topic {topic}"}})
    run_jobs()

    first = browser.get("/account/credits").get_data(as_text=True)
    assert "Page 1 of 2" in first and 'rel="next" href="/account/credits?page=2"' in first
    second = browser.get("/account/credits?page=2").get_data(as_text=True)
    assert len(re.findall(r"<tr><td>\d{4}-", second)) == 2
    assert 'rel="prev"' in second
    assert "Page 2 of 2" in browser.get("/account/credits?page=99").get_data(as_text=True)  # clamped


def test_another_persons_usage_is_not_shown(app, spent, make_user, sign_in):
    stranger = sign_in(app.test_client(), make_user())

    page = stranger.get("/account/credits").get_data(as_text=True)

    assert "No calls match." in page and spent not in page


# Provider keys --------------------------------------------------------------------------

SECRET = "sk-test-0123456789abcdefWXYZ"


def test_adding_a_key_shows_only_its_masked_form(app, user, browser, submit):
    response = submit(browser, "/account/provider-keys",
                      {"provider": "openai", "key": SECRET, "label": "work", "owner": "me"}, follow_redirects=True)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Your openai key …WXYZ is stored." in page
    assert "<code>…WXYZ</code>" in page and "work" in page
    assert SECRET not in page and "0123456789" not in page
    with app.app_context():
        keys = repositories().provider_keys.for_user(user.user.id)
        assert [(k.provider, k.key_hint, k.status) for k in keys] == [("openai", "WXYZ", ProviderKeyStatus.ACTIVE)]
        assert SECRET not in keys[0].encrypted_key


def test_a_bad_key_is_shown_beside_the_key_field_and_nothing_is_stored(app, user, browser, submit, errors_beside):
    response = submit(browser, "/account/provider-keys", {"provider": "openai", "key": "short key", "owner": "me"})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert errors_beside(response, "key") == [
        "A key is 8 to 500 visible ASCII characters, with no spaces or line breaks."]
    assert "short key" not in page  # a password field never echoes what was typed
    with app.app_context():
        assert repositories().provider_keys.for_user(user.user.id) == []


def test_a_provider_that_needs_no_key_or_is_unknown_is_refused_beside_the_provider(browser, submit, errors_beside):
    offline = submit(browser, "/account/provider-keys", {"provider": "offline", "key": SECRET, "owner": "me"})
    assert offline.status_code == 400
    assert errors_beside(offline, "provider") == ["Not a valid choice."]

    missing = submit(browser, "/account/provider-keys", {"key": SECRET, "owner": "me"})
    assert errors_beside(missing, "provider") == ["Choose a provider."]


def test_revoking_a_key_marks_it_revoked_and_a_second_revoke_is_a_message(browser, submit):
    submit(browser, "/account/provider-keys", {"provider": "openai", "key": SECRET, "owner": "me"})
    page = browser.get("/account/provider-keys").get_data(as_text=True)
    action = re.search(r'action="(/account/provider-keys/[0-9a-f-]{36}/revoke)"', page).group(1)

    response = submit(browser, action, page="/account/provider-keys", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "The openai key …WXYZ is revoked." in page
    assert '<span class="status status-revoked">revoked</span>' in page

    again = submit(browser, action, page="/account/provider-keys", follow_redirects=True)
    assert "already revoked" in again.get_data(as_text=True)


def test_another_persons_key_cannot_be_revoked(app, browser, submit, make_user, sign_in):
    submit(browser, "/account/provider-keys", {"provider": "openai", "key": SECRET, "owner": "me"})
    action = re.search(r'action="(/account/provider-keys/[0-9a-f-]{36}/revoke)"',
                       browser.get("/account/provider-keys").get_data(as_text=True)).group(1)
    stranger = sign_in(app.test_client(), make_user())

    assert submit(stranger, action, page="/account/provider-keys").status_code == 404
    assert "active" in browser.get("/account/provider-keys").get_data(as_text=True)


def test_owners_can_add_a_key_for_the_whole_tenant(app, user, browser, submit):
    page = browser.get("/account/provider-keys").get_data(as_text=True)
    assert '<option value="tenant">Everyone in this tenant</option>' in page

    submit(browser, "/account/provider-keys", {"provider": "anthropic", "key": SECRET, "owner": "tenant"})

    with app.app_context():
        keys = repositories().provider_keys.for_tenant(user.tenant_id)
        assert [k.provider for k in keys] == ["anthropic"]


def test_members_cannot_add_tenant_keys(app, make_user, add_member, sign_in, submit, errors_beside, user):
    member = make_user()
    add_member(user.tenant_id, member)
    client = sign_in(app.test_client(), member)
    client.post(f"/tenants/{user.tenant_id}/switch", data={"csrf_token": csrf_of(client.get("/"))})

    response = submit(client, "/account/provider-keys", {"provider": "openai", "key": SECRET, "owner": "tenant"})

    assert response.status_code == 400
    assert errors_beside(response, "owner") == ["Not a valid choice."]


def test_admins_see_the_rq_dashboard_link_and_others_do_not(app, make_user, sign_in, browser):
    admin = sign_in(app.test_client(), make_user(platform_admin=True))

    assert 'href="/admin/rq/"' in admin.get("/account/credits").get_data(as_text=True)
    assert 'href="/admin/rq/"' not in browser.get("/account/credits").get_data(as_text=True)


def csrf_of(response) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True)).group(1)
