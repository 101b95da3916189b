"""Metering (app/engine/metering.py): every model call of a real run, through the real
``openai`` provider talking HTTP to a loopback server that speaks its protocol, is recorded
(AI response, usage log), paid for (credits reserved then settled, or a BYOK key), capped
by the run's budget, and failures leave balances exact."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from app.chat_server import completion_body
from app.engine.metering import most_tokens, parse_json_output
from app.engine.service import Budget
from app.errors import ModelOutputInvalidError, RunModelNotPricedError, RunModelUnknownError
from app.models import (
    AIResponse,
    CreditAccount,
    KeySource,
    Membership,
    ProviderKeyStatus,
    Role,
    Run,
    UsageLogEntry,
    UsageStatus,
)
from app.provider import CompletionRequest
from app.pytest_plugin import Account
from app.repositories import Repository
from app.runtime import current_state, repositories
from app.statuses import RunStatus, StepStatus
from app.workflows import WorkflowInvalid

PLATFORM_KEY = "sk-platform-000000000000"

ASK = """
name: asking
version: "1"
inputs:
  topic: {type: string, default: owls}
defaults: {model: "openai:gpt-4o-mini", max_tokens: 100}
steps:
  - id: ask
    skill: text.generate
    cache: CACHE
    retry: {max_attempts: 2, backoff: 0}
    with: {prompt: "Write one line about {{ inputs.topic }}."}
"""


def ask(cache: str = "off") -> str:
    return ASK.replace("CACHE", cache)


@pytest.fixture
def chat(chat_server):
    return chat_server


@pytest.fixture
def app(make_app, chat):
    chat.reply((200, completion_body("Owls see in the dark.", prompt_tokens=12, completion_tokens=8)))
    return make_app(OPENAI_BASE_URL=chat.url, OPENAI_API_KEY=PLATFORM_KEY, PROVIDER_MAX_RETRIES=0,
                    PROVIDER_TIMEOUT=5.0)


def account_of(app, user) -> CreditAccount:
    with app.app_context():
        repos = repositories()
        account = repos.credit_accounts.account_for(user.user.id)
        repos.session.commit()
        repos.session.refresh(account)
        repos.session.expunge(account)
        return account


def usage_rows(app) -> list[UsageLogEntry]:
    with app.app_context():
        rows = repositories().usage_log.list(order_by=[UsageLogEntry.created_at])
        repositories().session.expunge_all()
        return rows


def responses(app) -> list[AIResponse]:
    with app.app_context():
        rows = repositories().get(AllResponses).list(order_by=[AIResponse.created_at])
        repositories().session.expunge_all()
        return rows


class AllResponses(Repository[AIResponse]):
    """Every tenant's AI responses, for assertions."""

    model = AIResponse


def test_a_call_is_recorded_settled_and_counted_into_the_step_and_run(studio, run_jobs, app, user, chat):
    run = studio.start(ask(), topic="owls")
    run_jobs()

    run, step = studio.run(run.id), studio.steps(run.id)["ask"]
    assert run.status == RunStatus.COMPLETED
    assert step.output["text"] == "Owls see in the dark." and step.output["offline"] is False
    # gpt-4o-mini: $0.00015 / 1K prompt tokens, $0.0006 / 1K completion tokens
    cost = Decimal(12) * Decimal("0.00015") / 1000 + Decimal(8) * Decimal("0.0006") / 1000
    assert (step.tokens_input, step.tokens_output, step.model_calls, step.cost_usd) == (12, 8, 1, cost)
    assert (run.tokens_input, run.tokens_output, run.model_calls, run.cost_usd) == (12, 8, 1, cost)

    [response] = responses(app)
    assert (response.model_name, response.provider, response.resolved_model) == (
        "openai:gpt-4o-mini", "openai", "gpt-4o-mini-2024-07-18")
    assert "Write one line about owls." in response.prompt_used
    assert (response.raw_output, response.tokens_total, response.cost_usd) == ("Owls see in the dark.", 20, cost)
    assert response.run_step_id == step.id and response.candidate_index == 0 and not response.byok

    [usage] = usage_rows(app)
    assert (usage.status, usage.key_source, usage.tokens_total, usage.credits_charged) == (
        UsageStatus.SUCCESS, KeySource.PLATFORM, 20, 20)
    assert usage.user_id == user.user.id and usage.ai_response_id == response.id

    account = account_of(app, user)
    assert (account.tokens_used_this_period, account.tokens_reserved) == (20, 0)
    assert account.credits_remaining == 10_000 - 20
    sent = chat.requests[0]
    assert sent["headers"]["Authorization"] == f"Bearer {PLATFORM_KEY}"
    assert sent["body"]["model"] == "gpt-4o-mini" and sent["body"]["max_tokens"] == 100


