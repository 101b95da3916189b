"""Feature flags (seed 003 table 13): a feature on for no one, a stable share of people,
named people, or the people of some subscription tiers.

A flag that ``is_enabled`` is on for a person when they are among ``rollout_user_ids``, their
tier is among ``rollout_tiers``, or their bucket is under ``rollout_percentage``. The bucket
is a hash of the flag's key and the person's id into 0–99, so it never changes: raising the
percentage from 30 to 50 keeps the first 30 % in and adds 20 % more. A flag not in the table
is its ``default``; flags are read through the app's short TTL cache (``REPOSITORY_CACHE_TTL``),
so a change reaches every process within that many seconds.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import Any

from . import audit
from .auth.principal import optional_principal
from .errors import ConflictError, NotFoundError, ValidationError
from .models import FeatureFlag, SubscriptionTier
from .repositories import Repositories
from .runtime import current_state, repositories

FLAG_KEY = re.compile(r"^[a-z][a-z0-9_.\-]{1,99}$")
#: What the audit log keeps of a flag's change (before and after).
_AUDITED = ("name", "description", "is_enabled", "rollout_percentage", "rollout_user_ids", "rollout_tiers")


@dataclass(frozen=True)
class FlagRule:
    """What the cache keeps of a flag: plain values, never an ORM row."""

    enabled: bool
    percentage: int
    user_ids: frozenset[str]
    tiers: frozenset[str]

    @classmethod
    def of(cls, flag: FeatureFlag) -> "FlagRule":
        return cls(flag.is_enabled, flag.rollout_percentage, frozenset(map(str, flag.rollout_user_ids or ())),
                   frozenset(flag.rollout_tiers or ()))


def bucket(flag_key: str, user_id: uuid.UUID | str) -> int:
    """The person's place, 0–99, for this flag: the same on every call and every machine."""
    digest = hashlib.sha256(f"{flag_key}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def is_on(rule: FlagRule, flag_key: str, user_id: uuid.UUID | str | None, tier: str | None) -> bool:
    if not rule.enabled:
        return False
    if rule.percentage >= 100:
        return True
    if user_id is None:
        return False  # nobody to place in the rollout
    if str(user_id) in rule.user_ids or (tier is not None and tier in rule.tiers):
        return True
    return bucket(flag_key, user_id) < rule.percentage


def check_values(values: dict[str, Any]) -> dict[str, Any]:
    """Refuse a bad flag before anything is written: the key, a percentage outside 0–100, an
    unknown tier, a user id that is not one."""
    problems: dict[str, list[str]] = {}
    if "flag_key" in values and not FLAG_KEY.match(str(values["flag_key"] or "")):
        problems["flag_key"] = ["2 to 100 lower-case letters, digits, dots, dashes and underscores."]
    percentage = values.get("rollout_percentage")
    if percentage is not None and (isinstance(percentage, bool) or not isinstance(percentage, int)
                                   or not 0 <= percentage <= 100):
        problems["rollout_percentage"] = ["A whole number from 0 to 100."]
    tiers = {tier.value for tier in SubscriptionTier}
    if any(tier not in tiers for tier in values.get("rollout_tiers") or ()):
        problems["rollout_tiers"] = [f"Tiers are {', '.join(sorted(tiers))}."]
    if values.get("rollout_user_ids") is not None:
        try:
            values["rollout_user_ids"] = [str(uuid.UUID(str(user))) for user in values["rollout_user_ids"]]
        except ValueError:
            problems["rollout_user_ids"] = ["Each is a user id (a UUID)."]
    if values.get("name") is not None and not str(values["name"]).strip():
        problems["name"] = ["Give the flag a name."]
    if problems:
        raise ValidationError("The flag was not saved: see error.details.fields.", {"fields": problems})
    return values


class FeatureFlags:
    """Evaluate and manage flags over one repository factory.

    :param repos: where the flags are.
    :param cache: the app's TTL cache (``current_state().cache``).
    """

    def __init__(self, repos: Repositories, cache: Any) -> None:
        self.repos = repos
        self.cache = cache

    def _rule(self, flag_key: str) -> FlagRule | None:
        def load() -> FlagRule | None:
            flag = self.repos.feature_flags.by_key(flag_key)
            return FlagRule.of(flag) if flag is not None else None
        return self.cache.get_or_load(("feature_flag", flag_key), load)

    def enabled(self, flag_key: str, user_id: uuid.UUID | str | None = None, *, default: bool = False) -> bool:
        rule = self._rule(flag_key)
        if rule is None:
            return default
        tier = None
        if rule.tiers and user_id is not None:
            found = self.repos.credit_accounts.tier_of(user_id)
            tier = found.value if found is not None else None
        return is_on(rule, flag_key, user_id, tier)

    # Managing (platform administrators) ------------------------------------------------------
    def create(self, values: dict[str, Any]) -> FeatureFlag:
        values = check_values(dict(values))
        if self.repos.feature_flags.by_key(values["flag_key"]) is not None:
            raise ConflictError(f"A flag {values['flag_key']} exists already.", {"flag_key": values["flag_key"]})
        flag = FeatureFlag(flag_key=values["flag_key"], name=values.get("name") or values["flag_key"],
                           description=values.get("description") or "", is_enabled=bool(values.get("is_enabled")),
                           rollout_percentage=values.get("rollout_percentage") or 0,
                           rollout_user_ids=values.get("rollout_user_ids") or [],
                           rollout_tiers=list(values.get("rollout_tiers") or []))
        with self.repos.transaction():
            self.repos.feature_flags.add(flag)
            audit.record(self.repos, "feature_flag.create", "feature_flag", flag.flag_key, tenant_id=None,
                         changes=audit.changed({}, self._shown(flag)))
        self.cache.invalidate(("feature_flag", flag.flag_key))
        return flag

    @staticmethod
    def _shown(flag: FeatureFlag) -> dict[str, Any]:
        return {name: getattr(flag, name) for name in _AUDITED}

    def require(self, flag_key: str) -> FeatureFlag:
        flag = self.repos.feature_flags.by_key(flag_key)
        if flag is None:
            raise NotFoundError(f"No feature flag {flag_key}.", {"flag_key": flag_key})
        return flag

    def update(self, flag_key: str, changes: dict[str, Any]) -> FeatureFlag:
        changes = check_values({key: value for key, value in changes.items() if key != "flag_key"})
        flag = self.require(flag_key)
        before = self._shown(flag)
        with self.repos.transaction():
            for name in ("name", "description", "is_enabled", "rollout_percentage"):
                if changes.get(name) is not None:
                    setattr(flag, name, changes[name])
            for name in ("rollout_user_ids", "rollout_tiers"):  # new lists, so the JSON column is rewritten
                if changes.get(name) is not None:
                    setattr(flag, name, list(changes[name]))
            self.repos.feature_flags.save(flag)
            audit.record(self.repos, "feature_flag.update", "feature_flag", flag_key, tenant_id=None,
                         changes=audit.changed(before, self._shown(flag)))
        self.cache.invalidate(("feature_flag", flag_key))
        return flag

    def delete(self, flag_key: str) -> None:
        flag = self.require(flag_key)
        with self.repos.transaction():
            audit.record(self.repos, "feature_flag.delete", "feature_flag", flag_key, tenant_id=None,
                         changes=audit.changed(self._shown(flag), {}))
            self.repos.feature_flags.delete(flag)
        self.cache.invalidate(("feature_flag", flag_key))


def feature_enabled(flag_key: str, user: Any = None, *, default: bool = False) -> bool:
    """Whether flag ``flag_key`` is on for ``user`` (a user, a user id, or ``None`` for the
    signed-in person) — ``app.toolkit.feature_enabled``."""
    if user is None:
        principal = optional_principal()
        user_id = principal.user_id if principal is not None else None
    else:
        user_id = getattr(user, "id", user)
    return FeatureFlags(repositories(), current_state().cache).enabled(flag_key, user_id, default=default)
