"""Outbound webhooks (issue 14; seed 003 tables 10-11): a tenant's events, signed, to its URLs.

=================  ==========================================================================
``catalog``        the event types the core and plugins declare (``Plugin.event_types``)
``signing``        the ``Inkwright-Signature`` header and ``verify_webhook_signature``
``address_guard``  the SSRF guard: http(s) only, every resolved address checked
``delivery``       one bounded HTTP attempt, to the checked address, no redirects
``backoff``        when a failed attempt is tried again (8 attempts over about 24 h)
``service``        managing webhooks, fan-out, and one attempt with its bookkeeping
``jobs``           the RQ job and the background event handler
=================  ==========================================================================
"""

from __future__ import annotations

from flask import Flask

from ..runtime import current_state
from .catalog import EventCatalog
from .jobs import queue_fan_out
from .service import EXTENSION_KEY, WebhookRuntime


def install_webhooks(app: Flask) -> WebhookRuntime:
    """Build the app's webhook machinery once its plugins are installed (they declare event
    types), and hand every event of a declared type that a webhook hears to the fan-out on a worker."""
    state = current_state(app)
    runtime = WebhookRuntime(
        EventCatalog.build(state.registry), allow_private=app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"],
        connect_timeout=app.config["WEBHOOK_CONNECT_TIMEOUT"], read_timeout=app.config["WEBHOOK_READ_TIMEOUT"])
    app.extensions[EXTENSION_KEY] = runtime
    # In process, after the commit: a job is queued only for an event some webhook of its
    # tenant hears, and the fan-out itself runs on a worker, so the request never waits.
    for name in runtime.catalog.names():
        state.events.subscribe(name, queue_fan_out)
    return runtime
