"""Mail Inkwright writes to people: kept in the outbox table, and in development the log.

No mail server is configured in the embedded studio, so a password-reset link can still be
followed: it is in the log and in ``flask inkwright outbox``.
"""

from __future__ import annotations

import logging

from .models import OutboxMessage
from .repositories.mail import OutboxRepository

log = logging.getLogger(__name__)


class Mailer:
    def __init__(self, outbox: OutboxRepository, sender: str, log_bodies: bool) -> None:
        self.outbox = outbox
        self.sender = sender
        self.log_bodies = log_bodies

    def send(self, kind: str, to: str, subject: str, body: str) -> OutboxMessage:
        """Write a message to the outbox (inside the caller's transaction)."""
        message = self.outbox.add(OutboxMessage(kind=kind, to_address=to.strip().lower(),
                                                subject=subject, body=body))
        if self.log_bodies:
            log.info("mail %s to %s: %s\n%s", kind, message.to_address, subject, body)
        else:
            log.info("mail %s to %s: %s (body kept in the outbox)", kind, message.to_address, subject)
        return message
