"""app/auth/throttle.py: sign-in attempts limited per client address and per account."""

from __future__ import annotations

import uuid

import pytest

from app.auth.throttle import LoginThrottle, limits_storage_uri
from app.errors import RateLimitedError


@pytest.fixture(params=["redis", "memory"])
def throttle(request, inkwright_redis_url) -> LoginThrottle:
    """Three attempts a minute, counted in Redis (shared by web processes) or in memory."""
    redis_url = inkwright_redis_url if request.param == "redis" else ""
    return LoginThrottle("3/minute", redis_url, namespace=f"test-{uuid.uuid4().hex}")


def test_an_address_is_blocked_after_the_limit_whatever_the_account(throttle):
    for n in range(3):
        throttle.hit("203.0.113.9", f"writer{n}@example.com")

    with pytest.raises(RateLimitedError) as raised:
        throttle.hit("203.0.113.9", "someone-else@example.com")

    error = raised.value
    assert (error.code, error.status_code) == ("RATE_LIMITED", 429)
    assert 1 <= error.retry_after <= 60
    assert error.details == {"retryAfter": error.retry_after}
    throttle.hit("203.0.113.10", "someone-else@example.com")  # other addresses go on


def test_an_account_is_blocked_after_the_limit_whatever_the_address(throttle):
    for n in range(3):
        throttle.hit(f"203.0.113.{n}", "Ada@Example.com")

    with pytest.raises(RateLimitedError):
        throttle.hit("198.51.100.1", "ada@example.com")  # the same account, spelled otherwise
    throttle.hit("198.51.100.1", "bob@example.com")


def test_clear_resets_the_account(throttle):
    for n in range(3):
        throttle.hit(f"203.0.113.{n}", "ada@example.com")
    throttle.clear("ADA@example.com")

    throttle.hit("198.51.100.1", "ada@example.com")


def test_clear_leaves_the_address_blocked(throttle):
    for n in range(3):
        throttle.hit("192.0.2.1", f"writer{n}@example.com")
    for n in range(3):
        throttle.clear(f"writer{n}@example.com")

    with pytest.raises(RateLimitedError):
        throttle.hit("192.0.2.1", "writer0@example.com")


def test_counts_in_redis_are_shared_between_processes(inkwright_redis_url):
    namespace = f"test-{uuid.uuid4().hex}"
    first, second = (LoginThrottle("3/minute", inkwright_redis_url, namespace=namespace) for _ in range(2))
    first.hit("203.0.113.9", "a@example.com")
    second.hit("203.0.113.9", "b@example.com")
    first.hit("203.0.113.9", "c@example.com")

    with pytest.raises(RateLimitedError):
        second.hit("203.0.113.9", "d@example.com")


@pytest.mark.parametrize("url, storage", [
    ("unix:///tmp/redis.sock", "redis+unix:///tmp/redis.sock"),
    ("redis://127.0.0.1:6379/3", "redis://127.0.0.1:6379/3"),
])
def test_redis_urls_are_spelled_the_way_limits_reads_them(url, storage):
    assert limits_storage_uri(url) == storage
