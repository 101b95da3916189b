"""app/engine/definitions.py: a run's immutable part, read once through its tenant's repository."""

from __future__ import annotations

from app.engine.definitions import DefinitionCache
from app.runtime import repositories

ONE_STEP = """
name: one-step
version: "1"
steps:
  - id: only
    skill: test.echo
    with: {text: hello}
"""


def test_a_snapshot_is_read_through_the_tenants_runs_and_never_served_to_another_tenant(app, studio, make_user):
    run = studio.start(ONE_STEP)
    stranger = make_user()
    cache = DefinitionCache()

    with app.app_context():
        mine = cache.snapshot(repositories(studio.account.tenant_id).runs, run.id)
        assert (mine.id, mine.tenant_id, mine.workflow_name) == (run.id, studio.account.tenant_id, "one-step")
        assert [step.id for step in mine.definition.steps] == ["only"]
        # Cached now, yet a run id presented in another tenant is still not found.
        assert cache.snapshot(repositories(stranger.tenant_id).runs, run.id) is None
        assert cache.snapshot(repositories(studio.account.tenant_id).runs, run.id) is mine