def test_a_call_the_credits_cannot_cover_is_never_sent_and_pauses_the_run_until_resumed(
        studio, run_jobs, app, user, chat):
    with app.app_context():
        repos = repositories()
        repos.credit_accounts.account_for(user.user.id)
        repos.credit_accounts.reserve(user.user.id, 10_000 - 50)  # only 50 tokens left to spend
        repos.session.commit()
    run = studio.start(ask())
    run_jobs()

    run, step = studio.run(run.id), studio.steps(run.id)["ask"]
    assert run.status == RunStatus.PAUSED and run.pause_reason.startswith("PAYMENT_REQUIRED")
    assert step.status == StepStatus.PENDING and step.error["code"] == "PAYMENT_REQUIRED"
    assert step.attempt == 0  # being held does not eat the step's attempt budget
    assert chat.requests == []
    [usage] = usage_rows(app)
    assert (usage.status, usage.error_code, usage.tokens_total) == (UsageStatus.FAILED, "PAYMENT_REQUIRED", 0)
    assert account_of(app, user).tokens_reserved == 10_000 - 50  # only the test's own hold

    with app.app_context():
        repositories().credit_accounts.grant_bonus(user.user.id, 5_000)
        repositories().session.commit()
    studio.call(lambda service: service.resume(run.id))
    run_jobs()
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert len(chat.requests) == 1


def test_a_run_pauses_at_its_budget_and_goes_on_when_the_budget_is_raised(studio, run_jobs, app, chat):
    def start(service):
        entry = current_state().catalog.resolve(service.repos, "asking")
        return service.start(entry, {}, budget=Budget(tokens=50))[0]
    studio.upload(ask())
    run = studio.call(start)
    run_jobs()

    run = studio.run(run.id)
    assert run.status == RunStatus.PAUSED and run.pause_reason.startswith("BUDGET_EXCEEDED")
    assert chat.requests == []
    assert studio.steps(run.id)["ask"].error["details"]["budgetTokens"] == 50

    studio.call(lambda service: service.resume(run.id, Budget(tokens=10_000)))
    run_jobs()
    run = studio.run(run.id)
    assert run.status == RunStatus.COMPLETED and run.budget_tokens == 10_000
    assert run.tokens_input + run.tokens_output == 20


def test_a_users_own_key_pays_instead_of_credits_and_a_refused_key_is_marked_rejected(
        studio, run_jobs, app, user, chat):
    with app.app_context():
        repos = repositories()
        key = repos.provider_keys.add(provider="openai", secret="sk-mine-1234567890abcd",
                                      box=current_state().secrets, user_id=user.user.id)
        repos.session.commit()
        key_id = key.id
    run = studio.start(ask())
    run_jobs()

    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert chat.requests[0]["headers"]["Authorization"] == "Bearer sk-mine-1234567890abcd"
    [usage] = usage_rows(app)
    assert (usage.key_source, usage.credits_charged) == (KeySource.BYOK, 0)
    assert account_of(app, user).tokens_used_this_period == 0
    assert responses(app)[0].byok is True

    chat.reply((401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}))
    second = studio.start(ask(), topic="bats")
    run_jobs()
    step = studio.steps(second.id)["ask"]
    assert studio.run(second.id).status == RunStatus.FAILED
    assert step.error["code"] == "PROVIDER_AUTH_FAILED" and step.attempt == 1  # not retried: it cannot help
    failed = usage_rows(app)[-1]
    assert (failed.status, failed.error_code, failed.key_source) == (
        UsageStatus.FAILED, "PROVIDER_AUTH_FAILED", KeySource.BYOK)
    with app.app_context():
        assert repositories().provider_keys.get(key_id).status == ProviderKeyStatus.REJECTED
    assert account_of(app, user).tokens_used_this_period == 0


def test_garbage_from_the_provider_is_recorded_retried_and_leaves_the_balance_exact(studio, run_jobs, app, user,
                                                                                    chat):
    chat.reply((200, "<html>gateway says hi</html>"),
               (200, completion_body("Recovered.", prompt_tokens=5, completion_tokens=5)))
    run = studio.start(ask())
    run_jobs()

    step = studio.steps(run.id)["ask"]
    assert studio.run(run.id).status == RunStatus.COMPLETED and step.attempt == 2
    failed, succeeded = usage_rows(app)
    assert (failed.status, failed.error_code, failed.tokens_total) == (
        UsageStatus.FAILED, "PROVIDER_BAD_RESPONSE", 0)
    assert succeeded.status == UsageStatus.SUCCESS
    account = account_of(app, user)
    assert (account.tokens_used_this_period, account.tokens_reserved) == (10, 0)


