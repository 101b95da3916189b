"""app/repositories/provider_keys.py: BYOK keys stored encrypted, each owner seeing only its
own, the user's key chosen before the tenant's, and keys the provider refused set aside."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from app.errors import IllegalTransitionError
from app.extensions import db
from app.models import ProviderKey, ProviderKeyStatus, utcnow
from app.secrets import SecretBox
from app.runtime import current_state, repositories

ADA_KEY = "sk-ada-0123456789-abcd"
TEAM_KEY = "sk-team-9876543210-wxyz"


@pytest.fixture
def keys(app):
    """The provider-key repository and the app's box, inside one app context."""
    with app.app_context():
        yield repositories().provider_keys, current_state(app).secrets


def add(app, **fields) -> uuid.UUID:
    """Store a key in a transaction of its own; returns its id."""
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            key = repos.provider_keys.add(box=current_state(app).secrets, **fields)
            return key.id


def test_a_key_is_stored_encrypted_and_shown_by_its_last_four_characters(app, user):
    key_id = add(app, provider="openai", secret=ADA_KEY, user_id=user.user.id, label="mine")

    with app.app_context():
        row = db.session.execute(select(ProviderKey.__table__)).mappings().one()
        key = repositories().provider_keys.of_user(key_id, user.user.id)
        assert key.masked == "…abcd"
    assert all(ADA_KEY not in str(value) for value in row.values())
    assert current_state(app).secrets.decrypt(row["encrypted_key"]) == ADA_KEY
    assert (row["provider"], row["label"], row["status"]) == ("openai", "mine", "active")


def test_a_key_has_exactly_one_owner(keys, user):
    repository, box = keys

    with pytest.raises(ValueError):
        repository.add(provider="openai", secret=ADA_KEY, box=box)
    with pytest.raises(ValueError):
        repository.add(provider="openai", secret=ADA_KEY, box=box, user_id=user.user.id, tenant_id=user.tenant_id)


def test_each_owner_lists_and_reaches_only_its_own_keys(app, make_user):
    ada, bob = make_user(name="Ada"), make_user(name="Bob")
    older = add(app, provider="openai", secret=ADA_KEY, user_id=ada.user.id)
    newer = add(app, provider="anthropic", secret="sk-ant-ada-11112222", user_id=ada.user.id)
    bobs = add(app, provider="openai", secret="sk-bob-33334444", user_id=bob.user.id)
    team = add(app, provider="openai", secret=TEAM_KEY, tenant_id=ada.tenant_id)

    with app.app_context():
        repository = repositories().provider_keys
        assert [key.id for key in repository.for_user(ada.user.id)] == [newer, older]
        assert [key.id for key in repository.for_user(bob.user.id)] == [bobs]
        assert [key.id for key in repository.for_tenant(ada.tenant_id)] == [team]
        assert repository.for_tenant(bob.tenant_id) == []
        assert repository.of_user(bobs, ada.user.id) is None
        assert repository.of_user(team, ada.user.id) is None  # a tenant's key is not a person's
        assert repository.of_tenant(team, bob.tenant_id) is None
        assert repository.of_tenant(team, ada.tenant_id).id == team
        assert repository.of_user("not-an-id", ada.user.id) is None
        assert repository.for_user("not-an-id") == []


def test_a_call_uses_the_users_own_active_key_before_the_tenants(app, make_user):
    ada, bob = make_user(name="Ada"), make_user(name="Bob")
    team = add(app, provider="openai", secret=TEAM_KEY, tenant_id=ada.tenant_id)
    add(app, provider="openai", secret="sk-bob-33334444", user_id=bob.user.id)

    with app.app_context():
        repository = repositories().provider_keys
        assert repository.usable_key("openai", ada.user.id, ada.tenant_id).id == team
        assert repository.usable_key("anthropic", ada.user.id, ada.tenant_id) is None
        assert repository.usable_key("openai", None, None) is None

    first = add(app, provider="openai", secret=ADA_KEY, user_id=ada.user.id)
    newest = add(app, provider="openai", secret="sk-ada-newer-5555", user_id=ada.user.id)
    with app.app_context():
        assert repositories().provider_keys.usable_key("openai", ada.user.id, ada.tenant_id).id == newest
        assert repositories().provider_keys.usable_key("openai", None, ada.tenant_id).id == team
    assert first != newest


