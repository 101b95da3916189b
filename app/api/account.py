"""The signed-in person's account: credits, usage history, preferences and provider keys;
and the current tenant's provider keys (owners and admins).

A provider key is accepted here once and never comes back: responses carry ``masked``
(``…abcd``) and metadata only, and nothing here logs a request body.
"""

from __future__ import annotations

import copy
from typing import Any

from .. import audit
from ..auth.principal import Principal, current_principal
from ..errors import ForbiddenError, NotFoundError, ValidationError
from ..events import DomainEvent
from ..models import CreditAccount, ProviderKey, Role, User
from ..repositories import UsageFilter
from ..schemas.account import (
    MAX_DEFAULT_MODELS,
    MAX_SHORTCUTS,
    PREFERENCE_DEFAULTS,
    CreditsSchema,
    PreferencesPatchSchema,
    PreferencesSchema,
    ProviderKeyCreateSchema,
    ProviderKeySchema,
    UsagePageSchema,
    UsageQuerySchema,
    end_of,
    start_of,
)
from ..schemas.base import camelcase
from ..runtime import current_state, repositories
from .blueprint import EnvelopeBlueprint

blp = EnvelopeBlueprint("account", __name__, url_prefix="/api/account",
                        description="Your credits, usage, preferences and provider keys")
tenant_blp = EnvelopeBlueprint("tenant_provider_keys", __name__, url_prefix="/api/tenant/provider-keys",
                               description="The current tenant's provider keys (owners and admins)")

MAP_LIMITS = {"default_models": MAX_DEFAULT_MODELS, "keyboard_shortcuts": MAX_SHORTCUTS}


def account_holder() -> Principal:
    """The caller, who must be a person: an API key acts for a tenant, and a person's credits,
    history and keys span every tenant they belong to.

    :raises ForbiddenError: for an API key.
    """
    principal = current_principal()
    if principal.user is None or principal.via == "api_key":
        raise ForbiddenError("An API key acts for a tenant, not a person; sign in to use your account.",
                             {"via": principal.via})
    return principal


def tenant_key_manager() -> Principal:
    """The caller, who must be an owner or admin of the tenant the request acts in.

    :raises ForbiddenError: for members and viewers.
    """
    principal = current_principal()
    if not principal.role.at_least(Role.ADMIN):
        raise ForbiddenError(
            f"Your role ({principal.role.value}) may not manage the tenant's provider keys; owners and admins may.",
            {"resource": "provider_keys", "role": principal.role.value},
        )
    return principal


# Credits and usage -----------------------------------------------------------------------------
def credits_view(account: CreditAccount) -> dict[str, Any]:
    remaining = account.credits_remaining
    return {
        "tier": account.subscription_tier, "status": account.subscription_status,
        "period": account.subscription_period, "period_start": account.current_period_start,
        "period_end": account.current_period_end, "limit": account.tokens_limit_per_period,
        "used_this_period": account.tokens_used_this_period, "reserved": account.tokens_reserved,
        "bonus": account.credits_bonus,
        # A downgrade can leave more in flight than is left; show nothing left, not a debt.
        "remaining": None if remaining is None else max(remaining, 0),
        "total_used": account.tokens_used_total,
    }


@blp.route("/credits")
@blp.response(200, CreditsSchema)
def get_credits():
    """Your tier and balance: this period's limit, use and reservations, bonus, what remains."""
    principal = account_holder()
    repos = repositories()
    with repos.transaction():  # the first look opens the account
        return credits_view(repos.credit_accounts.account_for(principal.user_id))


@blp.route("/usage")
@blp.arguments(UsageQuerySchema, location="query")
@blp.response(200, UsagePageSchema)
def list_usage(query: dict[str, Any]):
    """Your model calls in every tenant, newest first, filtered and paged, with totals over
    every matching call."""
    principal = account_holder()
    usage_filter = UsageFilter(since=start_of(query["since"]), until=end_of(query["until"]),
                               status=query["status"], model=query["model"])
    page = repositories().usage_log.for_user(principal.user_id, usage_filter, limit=query["limit"],
                                             offset=query["offset"])
    return {"items": page.items, "total": page.total, "limit": query["limit"], "offset": query["offset"],
            "totals": page.totals}


# Preferences (seed 001's UserPreferences) -------------------------------------------------------
def preferences_of(user: User) -> dict[str, Any]:
    """Every known preference: the stored value, or its default when unset."""
    stored = user.preferences or {}
    return {name: copy.deepcopy(default) if stored.get(name) is None else stored[name]
            for name, default in PREFERENCE_DEFAULTS.items()}


