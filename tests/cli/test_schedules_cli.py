"""``flask inkwright schedules``, ``schedules run`` and the accounts' delete/restore commands."""

from __future__ import annotations

from app.models import User
from app.runtime import current_state, repositories


def test_schedules_lists_the_cores_with_their_next_runs(run_command):
    result = run_command("schedules")

    assert result.exit_code == 0, result.output
    for name in ("credits.rollover", "retention.purge", "sessions.purge"):
        assert name in result.output
    assert "app.jobs.purge_retained" in result.output and "cron 30 3 * * * (UTC)" in result.output
    assert "No runner leads right now" in result.output


def test_schedules_run_queues_the_job_now(app, run_command):
    result = run_command("schedules", "run", "retention.purge")

    assert result.exit_code == 0, result.output
    with app.app_context():
        [job] = current_state().queue().get_jobs()
        assert job.func_name == "app.jobs.purge_retained"
    unknown = run_command("schedules", "run", "no.such")
    assert unknown.exit_code != 0 and "No schedule 'no.such'" in unknown.output


def test_a_deleted_account_can_be_restored_within_its_window(app, user, run_command):
    deleted = run_command("delete-user", user.email)
    assert deleted.exit_code == 0, deleted.output
    with app.app_context():
        assert repositories().users.find_by_email(user.email) is None

    restored = run_command("restore-user", user.email)
    assert restored.exit_code == 0 and "is restored" in restored.output
    with app.app_context():
        assert repositories().session.get(User, user.user.id).deleted_at is None
    again = run_command("restore-user", user.email)
    assert again.exit_code != 0 and "No deleted account" in again.output


def test_flags_set_list_and_delete(app, user, run_command):
    made = run_command("flags", "set", "editor.new", "--enable", "--percentage", "30", "--user", user.email,
                       "--tier", "creator")
    assert made.exit_code == 0, made.output
    assert "Flag editor.new: on, 30 %, 1 named people, tiers creator." in made.output
    raised = run_command("flags", "set", "editor.new", "--percentage", "50")
    assert "on, 50 %, 1 named people" in raised.output  # what was not given is kept
    listed = run_command("flags")
    assert "editor.new" in listed.output and "50 %" in listed.output

    bad = run_command("flags", "set", "editor.new", "--percentage", "101")
    assert bad.exit_code != 0 and "rollout_percentage: A whole number from 0 to 100." in bad.output
    nobody = run_command("flags", "set", "editor.new", "--user", "nobody@example.com")
    assert nobody.exit_code != 0 and "No account uses nobody@example.com." in nobody.output

    assert run_command("flags", "delete", "editor.new").exit_code == 0
    assert run_command("flags", "delete", "editor.new").exit_code != 0