def test_a_revoked_key_is_not_used_and_cannot_be_revoked_again(app, user):
    mine = add(app, provider="openai", secret=ADA_KEY, user_id=user.user.id)
    team = add(app, provider="openai", secret=TEAM_KEY, tenant_id=user.tenant_id)

    with app.app_context():
        repos = repositories()
        with repos.transaction():
            revoked = repos.provider_keys.revoke(repos.provider_keys.of_user(mine, user.user.id))
            assert revoked.status == ProviderKeyStatus.REVOKED and revoked.revoked_at is not None
        with pytest.raises(IllegalTransitionError):
            repos.provider_keys.revoke(repos.provider_keys.of_user(mine, user.user.id))
        assert repos.provider_keys.usable_key("openai", user.user.id, user.tenant_id).id == team


def test_a_key_the_provider_refused_is_set_aside_with_the_reason(app, user):
    mine = add(app, provider="openai", secret=ADA_KEY, user_id=user.user.id)
    team = add(app, provider="openai", secret=TEAM_KEY, tenant_id=user.tenant_id)

    with app.app_context():
        repos = repositories()
        with repos.transaction():
            assert repos.provider_keys.mark_rejected(mine, "401 Incorrect API key provided" + "!" * 600) is True
        with repos.transaction():
            assert repos.provider_keys.mark_rejected(mine, "again") is False
            assert repos.provider_keys.mark_rejected(uuid.uuid4(), "nobody's") is False
        key = repos.provider_keys.of_user(mine, user.user.id)
        assert key.status == ProviderKeyStatus.REJECTED
        assert key.rejected_reason.startswith("401 Incorrect API key provided") and len(key.rejected_reason) == 500
        assert repos.provider_keys.usable_key("openai", user.user.id, user.tenant_id).id == team


def test_a_revoked_key_stays_revoked_when_the_provider_later_refuses_it(app, user):
    mine = add(app, provider="openai", secret=ADA_KEY, user_id=user.user.id)
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.provider_keys.revoke(repos.provider_keys.of_user(mine, user.user.id))
        with repos.transaction():
            assert repos.provider_keys.mark_rejected(mine, "401") is False
        assert repos.provider_keys.of_user(mine, user.user.id).status == ProviderKeyStatus.REVOKED


def test_use_is_stamped_at_most_once_a_minute(app, user):
    mine = add(app, provider="openai", secret=ADA_KEY, user_id=user.user.id)

    def touch_and_read():
        with app.app_context():
            repos = repositories()
            with repos.transaction():
                repos.provider_keys.touch(mine)
            return repos.provider_keys.of_user(mine, user.user.id).last_used_at

    first = touch_and_read()
    assert utcnow() - first < timedelta(seconds=30)
    assert touch_and_read() == first


def test_rotation_re_encrypts_every_key_with_the_newest_key(app, make_user):
    ada = make_user()
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with app.app_context():
        repos = repositories()
        with repos.transaction():
            repos.provider_keys.add(provider="openai", secret=ADA_KEY, box=SecretBox([old]), user_id=ada.user.id)
            repos.provider_keys.add(provider="openai", secret=TEAM_KEY, box=SecretBox([old]), tenant_id=ada.tenant_id)
            lost = repos.provider_keys.add(provider="openai", secret="sk-lost-key-0000",
                                           box=SecretBox([Fernet.generate_key().decode()]), user_id=ada.user.id)
        with repos.transaction():
            rotated, unreadable = repos.provider_keys.rotate_all(SecretBox([new, old]))
        tokens = {row.id: row.encrypted_key for row in repos.provider_keys.list()}

    assert (rotated, unreadable) == (2, [lost.id])
    assert sorted(SecretBox([new]).decrypt(token) for key_id, token in tokens.items() if key_id != lost.id) \
        == sorted([ADA_KEY, TEAM_KEY])
