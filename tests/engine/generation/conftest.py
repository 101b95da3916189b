"""Fixtures of the generation tests: a fast offline image provider, the darkroom provider,
reconciler passes and worker processes."""

from __future__ import annotations

import pytest
import yaml

from app.engine.reconciler import Reconciler
from app.extensions import db
from app.runtime import current_state, repositories
from tests.engine.generation.scenes import MEDIA_DELAY, Darkroom
from tests.engine.worker_processes import (
    TIMINGS,
    fast_engine_config,
    worker_pool,
)


@pytest.fixture
def inkwright_config(inkwright_config, tmp_path):
    return {**fast_engine_config(inkwright_config, tmp_path), "OFFLINE_MEDIA_DELAY": MEDIA_DELAY}


@pytest.fixture
def app(make_app, tmp_path, request):
    """The test app; parametrized (``indirect``) with model catalog entries, it prices by them."""
    models = getattr(request, "param", None)
    if models is None:
        return make_app()
    catalog = tmp_path / "model-catalog.yaml"
    catalog.write_text(yaml.safe_dump({"models": models}))
    return make_app(MODEL_CATALOG=str(catalog))


@pytest.fixture
def darkroom(app):
    current_state(app).registry.providers["darkroom"] = Darkroom
    return Darkroom


@pytest.fixture
def reconcile(app):
    def run_pass():
        with app.app_context():
            return Reconciler(current_state(), stale_after=TIMINGS["STEP_STALE_AFTER"]).run()
    return run_pass


@pytest.fixture
def workers(app, inkwright_config, tmp_path):
    """``python worker.py`` processes (each runs RQ's scheduler and the reconciler timer)."""
    with worker_pool(app, inkwright_config, tmp_path) as pool:
        pool.environment["INKWRIGHT_OFFLINE_MEDIA_DELAY"] = str(MEDIA_DELAY)
        yield pool


@pytest.fixture
def keyed_darkroom(app, studio):
    """Darkroom as a provider that needs a key, and the studio's user's own key for it."""
    keyed = type("KeyedDarkroom", (Darkroom,), {"requires_key": True})
    current_state(app).registry.providers["darkroom"] = keyed
    with app.app_context():
        repositories().provider_keys.add(provider="darkroom", secret="dk-mine-1234567890abcd",
                                         box=current_state().secrets, user_id=studio.account.user.id)
        db.session.commit()
    return keyed