def test_an_unknown_or_unpriced_model_is_refused_before_anything_is_sent(studio, app, chat, row_count):
    # A provider no plugin installed is refused when the workflow is loaded; a model named
    # by an input is refused when the run is started (issue 9), so no run fails at step 1.
    with pytest.raises(WorkflowInvalid, match="no installed provider 'nowhere'"):
        studio.upload(ask().replace("openai:gpt-4o-mini", "nowhere:big"))
    chosen = ask().replace("asking", "chosen").replace(
        "  topic: {type: string, default: owls}", "  topic: {type: string, default: owls}\n  model: {type: string}"
    ).replace('with: {prompt: "Write one line about {{ inputs.topic }}."}',
              'with: {prompt: "Write one line about {{ inputs.topic }}.", model: "{{ inputs.model }}"}')
    runs_before = row_count(Run)
    with pytest.raises(RunModelUnknownError) as unknown:
        studio.start(chosen, model="nowhere:big")
    with pytest.raises(RunModelNotPricedError) as unpriced:
        studio.start(chosen, model="openai:my-finetune")
    assert (unknown.value.code, unpriced.value.code) == ("UNKNOWN_MODEL", "MODEL_NOT_PRICED")
    assert list(unknown.value.details["fields"]) == ["inputs.model"]
    assert row_count(Run) == runs_before and chat.requests == []


def test_a_model_a_template_builds_is_refused_by_the_meter_before_anything_is_sent(studio, run_jobs, app, user,
                                                                                    chat):
    # Only the step knows a model its template composes: the meter refuses it, once, unsent.
    composed = ask().replace("asking", "composed").replace(
        "  topic: {type: string, default: owls}", "  topic: {type: string, default: owls}\n  maker: {type: string}"
    ).replace('with: {prompt: "Write one line about {{ inputs.topic }}."}',
              'with: {prompt: "Write one line about {{ inputs.topic }}.", model: "{{ inputs.maker }}:big"}')
    run = studio.start(composed, maker="nowhere")
    run_jobs()

    step = studio.steps(run.id)["ask"]
    assert (step.status, step.error["code"]) == (StepStatus.FAILED, "UNKNOWN_MODEL")
    assert "Error" not in step.error["message"]  # the envelope's words, never a class name
    assert chat.requests == []
    # a retry cannot help: the step was tried once, and the try is on record
    assert [row.error_code for row in usage_rows(app)] == ["UNKNOWN_MODEL"]
    assert step.attempt == 1
    assert account_of(app, user).tokens_used_this_period == 0


def test_json_that_does_not_fit_the_schema_is_paid_for_retried_then_a_clear_error(studio, run_jobs, app, user,
                                                                                  chat):
    schema_step = ask().replace(
        'with: {prompt: "Write one line about {{ inputs.topic }}."}',
        'with: {prompt: "Name a bird.", json_schema: {type: object, required: [name], '
        'properties: {name: {type: string}}}}')
    chat.reply((200, completion_body('{"colour": "brown"}', prompt_tokens=4, completion_tokens=4)))
    run = studio.start(schema_step)
    run_jobs()

    step = studio.steps(run.id)["ask"]
    assert studio.run(run.id).status == RunStatus.FAILED and step.attempt == 2
    assert step.error["code"] == "MODEL_OUTPUT_INVALID" and "name" in step.error["message"]
    # What failed and where, on the step itself (issue 12: only the AI response had it).
    assert step.error["details"] == {"path": "(root)", "output": '{"colour": "brown"}'}
    rows = usage_rows(app)
    assert [(row.status, row.error_code) for row in rows] == [(UsageStatus.FAILED, "MODEL_OUTPUT_INVALID")] * 2
    # the provider did the work, so its tokens are charged and counted
    assert account_of(app, user).tokens_used_this_period == 16
    assert studio.run(run.id).tokens_input == 8

    chat.reply((200, completion_body('```json\n{"name": "wren"}\n```', prompt_tokens=4, completion_tokens=4)))
    good = studio.start(schema_step, topic="wrens")
    run_jobs()
    assert studio.steps(good.id)["ask"].output["data"] == {"name": "wren"}


