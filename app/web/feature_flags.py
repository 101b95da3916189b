"""The feature flags page, for platform administrators: every flag, and a form to make or
change one (``app/feature_flags.py`` holds the rules)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..errors import AppError
from ..feature_flags import FeatureFlags
from ..runtime import current_state, repositories
from .feedback import show_error
from .forms import ConfirmForm, FeatureFlagForm
from .studio import blp


def _flags() -> FeatureFlags:
    if not current_user.is_platform_admin:
        abort(403)
    return FeatureFlags(repositories(), current_state().cache)


@blp.route("/admin/feature-flags", methods=["GET", "POST"])
@login_required
def feature_flags():
    flags = _flags()
    form = FeatureFlagForm()
    status = 200
    if form.validate_on_submit():
        values = {"name": (form.name.data or "").strip() or None, "description": form.description.data,
                  "is_enabled": form.is_enabled.data == "on", "rollout_percentage": form.rollout_percentage.data,
                  "rollout_tiers": [t.strip() for t in (form.rollout_tiers.data or "").split(",") if t.strip()]}
        try:
            if flags.repos.feature_flags.by_key(form.flag_key.data) is None:
                flag = flags.create({"flag_key": form.flag_key.data, **values})
            else:
                flag = flags.update(form.flag_key.data, values)
        except AppError as error:
            show_error(form, error)
            status = error.status_code
        else:
            flash(f"Flag {flag.flag_key} saved: {'on' if flag.is_enabled else 'off'}, "
                  f"{flag.rollout_percentage} %.", "success")
            return redirect(url_for("studio.feature_flags"))
    elif form.is_submitted():
        status = 400
    return render_template("studio/feature_flags.html", flags=flags.repos.feature_flags.all(), form=form,
                           delete_form=ConfirmForm(formdata=None)), status


@blp.route("/admin/feature-flags/<flag_key>/delete", methods=["POST"])
@login_required
def delete_feature_flag(flag_key: str):
    flags = _flags()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        flags.delete(flag_key)
    except AppError:
        abort(404)
    flash(f"Flag {flag_key} deleted.", "success")
    return redirect(url_for("studio.feature_flags"))
