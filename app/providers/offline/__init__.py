"""``offline``: the embedded default provider, which needs no network and no key.

It writes readable prose shaped by the prompt (its names, quoted phrases and most frequent
words, woven into varied sentences), valid JSON for a requested JSON Schema, and PNG images
through a submit/poll job like a real media backend's. Everything is deterministic for the
same input and seed, so the whole product runs and is tested on a machine with no API key
(DESIGN.md, "Providers, metering, credits"). Its output is labelled offline wherever shown.
"""

from .provider import OfflineProvider

__all__ = ["OfflineProvider"]
