"""app/auth/throttle.py: attempts (sign-in, registration, password reset) limited per client
address and per account, each kind counted apart."""

from __future__ import annotations

import uuid

import pytest

from app.auth.throttle import LOGIN, PASSWORD_RESET, REGISTER, AttemptThrottle, limits_storage_uri
from app.errors import RateLimitedError


@pytest.fixture(params=["redis", "memory"])
def throttle(request, inkwright_redis_url) -> AttemptThrottle:
    """Three attempts a minute, counted in Redis (shared by web processes) or in memory."""
    redis_url = inkwright_redis_url if request.param == "redis" else ""
    return AttemptThrottle("3/minute", redis_url, namespace=f"test-{uuid.uuid4().hex}")


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


def test_each_kind_of_attempt_is_counted_apart(throttle):
    for n in range(3):
        throttle.hit("203.0.113.9", f"writer{n}@example.com", kind=REGISTER)

    with pytest.raises(RateLimitedError) as raised:
        throttle.hit("203.0.113.9", "writer3@example.com", kind=REGISTER)

    assert raised.value.message.startswith("Too many registrations; try again in")
    throttle.hit("203.0.113.9", "writer0@example.com", kind=LOGIN)  # signing in is still allowed
    throttle.hit("203.0.113.9", kind=PASSWORD_RESET)


def test_an_attempt_without_an_account_is_counted_by_its_address_alone(throttle):
    for _ in range(3):
        throttle.hit("203.0.113.9", kind=PASSWORD_RESET)

    with pytest.raises(RateLimitedError) as raised:
        throttle.hit("203.0.113.9", kind=PASSWORD_RESET)

    assert "Too many password-reset attempts" in raised.value.message
    throttle.hit("203.0.113.10", kind=PASSWORD_RESET)


def test_counts_in_redis_are_shared_between_processes(inkwright_redis_url):
    namespace = f"test-{uuid.uuid4().hex}"
    first, second = (AttemptThrottle("3/minute", inkwright_redis_url, namespace=namespace) for _ in range(2))
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