def test_a_cached_rerun_reports_what_it_saved(studio, run_jobs, app, chat):
    first = studio.start(ask("global"))
    run_jobs()
    again = studio.start(ask("global"))
    run_jobs()

    first, again = studio.run(first.id), studio.run(again.id)
    assert again.cache_hits == 1 and len(chat.requests) == 1
    assert (again.saved_calls, again.saved_tokens, again.saved_cost_usd) == (1, 20, first.cost_usd)
    assert (again.model_calls, again.cost_usd) == (0, 0)


def test_the_offline_provider_needs_no_key_draws_nothing_and_is_labelled(studio, run_jobs, app, user):
    run = studio.start(ask().replace("openai:gpt-4o-mini", "offline:writer"))
    run_jobs()

    step = studio.steps(run.id)["ask"]
    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert step.output["offline"] is True and step.candidates[0]["offline"] is True
    assert "owls" in step.output["text"].lower()
    [usage] = usage_rows(app)
    assert (usage.key_source, usage.credits_charged, usage.cost_usd) == (KeySource.LOCAL, 0, 0)
    assert responses(app)[0].offline is True
    assert account_of(app, user).tokens_used_this_period == 0


def test_a_keyless_openai_server_is_the_operators_own_and_draws_no_credits(studio, run_jobs, app, chat, user):
    """OPENAI_API_KEY empty: a local server (llama.cpp, Ollama) on the operator's machines;
    nobody's paid key is spent, so the call is recorded as local and costs no credits (a
    four-step article on such a server once ran out of a free tier's credits)."""
    app.config["OPENAI_API_KEY"] = ""  # as the operator's settings would say
    keyless = app
    run = studio.start(ask(), topic="owls")
    run_jobs()

    assert studio.run(run.id).status == RunStatus.COMPLETED
    [usage] = usage_rows(keyless)
    assert (usage.key_source, usage.credits_charged, usage.tokens_total) == (KeySource.LOCAL, 0, 20)
    assert account_of(keyless, user).tokens_used_this_period == 0
    assert "authorization" not in {key.lower() for key in chat.requests[0]["headers"]}


def test_each_try_of_a_call_is_in_the_usage_log_under_one_call_id(studio, run_jobs, app, chat, user):
    """One budget a call (issue 12): the transport's retries are tries of the one call, each
    a usage-log row numbered under the call's id, and only the answer is charged."""
    app.config.update(PROVIDER_MAX_RETRIES=3, PROVIDER_MAX_BACKOFF=0.01)
    chat.reply((503, {"error": {"message": "overloaded"}}), (429, {"error": {"message": "slow down"}}),
               (200, completion_body("Third time.", prompt_tokens=6, completion_tokens=4)))
    run = studio.start(ask())
    run_jobs()

    assert studio.run(run.id).status == RunStatus.COMPLETED and len(chat.requests) == 3
    rows = usage_rows(app)
    assert [(row.call_try, row.status, row.tokens_total) for row in rows] == [
        (1, UsageStatus.FAILED, 0), (2, UsageStatus.RATE_LIMITED, 0), (3, UsageStatus.SUCCESS, 10)]
    assert len({row.call_id for row in rows}) == 1 and rows[0].call_id is not None
    assert "HTTP 503" in rows[0].error_message and "slow down" in rows[1].error_message
    assert (rows[2].usage_source, responses(app)[0].usage_source) == ("reported", "reported")
    assert account_of(app, user).tokens_used_this_period == 10


def test_a_call_that_spent_its_budget_is_not_tried_again_by_its_step(studio, run_jobs, app, chat, user):
    """Transport and step retries no longer multiply: 2 tries of the call, not 2 × 2 attempts."""
    app.config.update(PROVIDER_MAX_RETRIES=1, PROVIDER_MAX_BACKOFF=0.01)
    chat.reply((503, {"error": {"message": "overloaded"}}))
    run = studio.start(ask())  # the step's retry policy allows 2 attempts
    run_jobs()

    step = studio.steps(run.id)["ask"]
    assert studio.run(run.id).status == RunStatus.FAILED and step.attempt == 1
    assert len(chat.requests) == 2
    assert [row.call_try for row in usage_rows(app)] == [1, 2]
    account = account_of(app, user)
    assert (account.tokens_used_this_period, account.tokens_reserved) == (0, 0)


def test_usage_a_server_does_not_report_is_estimated_and_labelled_so(studio, run_jobs, app, chat):
    body = completion_body("No counts from me.")
    del body["usage"]
    chat.reply((200, body))
    run = studio.start(ask())
    run_jobs()

    assert studio.run(run.id).status == RunStatus.COMPLETED
    [usage] = usage_rows(app)
    assert usage.usage_source == "estimated" and usage.tokens_total > 0
    assert responses(app)[0].usage_source == "estimated"


