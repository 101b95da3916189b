"""Opaque bearer secrets: random, recognisable by prefix, stored only as SHA-256 hashes.

The prefix tells the kind apart at a glance (in a log, or a leaked-secret scanner) and lets
authentication go straight to the right table.
"""

from __future__ import annotations

import hashlib
import secrets

ACCESS_PREFIX = "iwa_"
REFRESH_PREFIX = "iwr_"
API_KEY_PREFIX = "iwk_"
RESET_PREFIX = "iwp_"


def new_secret(prefix: str) -> str:
    """A fresh secret with 256 bits of randomness."""
    return prefix + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The form we store and look secrets up by. SHA-256 suffices: the secret is random."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    """The first characters of a secret, safe to show so people can tell keys apart."""
    return secret[:12]
