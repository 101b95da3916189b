"""One-off metered model calls over JSON (app/api/completions.py): recorded and paid like a
step's call, and refused with 402 before anything is sent when credits cannot cover it."""

from __future__ import annotations

import pytest

from app.chat_server import completion_body
from app.models import UsageLogEntry, UsageStatus


@pytest.fixture
def chat(chat_server):
    return chat_server


@pytest.fixture
def app(make_app, chat):
    chat.reply((200, completion_body("Ahoy.", prompt_tokens=6, completion_tokens=2)))
    return make_app(OPENAI_BASE_URL=chat.url, OPENAI_API_KEY="sk-platform-key-0000", PROVIDER_MAX_RETRIES=0)


def usage(app_repos) -> list[UsageLogEntry]:
    with app_repos() as repos:
        rows = repos.usage_log.list(order_by=[UsageLogEntry.created_at])
        repos.session.expunge_all()
        return rows


def test_a_call_answers_with_the_text_and_its_usage_and_is_logged_as_manual(api_client, app_repos, chat):
    response = api_client.post("/api/completions", json={"model": "openai:gpt-4o-mini", "prompt": "Say ahoy.",
                                                         "maxTokens": 20})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json["data"]
    assert (body["text"], body["tokensInput"], body["tokensOutput"], body["offline"]) == ("Ahoy.", 6, 2, False)
    [row] = usage(app_repos)
    assert (row.context_type, row.status, row.tokens_total, row.credits_charged) == (
        "manual", UsageStatus.SUCCESS, 8, 8)
    assert chat.requests[0]["body"]["messages"] == [{"role": "user", "content": "Say ahoy."}]


def test_the_offline_model_answers_with_no_key_and_says_so(api_client):
    body = api_client.post("/api/completions", json={"prompt": "A line about lighthouses."}).json["data"]
    assert body["offline"] is True and body["text"]


def test_a_call_the_credits_cannot_cover_is_402_and_never_sent(api_client, app_repos, user, expect_error, chat):
    with app_repos() as repos:
        repos.credit_accounts.account_for(user.user.id)
        repos.credit_accounts.reserve(user.user.id, 9_990)
        repos.session.commit()
    response = api_client.post("/api/completions", json={"model": "openai:gpt-4o-mini", "prompt": "Say ahoy."})
    error = expect_error(response, 402, "PAYMENT_REQUIRED")
    assert error["details"]["remaining"] == 10 and error["details"]["needed"] > 10
    assert chat.requests == []
    [row] = usage(app_repos)
    assert (row.status, row.error_code) == (UsageStatus.FAILED, "PAYMENT_REQUIRED")


@pytest.mark.parametrize("body, status, code", [
    ({"prompt": "hi", "model": "nowhere:big"}, 404, "UNKNOWN_MODEL"),
    ({"prompt": "hi", "model": "openai:not-in-the-catalog"}, 400, "MODEL_NOT_PRICED"),
    ({"prompt": "hi", "model": "no-colon"}, 400, "VALIDATION_ERROR"),
    ({"prompt": "hi", "messages": [{"role": "user", "content": "hi"}]}, 400, "VALIDATION_ERROR"),
    ({}, 400, "VALIDATION_ERROR"),
    ({"prompt": "hi", "maxTokens": 0}, 400, "VALIDATION_ERROR"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, 400, "VALIDATION_ERROR"),
])
def test_bad_calls_are_refused_with_a_stable_code(api_client, expect_error, chat, body, status, code):
    expect_error(api_client.post("/api/completions", json=body), status, code)
    assert chat.requests == []


def test_a_provider_failure_is_a_502_with_the_providers_code(api_client, expect_error, chat, app_repos, user):
    chat.reply((500, {"error": {"message": "overloaded"}}))
    expect_error(api_client.post("/api/completions", json={"model": "openai:gpt-4o-mini", "prompt": "hi"}),
                 502, "EXTERNAL_SERVICE_ERROR")
    with app_repos() as repos:
        account = repos.credit_accounts.account_for(user.user.id)
        assert (account.tokens_reserved, account.tokens_used_this_period) == (0, 0)
