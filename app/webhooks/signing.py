"""Signatures of webhook deliveries, made the way Stripe makes them.

Each request carries ``Inkwright-Signature: t=<unix time>,v1=<hex HMAC-SHA256>``, the HMAC
keyed with the webhook's secret over ``"<t>.<raw body>"``. Signing the time with the body
lets a receiver refuse a captured request replayed later (``tolerance_seconds``); ``v1``
names the scheme, so a second one can be added beside it without breaking receivers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Inkwright-Signature"
DELIVERY_HEADER = "Inkwright-Delivery"
EVENT_HEADER = "Inkwright-Event"
SCHEME = "v1"
#: Secrets are prefixed so a leaked one is recognisable in a log or a repository scan.
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret: 32 random bytes, url-safe."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<payload>"`` keyed with ``secret``."""
    signed = str(int(timestamp)).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Inkwright-Signature`` value for ``payload`` sent at ``timestamp``."""
    return f"t={int(timestamp)},{SCHEME}={signature(payload, secret, timestamp)}"


def verify_webhook_signature(payload: bytes, header: str, secret: str, tolerance_seconds: int = 300,
                             now: float | None = None) -> bool:
    """Check that a delivery came from Inkwright, with this secret, recently.

    Pass the raw request body exactly as received (not re-serialised JSON)::

        from app.toolkit import verify_webhook_signature
        if not verify_webhook_signature(request.get_data(), request.headers.get("Inkwright-Signature", ""),
                                        secret):
            abort(400)

    :param payload: the request body as bytes.
    :param header: the ``Inkwright-Signature`` header's value.
    :param secret: the webhook's secret (``whsec_…``), as shown when it was created.
    :param tolerance_seconds: how old a signature may be (and how far in the future);
        ``0`` or less skips the time check.
    :param now: the receiver's unix time (``time.time()`` by default).
    :returns: whether some ``v1`` signature in the header matches and its time is within
        the tolerance. A malformed header is simply ``False``.
    """
    if not isinstance(header, str) or not isinstance(payload, (bytes, bytearray)) or not secret:
        return False
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if tolerance_seconds > 0:
        current = time.time() if now is None else now
        if abs(current - timestamp) > tolerance_seconds:
            return False
    expected = signature(bytes(payload), secret, timestamp)
    # compare_digest on every candidate: no early exit that times out which one matched.
    # Bytes, not str: compare_digest refuses str with non-ASCII characters, which a forged
    # header may carry.
    return any(hmac.compare_digest(expected.encode("ascii"), candidate.encode("utf-8", "replace"))
               for candidate in candidates)