def merge_preferences(stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Apply a validated patch: ``None`` resets a preference; maps merge key by key.

    :raises ValidationError: when a merged map grows past its limit.
    """
    merged = dict(stored)
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
            continue
        if isinstance(value, dict):
            current = merged.get(name) if isinstance(merged.get(name), dict) else {}
            value = {key: item for key, item in {**current, **value}.items() if item is not None}
            if len(value) > MAP_LIMITS[name]:
                raise ValidationError("Some of the values sent are not valid; see error.details.fields.",
                                      {"fields": {camelcase(name): [f"At most {MAP_LIMITS[name]} entries."]}})
        merged[name] = value
    return merged


@blp.route("/preferences")
@blp.response(200, PreferencesSchema)
def get_preferences():
    """Your preferences; unset ones read as their defaults."""
    principal = account_holder()
    return preferences_of(repositories().users.require(principal.user_id))


@blp.route("/preferences", methods=["PATCH"])
@blp.arguments(PreferencesPatchSchema)
@blp.response(200, PreferencesSchema)
def update_preferences(patch: dict[str, Any]):
    """Change some preferences: ``null`` resets one; in ``defaultModels`` and
    ``keyboardShortcuts`` a key set to ``null`` is removed and the others are kept."""
    principal = account_holder()
    repos = repositories()
    with repos.transaction():
        user = repos.users.require(principal.user_id)
        # A new dict, not an in-place change: the JSON column notices assignment only.
        before, user.preferences = user.preferences or {}, merge_preferences(user.preferences or {}, patch)
        audit.record(repos, "settings.update", "user", user.id, changes=audit.changed(before, user.preferences),
                     metadata={"settings": "preferences"})
        repos.users.save(user)
        return preferences_of(user)


# Provider keys ----------------------------------------------------------------------------------
def check_provider(name: str) -> None:
    """:raises ValidationError: unless ``name`` is an installed provider that needs a key."""
    provider = current_state().registry.providers.get(name)
    if provider is None:
        problem = f"No provider named {name!r} is installed."
    elif not getattr(provider, "requires_key", True):
        problem = f"The {name} provider needs no key."
    else:
        return
    raise ValidationError("Some of the values sent are not valid; see error.details.fields.",
                          {"fields": {"provider": [problem]}})


def add_key(body: dict[str, Any], *, user_id: Any = None, tenant_id: Any = None,
            created_by: Any = None) -> ProviderKey:
    check_provider(body["provider"])
    repos = repositories()
    label = (body.get("label") or "").strip() or None
    with repos.transaction() as tx:
        key = repos.provider_keys.add(provider=body["provider"], secret=body["key"], box=current_state().secrets,
                                      user_id=user_id, tenant_id=tenant_id, label=label,
                                      created_by_user_id=created_by)
        audit.record(repos, "provider_key.add", "provider_key", key.id, actor_id=created_by,
                     metadata={"provider": key.provider, "owner": "tenant" if tenant_id else "user",
                               "label": label, "masked": key.masked})
        if tenant_id is not None:
            tx.publish(DomainEvent("provider_key.added", str(key.id), {"providerKeyId": str(key.id),
                                                                        "provider": key.provider},
                                   tenant_id=tenant_id, actor_id=created_by))
    return key


def revoke_key(key: ProviderKey | None, key_id: str, actor_id: Any) -> ProviderKey:
    if key is None:
        raise NotFoundError(f"No provider key with id {key_id} here.", {"id": str(key_id)})
    repos = repositories()
    with repos.transaction() as tx:
        repos.provider_keys.revoke(key)
        audit.record(repos, "provider_key.revoke", "provider_key", key.id, actor_id=actor_id,
                     changes={"status": {"before": "active", "after": key.status}},
                     metadata={"provider": key.provider, "owner": "tenant" if key.tenant_id else "user",
                               "masked": key.masked})
        if key.tenant_id is not None:
            tx.publish(DomainEvent("provider_key.revoked", str(key.id), {"providerKeyId": str(key.id),
                                                                          "provider": key.provider},
                                   tenant_id=key.tenant_id, actor_id=actor_id))
    return key


@blp.route("/provider-keys")
@blp.response(200, ProviderKeySchema(many=True))
def list_my_keys():
    """Your own provider keys (masked), newest first; they are used before your tenant's."""
    return repositories().provider_keys.for_user(account_holder().user_id)


@blp.route("/provider-keys", methods=["POST"])
@blp.arguments(ProviderKeyCreateSchema)
@blp.response(201, ProviderKeySchema)
def add_my_key(body: dict[str, Any]):
    """Add a key of yours for a provider; it is stored encrypted and never shown again."""
    principal = account_holder()
    return add_key(body, user_id=principal.user_id, created_by=principal.user_id)


@blp.route("/provider-keys/<key_id>", methods=["DELETE"])
@blp.response(200, ProviderKeySchema)
def revoke_my_key(key_id: str):
    """Revoke one of your keys; calls stop using it at once (409 if already revoked)."""
    # Look the key up before refusing an API key: an id that is not the caller's answers
    # 404 whoever asks, as every other tenant's or person's id does (tests/api/test_isolation.py).
    principal = current_principal()
    key = repositories().provider_keys.of_user(key_id, principal.user_id) if principal.user_id else None
    if key is not None:
        account_holder()
    return revoke_key(key, key_id, principal.user_id)


@tenant_blp.route("")
@tenant_blp.response(200, ProviderKeySchema(many=True))
def list_tenant_keys():
    """The tenant's provider keys (masked), newest first; members' calls fall back to them."""
    return repositories().provider_keys.for_tenant(tenant_key_manager().tenant_id)


@tenant_blp.route("", methods=["POST"])
@tenant_blp.arguments(ProviderKeyCreateSchema)
@tenant_blp.response(201, ProviderKeySchema)
def add_tenant_key(body: dict[str, Any]):
    """Add a key for the whole tenant; it is stored encrypted and never shown again."""
    principal = tenant_key_manager()
    return add_key(body, tenant_id=principal.tenant_id, created_by=principal.user_id)


@tenant_blp.route("/<key_id>", methods=["DELETE"])
@tenant_blp.response(200, ProviderKeySchema)
def revoke_tenant_key(key_id: str):
    """Revoke one of the tenant's keys (409 if already revoked)."""
    principal = tenant_key_manager()
    return revoke_key(repositories().provider_keys.of_tenant(key_id, principal.tenant_id), key_id,
                      principal.user_id)
