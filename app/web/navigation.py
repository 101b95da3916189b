"""The studio's main navigation: the core's links, then each plugin's (``Plugin.navigation``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import request, url_for
from werkzeug.routing import BuildError

from ..api.audit_log import may_read_audit_log
from ..auth.principal import optional_principal
from ..models import Role
from ..runtime import current_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NavLink:
    """One link of the main navigation."""

    label: str
    url: str
    endpoint: str

    @property
    def current(self) -> bool:
        return request.endpoint == self.endpoint


def admin_links() -> list[NavLink]:
    """The core's links for those who administer the tenant or the platform: the audit log
    (owners, admins and platform administrators)."""
    principal = optional_principal()
    links = []
    # Webhooks: a tenant's owners and admins (app/web/webhooks.py).
    if principal is not None and principal.role.at_least(Role.ADMIN):
        links.append(NavLink("Webhooks", url_for("studio.webhooks"), "studio.webhooks"))
    if may_read_audit_log(principal):
        links.append(NavLink("Audit log", url_for("studio.audit_log"), "studio.audit_log"))
    if principal is not None and principal.user is not None and principal.user.is_platform_admin:
        links.append(NavLink("Feature flags", url_for("studio.feature_flags"), "studio.feature_flags"))
    return links


def plugin_links() -> list[NavLink]:
    """The links every enabled plugin asks for, in plugin order.

    A plugin's broken navigation (it raises, or names an endpoint that cannot be built
    without arguments) costs it its links, never the page: DESIGN.md's "a broken plugin
    must not take the app down" holds for each request too.
    """
    links: list[NavLink] = []
    for name, plugin in current_state().registry.plugins.items():
        try:
            pairs = list(plugin.navigation())
        except Exception:  # noqa: BLE001 - logged; the page renders without this plugin's links
            log.warning("navigation of plugin %s failed", name, exc_info=True)
            continue
        for pair in pairs:
            try:
                label, endpoint = pair
                links.append(NavLink(str(label), url_for(endpoint), endpoint))
            except (BuildError, TypeError, ValueError):
                log.warning("plugin %s: navigation entry %r is not a (label, endpoint without arguments) pair",
                            name, pair)
    return links
