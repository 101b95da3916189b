"""``flask inkwright run WORKFLOW --tenant SLUG -i key=value [--wait]`` (app/cli/workflows.py)."""

from __future__ import annotations

import threading

import pytest
from rq.serializers import JSONSerializer
from rq.timeouts import TimerDeathPenalty
from sqlalchemy import select

from app.extensions import db
from app.models import Run
from app.runtime import current_state, repositories
from app.workers import AppSimpleWorker

PITCH = """\
name: pitch
version: "1"
inputs:
  topic: {type: string, required: true}
  words: {type: integer, default: 3, min: 1, max: 10}
steps:
  - id: outline
    skill: test.echo
    with: {text: "Outline of {{ inputs.topic }}"}
  - id: draft
    skill: test.echo
    needs: [outline]
    with: {text: "{{ steps.outline.output.text }} in {{ inputs.words }} words"}
"""
DOOMED = """\
name: doomed
version: "1"
steps:
  - id: attempt
    skill: test.echo
    with: {text: never, fail_until_attempt: 5}
"""
CHOOSY = """\
name: choosy
version: "1"
steps:
  - id: pick
    skill: test.echo
    candidates: 2
    select: user
    with: {text: either}
"""


@pytest.fixture
def tenant(app, user) -> str:
    """The slug of ``user``'s tenant, which has the workflows above uploaded."""
    with app.app_context():
        repos = repositories(user.tenant_id)
        for source in (PITCH, DOOMED, CHOOSY):
            current_state().catalog.upload(repos, source, user.user.id)
        return repos.tenants.require(user.tenant_id).slug


def runs(app) -> list[tuple]:
    """Every run stored, in any tenant: ``(id, workflow, inputs, status)``."""
    with app.app_context():
        return [(str(run.id), run.workflow_name, run.inputs, run.status.value)
                for run in db.session.scalars(select(Run).order_by(Run.created_at))]


class ThreadWorker(AppSimpleWorker):
    """The app's worker, able to run in a thread: signals belong to the main thread, so job
    timeouts use RQ's timer instead of SIGALRM and no signal handlers are installed."""

    death_penalty_class = TimerDeathPenalty
    # No command channel: a burst worker started again and again would race RQ's pub/sub
    # thread at every exit (its unsubscribe can leave that thread waiting 60 s).
    listens_for_commands = False

    def _install_signal_handlers(self) -> None:
        pass


@pytest.fixture
def background_worker(app):
    """Start real RQ burst workers, one after another in a thread, until the test ends."""
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            with app.app_context():
                state = current_state(app)
                worker = ThreadWorker([state.queue_name], connection=state.redis.client(),
                                      serializer=JSONSerializer)
            worker.app = app
            worker.work(burst=True, logging_level="WARNING")
            stop.wait(0.05)

    thread = threading.Thread(target=work, name="cli-test-worker", daemon=True)
    yield thread.start
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_run_starts_a_run_and_prints_its_id(app, run_command, tenant):
    result = run_command("run", "pitch", "--tenant", tenant, "-i", "topic=otters", "-i", "words=5")

    assert result.exit_code == 0, result.output
    [(run_id, workflow, inputs, status)] = runs(app)
    assert (workflow, inputs, status) == ("pitch", {"topic": "otters", "words": 5}, "running")
    assert f"Run {run_id} of pitch 1: running" in result.output


def test_values_are_read_like_yaml_scalars(app, run_command, tenant):
    result = run_command("run", "pitch", "--tenant", tenant, "-i", "topic=2024", "-i", "words=4")

    assert result.exit_code != 0
    assert "inputs.topic" in result.output and "Must be of type string" in result.output
    assert runs(app) == []


@pytest.mark.parametrize(("pairs", "message"), [
    (["-i", "topic=otters", "-i", "words=11"], "inputs.words"),
    (["-i", "topic=otters", "-i", "words=many"], "inputs.words"),
    (["-i", "topic=otters", "-i", "colour=red"], "inputs.colour"),
    ([], "inputs.topic"),
], ids=["out-of-bounds", "wrong-type", "unknown", "missing-required"])
def test_bad_inputs_exit_non_zero_naming_the_field_and_start_nothing(app, run_command, tenant, pairs, message):
    result = run_command("run", "pitch", "--tenant", tenant, *pairs)

    assert result.exit_code != 0
    assert message in result.output
    assert runs(app) == []


def test_an_input_that_is_not_key_value_is_refused(app, run_command, tenant):
    result = run_command("run", "pitch", "--tenant", tenant, "-i", "otters")

    assert result.exit_code == 2
    assert "'otters' is not key=value" in result.output
    assert runs(app) == []


def test_an_unknown_tenant_exits_non_zero(app, run_command, tenant):
    result = run_command("run", "pitch", "--tenant", "no-such-tenant", "-i", "topic=otters")

    assert result.exit_code != 0
    assert "No tenant with the slug 'no-such-tenant'" in result.output
    assert runs(app) == []


def test_a_workflow_the_tenant_does_not_have_exits_non_zero(app, run_command, tenant, make_user):
    other_tenant = make_user()
    with app.app_context():
        slug = repositories().tenants.require(other_tenant.tenant_id).slug

    result = run_command("run", "pitch", "--tenant", slug, "-i", "topic=otters")

    assert result.exit_code != 0
    assert "No workflow named 'pitch'" in result.output
    assert runs(app) == []


def test_as_a_non_member_exits_non_zero(app, run_command, tenant, make_user):
    outsider = make_user()

    result = run_command("run", "pitch", "--tenant", tenant, "--as", outsider.email, "-i", "topic=otters")

    assert result.exit_code != 0
    assert f"{outsider.email} is not a member of {tenant}" in result.output
    assert runs(app) == []


def test_as_a_member_attributes_the_run_to_them(app, run_command, tenant, user):
    result = run_command("run", "pitch", "--tenant", tenant, "--as", user.email, "-i", "topic=otters")

    assert result.exit_code == 0, result.output
    with app.app_context():
        [run] = db.session.scalars(select(Run)).all()
        assert run.created_by_user_id == user.user.id


def test_wait_follows_the_run_until_it_completes(app, run_command, tenant, background_worker):
    background_worker()

    result = run_command("run", "pitch", "--tenant", tenant, "-i", "topic=otters", "--wait", "--timeout", "30")

    assert result.exit_code == 0, result.output
    [(run_id, _, _, status)] = runs(app)
    assert status == "completed"
    assert result.output.strip().splitlines()[-1] == f"Run {run_id}: completed"


def test_wait_exits_non_zero_when_the_run_fails(app, run_command, tenant, background_worker):
    background_worker()

    result = run_command("run", "doomed", "--tenant", tenant, "--wait", "--timeout", "30")

    assert result.exit_code == 1, result.output
    [(run_id, _, _, status)] = runs(app)
    assert status == "failed"
    assert f"Run {run_id}: failed" in result.output


def test_wait_stops_at_a_run_paused_for_a_selection(app, run_command, tenant, background_worker):
    background_worker()

    result = run_command("run", "choosy", "--tenant", tenant, "--wait", "--timeout", "30")

    assert result.exit_code == 0, result.output
    [(run_id, _, _, status)] = runs(app)
    assert status == "paused"
    assert f"Run {run_id}: paused" in result.output
