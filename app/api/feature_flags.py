"""Feature flags: platform administrators manage them; anyone signed in reads their own."""

from __future__ import annotations

from typing import Any

from ..auth.principal import current_principal
from ..errors import ForbiddenError
from ..feature_flags import FeatureFlags
from ..runtime import current_state, repositories
from ..schemas.feature_flags import FeatureFlagChangeSchema, FeatureFlagCreateSchema, FeatureFlagSchema, MyFlagsSchema
from .blueprint import EnvelopeBlueprint

blp = EnvelopeBlueprint("feature_flags", __name__, url_prefix="/api/feature-flags",
                        description="Feature flags (platform administrators manage them)")


def _flags() -> FeatureFlags:
    return FeatureFlags(repositories(), current_state().cache)


def _admin() -> FeatureFlags:
    user = current_principal().user
    if user is None or not user.is_platform_admin:
        raise ForbiddenError("Only platform administrators manage feature flags.")
    return _flags()


def _values(body: dict[str, Any]) -> dict[str, Any]:
    values = dict(body)
    if "rollout_tiers" in values:
        values["rollout_tiers"] = [tier.value for tier in values["rollout_tiers"]]
    if "rollout_user_ids" in values:
        values["rollout_user_ids"] = [str(user) for user in values["rollout_user_ids"]]
    return values


@blp.route("")
@blp.response(200, FeatureFlagSchema(many=True))
def list_flags():
    return _admin().repos.feature_flags.all()


@blp.route("", methods=["POST"])
@blp.arguments(FeatureFlagCreateSchema)
@blp.response(201, FeatureFlagSchema)
def create_flag(body: dict[str, Any]):
    """A new flag (off, at 0 %, unless the body says otherwise)."""
    return _admin().create(_values(body))


@blp.route("/mine")
@blp.response(200, MyFlagsSchema)
def my_flags():
    """Every flag, and whether it is on for you."""
    flags = _flags()
    user_id = current_principal().user_id
    return {"flags": {flag.flag_key: flags.enabled(flag.flag_key, user_id) for flag in flags.repos.feature_flags.all()}}


@blp.route("/<flag_key>")
@blp.response(200, FeatureFlagSchema)
def get_flag(flag_key: str):
    return _admin().require(flag_key)


@blp.route("/<flag_key>", methods=["PATCH"])
@blp.arguments(FeatureFlagChangeSchema)
@blp.response(200, FeatureFlagSchema)
def update_flag(body: dict[str, Any], flag_key: str):
    """Change a flag; raising the percentage keeps everyone already in."""
    return _admin().update(flag_key, _values(body))


@blp.route("/<flag_key>", methods=["DELETE"])
@blp.response(200, FeatureFlagSchema)
def delete_flag(flag_key: str):
    """Remove a flag (code asking for it gets its default again); the answer is the flag as it was."""
    flags = _admin()
    flag = flags.require(flag_key)
    shown = {name: getattr(flag, name) for name in FeatureFlagSchema().fields}  # read before the row goes
    flags.delete(flag_key)
    return shown
