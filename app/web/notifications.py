"""The person's notifications in the studio: the list, mark read (one or all), delete.

Every action answers with a redirect (a reload repeats nothing); the header's unread count
and the list follow new ones live through ``static/notifications.js``.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..auth.principal import current_principal
from ..runtime import current_state, repositories
from .forms import ConfirmForm
from .studio import blp

PAGE = 50


@blp.route("/notifications")
@login_required
def notifications():
    user_id, now = current_principal().user_id, current_state().clock.now()
    only_unread = request.args.get("show") == "unread"
    items, total = repositories().notifications.newest(user_id, now, unread=True if only_unread else None, limit=PAGE)
    return render_template("studio/notifications.html", items=items, total=total, only_unread=only_unread,
                           action_form=ConfirmForm(formdata=None))


def _back():
    return redirect(url_for("studio.notifications", show=request.args.get("show") or None), 303)


def _confirmed_own(repos, notification_id: str):
    """The signed-in person's notification, for a confirmed form; 400 without the form's
    token, 404 for anyone else's (as if it did not exist)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    found = repos.notifications.of_user(current_principal().user_id, notification_id)
    if found is None:
        abort(404)
    return found


@blp.route("/notifications/<notification_id>/read", methods=["POST"])
@login_required
def read_notification(notification_id: str):
    repos = repositories()
    with repos.transaction():
        found = _confirmed_own(repos, notification_id)
        repos.notifications.mark_read(found.user_id, current_state().clock.now(), [found.id])
    return _back()


@blp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all_notifications():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    repos = repositories()
    with repos.transaction():
        marked = repos.notifications.mark_read(current_principal().user_id, current_state().clock.now())
    flash(f"{marked} notification{'s' if marked != 1 else ''} marked read.", "success")
    return _back()


@blp.route("/notifications/<notification_id>/delete", methods=["POST"])
@login_required
def delete_notification(notification_id: str):
    repos = repositories()
    with repos.transaction():
        repos.notifications.delete(_confirmed_own(repos, notification_id))
    flash("Notification deleted.", "success")
    return _back()
