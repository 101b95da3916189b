"""app/feature_flags.py: who a flag is on for, stably as its rollout grows."""

from __future__ import annotations

import uuid

import pytest

from app.errors import ValidationError
from app.feature_flags import FeatureFlags, FlagRule, bucket, check_values, is_on
from app.runtime import current_state, repositories

PEOPLE = [uuid.UUID(int=n * 7919 + 17) for n in range(1000)]


def rule(percentage: int, enabled: bool = True, users=(), tiers=()) -> FlagRule:
    return FlagRule(enabled, percentage, frozenset(map(str, users)), frozenset(tiers))


def test_a_flag_at_30_percent_is_on_for_about_30_percent_and_stays_on_as_it_rises_to_50():
    at_30 = {person for person in PEOPLE if is_on(rule(30), "editor.new", person, None)}
    at_50 = {person for person in PEOPLE if is_on(rule(50), "editor.new", person, None)}

    assert 270 <= len(at_30) <= 330, len(at_30)
    assert 460 <= len(at_50) <= 540, len(at_50)
    assert at_30 <= at_50  # nobody who had it loses it
    assert {person for person in PEOPLE if is_on(rule(30), "editor.new", person, None)} == at_30  # stable
    # Another flag at the same percentage picks other people (the key is in the hash).
    assert {person for person in PEOPLE if is_on(rule(30), "other.flag", person, None)} != at_30


def test_named_people_and_tiers_are_in_whatever_the_percentage_and_off_means_off():
    someone, other = PEOPLE[0], PEOPLE[1]
    assert is_on(rule(0, users=[someone]), "x.y", someone, None)
    assert not is_on(rule(0, users=[someone]), "x.y", other, None)
    assert is_on(rule(0, tiers=["creator"]), "x.y", other, "creator")
    assert not is_on(rule(0, tiers=["creator"]), "x.y", other, "free")
    assert not is_on(rule(100, enabled=False, users=[someone]), "x.y", someone, None)
    assert is_on(rule(100), "x.y", None, None) and not is_on(rule(99), "x.y", None, None)
    assert 0 <= bucket("x.y", someone) < 100


@pytest.mark.parametrize("values, field", [
    ({"rollout_percentage": 101}, "rollout_percentage"), ({"rollout_percentage": -1}, "rollout_percentage"),
    ({"rollout_percentage": True}, "rollout_percentage"), ({"rollout_tiers": ["gold"]}, "rollout_tiers"),
    ({"rollout_user_ids": ["not-a-uuid"]}, "rollout_user_ids"), ({"flag_key": "Bad Key"}, "flag_key"),
])
def test_bad_flag_values_are_refused_by_field(values, field):
    with pytest.raises(ValidationError) as refused:
        check_values(values)
    assert field in refused.value.details["fields"]


def test_flags_are_read_through_the_cache_and_a_change_here_is_seen_at_once(app, user):
    with app.app_context():
        flags = FeatureFlags(repositories(), current_state().cache)
        assert flags.enabled("studio.beta", user.user.id) is False
        assert flags.enabled("studio.beta", user.user.id, default=True) is True  # no such flag: its default
        flags.create({"flag_key": "studio.beta", "name": "Beta", "is_enabled": True,
                      "rollout_user_ids": [str(user.user.id)]})
        assert flags.enabled("studio.beta", user.user.id) is True
        flags.update("studio.beta", {"is_enabled": False})
        assert flags.enabled("studio.beta", user.user.id) is False
        assert flags.require("studio.beta").rollout_user_ids == [str(user.user.id)]  # an update keeps the rest
        flags.delete("studio.beta")
        assert flags.enabled("studio.beta", user.user.id) is False


def test_each_change_of_a_flag_is_audited_in_its_transaction(app):
    from sqlalchemy import select

    from app.models import AuditLogEntry

    with app.app_context():
        flags = FeatureFlags(repositories(), current_state().cache)
        flags.create({"flag_key": "audited.flag", "name": "Audited", "rollout_percentage": 10})
        flags.update("audited.flag", {"rollout_percentage": 40})
        with pytest.raises(ValidationError):
            flags.update("audited.flag", {"rollout_percentage": 140})  # refused: no entry
        flags.delete("audited.flag")
        entries = repositories().session.scalars(select(AuditLogEntry).where(
            AuditLogEntry.entity_id == "audited.flag").order_by(AuditLogEntry.created_at)).all()
        assert [entry.action for entry in entries] == ["feature_flag.create", "feature_flag.update",
                                                       "feature_flag.delete"]
        assert entries[1].changes == {"rollout_percentage": {"before": 10, "after": 40}}
