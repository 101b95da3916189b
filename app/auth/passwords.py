"""Password hashing with argon2id (the OWASP first choice), via argon2-cffi."""

from __future__ import annotations

from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class PasswordHasher:
    """Hash and check passwords; costs come from configuration (tests turn them down)."""

    def __init__(self, time_cost: int, memory_kib: int) -> None:
        self._hasher = Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        # A real hash to verify against when the account does not exist, so a login
        # for an unknown email takes as long as one for a known email.
        self._decoy = self._hasher.hash("inkwright-decoy-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._decoy, password) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with older costs and should be upgraded at login."""
        return self._hasher.check_needs_rehash(password_hash)
