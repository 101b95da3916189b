"""Strings in the shape of a JSON Schema ``format``: dates, emails, URIs, UUIDs, addresses."""

from __future__ import annotations

import random
import re
import uuid
from datetime import datetime, timedelta, timezone

from .prose import Prose


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "offline"


def formatted(fmt: str, rng: random.Random, prose: Prose) -> str | None:
    """A string in a JSON Schema ``format``; ``None`` for a format without a special shape."""
    moment = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(2 * 365 * 86400))
    if fmt == "date-time":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "date":
        return moment.strftime("%Y-%m-%d")
    if fmt == "time":
        return moment.strftime("%H:%M:%SZ")
    if fmt == "email":
        return f"{_slug(prose.name()).replace('-', '.')}@example.com"
    if fmt in ("uri", "url", "iri", "uri-reference"):
        return f"https://example.com/{_slug(prose.term())}"
    if fmt == "uuid":
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if fmt == "hostname":
        return f"{_slug(prose.word())}.example.com"
    if fmt == "ipv4":
        return f"192.0.2.{rng.randint(1, 254)}"
    if fmt == "ipv6":
        return f"2001:db8::{rng.randint(1, 0xFFFF):x}"
    return None