def test_impossible_token_counts_are_a_recorded_failure_and_the_balance_stays_exact(studio, run_jobs, app, chat,
                                                                                   user):
    chat.reply((200, completion_body("Negative.", prompt_tokens=-5, completion_tokens=3)))
    run = studio.start(ask())
    run_jobs()

    step = studio.steps(run.id)["ask"]
    assert studio.run(run.id).status == RunStatus.FAILED and step.error["code"] == "PROVIDER_BAD_RESPONSE"
    assert {row.error_code for row in usage_rows(app)} == {"PROVIDER_BAD_RESPONSE"}
    account = account_of(app, user)
    assert (account.tokens_used_this_period, account.tokens_reserved) == (0, 0)

def test_the_catalog_says_per_model_how_its_server_is_asked_for_json(studio, run_jobs, app, chat, tmp_path):
    """Issue 12: a provider declares how it asks for JSON; the catalog overrides it per model."""
    catalog = tmp_path / "models.yaml"
    catalog.write_text("models:\n  - name: openai:gpt-4o-mini\n    structured_output: json_object\n")
    from app.model_catalog import ModelCatalog
    state = current_state(app)
    state.models = ModelCatalog.load(state.registry.providers, str(catalog))  # as MODEL_CATALOG would at start
    chat.reply((200, completion_body('{"name": "wren"}', prompt_tokens=4, completion_tokens=4)))
    run = studio.start(ask().replace(
        'with: {prompt: "Write one line about {{ inputs.topic }}."}',
        'with: {prompt: "Name a bird.", json_schema: {type: object, required: [name], '
        'properties: {name: {type: string}}}}'))
    run_jobs()

    assert studio.steps(run.id)["ask"].output["data"] == {"name": "wren"}
    [sent] = chat.requests
    assert sent["body"]["response_format"]["type"] == "json_object"  # not the provider's json_schema first

# The pure parts ---------------------------------------------------------------------------
def test_the_reservation_covers_the_prompt_and_the_most_the_model_may_answer():
    request = CompletionRequest(model="m", messages=({"role": "user", "content": "x" * 300},), max_tokens=200)
    assert most_tokens(request, context_window=None) == (104, 200)
    assert most_tokens(request, context_window=250) == (104, 146)  # the window caps the answer
    unbounded = CompletionRequest(model="m", messages=({"role": "user", "content": "hi"},))
    assert most_tokens(unbounded, context_window=None)[1] == 4096


def test_json_output_is_parsed_from_plain_or_fenced_text_and_checked_against_the_schema():
    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    assert parse_json_output('{"n": 3}', schema) == {"n": 3}
    assert parse_json_output('```json\n{"n": 4}\n```', schema) == {"n": 4}
    with pytest.raises(ModelOutputInvalidError, match="not JSON"):
        parse_json_output("three", schema)
    with pytest.raises(ModelOutputInvalidError, match="at n"):
        parse_json_output('{"n": "three"}', schema)
    assert json.dumps(parse_json_output("[]", {"type": "array"})) == "[]"


def test_the_person_who_started_a_run_pays_for_it_not_the_tenants_owner(studio, app, user, make_user, run_jobs):
    member = make_user()
    with app.app_context():
        repos = repositories(user.tenant_id)
        with repos.transaction():
            repos.memberships.add(Membership(user_id=member.user.id, role=Role.MEMBER))
    members_studio = type(studio)(app, Account(member.user, user.tenant_id, member.email))

    run = members_studio.start(ask())
    run_jobs()

    assert studio.run(run.id).status == RunStatus.COMPLETED
    assert account_of(app, member).tokens_used_this_period == 20
    assert account_of(app, user).tokens_used_this_period == 0
    assert usage_rows(app)[0].user_id == member.user.id


def test_candidates_of_one_model_are_different_answers_each_reproducible(studio, run_jobs):
    two = ask().replace("openai:gpt-4o-mini", "offline:writer").replace("    cache: off\n", "    cache: off\n"
                                                                           "    candidates: 2\n")
    first = studio.start(two.replace("CACHE", "off"))
    again = studio.start(two.replace("CACHE", "off"))
    run_jobs()

    texts = [c["output"]["text"] for c in studio.steps(first.id)["ask"].candidates]
    assert len(texts) == 2 and texts[0] != texts[1]
    assert [c["output"]["text"] for c in studio.steps(again.id)["ask"].candidates] == texts
