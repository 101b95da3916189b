"""app/auth/passwords.py: argon2id hashes, their checks, and upgrading old costs at login."""

from __future__ import annotations

import pytest

from app.auth.passwords import PasswordHasher
from app.runtime import auth_service, current_state, repositories

PASSWORD = "correct horse battery staple"


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_kib=8)


def test_a_hash_is_salted_argon2id_and_never_the_password(hasher):
    first, second = hasher.hash(PASSWORD), hasher.hash(PASSWORD)

    assert first.startswith("$argon2id$")
    assert PASSWORD not in first
    assert first != second


def test_verify_accepts_the_password_and_nothing_else(hasher):
    stored = hasher.hash(PASSWORD)

    assert hasher.verify(stored, PASSWORD) is True
    assert hasher.verify(stored, PASSWORD.upper()) is False
    assert hasher.verify(stored, "") is False


@pytest.mark.parametrize("stored", [None, "", "not-a-hash", "$argon2id$v=19$broken"])
def test_verify_refuses_missing_or_malformed_hashes(hasher, stored):
    assert hasher.verify(stored, PASSWORD) is False


def test_verify_without_a_hash_refuses_even_the_decoy_password(hasher):
    # An unknown account is checked against a decoy hash to take as long as a known one.
    assert hasher.verify(None, "inkwright-decoy-password") is False


def test_a_hash_made_with_other_costs_needs_a_rehash(hasher):
    stronger = PasswordHasher(time_cost=2, memory_kib=16)

    assert hasher.needs_rehash(stronger.hash(PASSWORD)) is True
    assert stronger.needs_rehash(hasher.hash(PASSWORD)) is True
    assert hasher.needs_rehash(hasher.hash(PASSWORD)) is False
    assert hasher.verify(stronger.hash(PASSWORD), PASSWORD) is True  # still readable meanwhile


def test_signing_in_upgrades_a_hash_made_with_other_costs(app, user):
    old_hash = PasswordHasher(time_cost=2, memory_kib=16).hash(user.password)
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            row = repos.users.get(user.user.id)
            row.password_hash = old_hash
            repos.users.save(row)

    with app.app_context():
        auth_service().authenticate(user.email, user.password, "198.51.100.7")

    with app.app_context():
        new_hash = repositories().users.get(user.user.id).password_hash
    passwords = current_state(app).passwords
    assert new_hash != old_hash
    assert passwords.needs_rehash(new_hash) is False
    assert passwords.verify(new_hash, user.password) is True


def test_signing_in_leaves_a_current_hash_alone(app, user):
    with app.app_context():
        before = repositories().users.get(user.user.id).password_hash
    with app.app_context():
        auth_service().authenticate(user.email, user.password, "198.51.100.7")
    with app.app_context():
        assert repositories().users.get(user.user.id).password_hash == before
