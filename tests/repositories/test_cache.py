"""app/repositories/cache.py and the cached tenant lookup (TenantRepository.info / forget)."""

from __future__ import annotations

from sqlalchemy import update

from app.clock import ManualClock
from app.extensions import db
from app.models import Tenant, TenantKind
from app.repositories import RepositoryCache, TenantInfo
from app.runtime import current_state, repositories


def rename_behind_the_caches_back(app, tenant_id, name: str) -> None:
    """What another process does: change the row without going through this app's cache."""
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == tenant_id).values(name=name))
        db.session.commit()


def tenant_info(app, tenant_id) -> TenantInfo | None:
    with app.app_context():  # a fresh session each time, as each request has
        return repositories().tenants.info(tenant_id)


def test_a_value_is_loaded_once_then_served_from_the_cache():
    cache = RepositoryCache(ttl=60)
    loads: list[str] = []

    def load() -> str:
        loads.append("loaded")
        return "value"

    assert [cache.get_or_load("key", load) for _ in range(3)] == ["value"] * 3
    assert loads == ["loaded"]
    assert (cache.hits, cache.misses) == (2, 1)


def test_nothing_found_is_not_cached():
    cache = RepositoryCache(ttl=60)
    calls: list[int] = []

    assert cache.get_or_load("key", lambda: calls.append(1)) is None
    assert cache.get_or_load("key", lambda: calls.append(1)) is None
    assert (len(calls), cache.hits, cache.misses) == (2, 0, 2)


def test_invalidate_and_clear_make_the_next_lookup_load_again():
    cache = RepositoryCache(ttl=60)
    cache.get_or_load("a", lambda: 1)
    cache.get_or_load("b", lambda: 2)

    cache.invalidate("a")
    assert cache.get_or_load("a", lambda: 10) == 10
    assert cache.get_or_load("b", lambda: 20) == 2
    cache.clear()
    assert cache.get_or_load("b", lambda: 20) == 20


def test_a_cached_value_is_served_until_its_ttl_has_passed_on_the_cache_clock():
    clock = ManualClock()
    cache = RepositoryCache(ttl=30, clock=clock)
    cache.get_or_load("key", lambda: "old")

    clock.advance(29.9)
    assert cache.get_or_load("key", lambda: "new") == "old"
    clock.advance(0.1)
    assert cache.get_or_load("key", lambda: "new") == "new"


def test_ttl_zero_switches_caching_off():
    cache = RepositoryCache(ttl=0)
    values = iter(["first", "second"])

    assert cache.get_or_load("key", lambda: next(values)) == "first"
    assert cache.get_or_load("key", lambda: next(values)) == "second"
    cache.invalidate("key")  # harmless when off
    assert (cache.hits, cache.misses) == (0, 0)


def test_tenant_info_is_a_plain_value_cached_across_sessions(app, user):
    cache = current_state(app).cache
    misses, hits = cache.misses, cache.hits

    first = tenant_info(app, user.tenant_id)
    second = tenant_info(app, user.tenant_id)

    assert first == second == TenantInfo(user.tenant_id, "Ada Writer's studio", first.slug, TenantKind.PERSONAL)
    assert (cache.misses - misses, cache.hits - hits) == (1, 1)


def test_tenant_info_stays_stale_until_forgotten(app, user):
    as_text = str(user.tenant_id)  # ids from URLs arrive as text; the cache key is the UUID
    tenant_info(app, as_text)
    rename_behind_the_caches_back(app, user.tenant_id, "Renamed studio")

    assert tenant_info(app, user.tenant_id).name == "Ada Writer's studio"
    with app.app_context():
        repositories().tenants.forget(user.tenant_id)
    assert tenant_info(app, as_text).name == "Renamed studio"


def test_a_change_made_elsewhere_shows_once_the_apps_ttl_has_passed(app, user, clock):
    tenant_info(app, user.tenant_id)
    rename_behind_the_caches_back(app, user.tenant_id, "Renamed studio")

    clock.advance(app.config["REPOSITORY_CACHE_TTL"] - 1)
    assert tenant_info(app, user.tenant_id).name == "Ada Writer's studio"
    clock.advance(1)
    assert tenant_info(app, user.tenant_id).name == "Renamed studio"


def test_writes_through_the_tenant_repository_invalidate_its_cached_info(app, user):
    tenant_info(app, user.tenant_id)

    with app.app_context():
        repos = repositories()
        with repos.transaction():
            tenant = repos.tenants.get(user.tenant_id)
            tenant.name = "Renamed studio"
            repos.tenants.save(tenant)
    assert tenant_info(app, user.tenant_id).name == "Renamed studio"

    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.tenants.delete(repos.tenants.get(user.tenant_id))
    assert tenant_info(app, user.tenant_id) is None


def test_with_the_cache_off_tenant_info_is_always_fresh(make_app, make_user):
    app = make_app(REPOSITORY_CACHE_TTL=0)
    account = make_user()  # registered through the default app, on the same database

    assert tenant_info(app, account.tenant_id) is not None
    rename_behind_the_caches_back(app, account.tenant_id, "Renamed studio")
    assert tenant_info(app, account.tenant_id).name == "Renamed studio"


def test_info_of_an_unknown_tenant_is_none(app):
    assert tenant_info(app, "5d1f3f4e-0000-4000-8000-000000000000") is None
