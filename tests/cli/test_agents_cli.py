"""``flask inkwright agents list|run|show|cancel`` (app/cli/agents.py)."""

from __future__ import annotations

import re

import pytest

from app.runtime import repositories
from tests.agent_runs import reviewed

reviewed_run = reviewed.reviewed_run


@pytest.fixture
def tenant(app, user) -> str:
    with app.app_context():
        return repositories(user.tenant_id).tenants.require(user.tenant_id).slug


def test_list_names_the_agents_and_subject_kinds(run_command):
    result = run_command("agents", "list")
    assert result.exit_code == 0, result.output
    assert "test.proofread" in result.output and "inkwright.run" in result.output


def test_run_now_reviews_the_subject_in_process_and_show_prints_the_findings(run_command, tenant, reviewed_run):
    result = run_command("agents", "run", "test.proofread", "--subject", reviewed_run, "--tenant", tenant, "--now")
    assert result.exit_code == 0, result.output
    assert "Status: completed" in result.output and "typed twice" in result.output
    run_id = re.search(r"Agent run ([0-9a-f-]{36})", result.output).group(1)

    shown = run_command("agents", "show", run_id, "--tenant", tenant)
    assert shown.exit_code == 0 and "steps/draft.md" in shown.output


def test_a_queued_run_is_canceled_and_a_finished_one_is_refused(run_command, tenant, reviewed_run):
    queued = run_command("agents", "run", "test.proofread", "--subject", reviewed_run, "--tenant", tenant)
    assert queued.exit_code == 0 and "queued" in queued.output
    run_id = re.search(r"Agent run ([0-9a-f-]{36})", queued.output).group(1)

    assert "canceled" in run_command("agents", "cancel", run_id, "--tenant", tenant).output
    again = run_command("agents", "cancel", run_id, "--tenant", tenant)
    assert again.exit_code != 0 and "ILLEGAL_TRANSITION" in again.output


def test_bad_arguments_exit_non_zero_with_the_reason(run_command, tenant, reviewed_run):
    unknown = run_command("agents", "run", "no.such", "--subject", reviewed_run, "--tenant", tenant)
    assert unknown.exit_code != 0 and "VALIDATION_ERROR" in unknown.output
    priority = run_command("agents", "run", "test.proofread", "--subject", reviewed_run, "--tenant", tenant,
                           "--priority", "11")
    assert priority.exit_code != 0 and "priority" in priority.output
    assert run_command("agents", "show", "nope", "--tenant", tenant).exit_code != 0
    assert run_command("agents", "list", "--tenant", "x").exit_code != 0
