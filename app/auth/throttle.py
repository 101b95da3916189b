"""Rate limits on what an attacker would repeat: signing in, registering, and setting a
password from a reset link; by client address and by account, using the ``limits`` library.
Each kind of attempt is counted apart, under one allowance (``LOGIN_RATE_LIMIT``).

Storage is Redis when a shared ``REDIS_URL`` is configured (several web processes see the
same counts) and process memory in the embedded single-process studio.

The windows are counted by ``limits`` itself, which reads the system's time (Redis's, for
the Redis storage), so the app's clock (:mod:`app.clock`) is not passed in here: a reading
of another clock could only disagree with the windows. Tests exhaust an allowance rather
than wait for a window to pass.
"""

from __future__ import annotations

import time

from limits import parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..errors import RateLimitedError


def limits_storage_uri(redis_url: str) -> str:
    """limits spells unix sockets ``redis+unix://``; redis-py spells them ``unix://``."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


#: The kinds of attempt counted, each by the words its refusal uses.
LOGIN = "login"  # a sign-in, or a request for a reset link (both try an account's password)
REGISTER = "register"
PASSWORD_RESET = "password_reset"  # a look at a reset link, to use it or to guess one
ATTEMPTS = {LOGIN: "sign-in attempts", REGISTER: "registrations", PASSWORD_RESET: "password-reset attempts"}


class AttemptThrottle:
    """Refuse an attempt once its address or its account has used its allowance."""

    def __init__(self, rule: str, redis_url: str = "", namespace: str = "inkwright") -> None:
        self.limits = parse_many(rule)
        storage = storage_from_string(limits_storage_uri(redis_url)) if redis_url else MemoryStorage()
        self.limiter = MovingWindowRateLimiter(storage)
        self.namespace = namespace

    def hit(self, address: str, account: str | None = None, kind: str = LOGIN) -> None:
        """Count one attempt of a kind, against its address and (when given) its account.

        :param kind: :data:`LOGIN`, :data:`REGISTER` or :data:`PASSWORD_RESET`.
        :raises RateLimitedError: with ``retry_after`` seconds when over the allowance.
        """
        keys = [f"{self.namespace}:{kind}:ip:{address}"]
        if account is not None:
            keys.append(f"{self.namespace}:{kind}:account:{account.lower()}")
        for key in keys:
            for limit in self.limits:
                if not self.limiter.hit(limit, key):
                    reset_at, _remaining = self.limiter.get_window_stats(limit, key)
                    retry_after = max(1, int(reset_at - time.time()))
                    raise RateLimitedError(
                        f"Too many {ATTEMPTS[kind]}; try again in {retry_after} seconds.",
                        {"retryAfter": retry_after},
                        retry_after=retry_after,
                    )

    def clear(self, account: str) -> None:
        """Forget an account's failed sign-ins after it signs in successfully."""
        for limit in self.limits:
            self.limiter.clear(limit, f"{self.namespace}:{LOGIN}:account:{account.lower()}")
