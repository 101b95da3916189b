"""The bare-RQ baseline's job: enqueued by dotted path (``bench.noop_jobs.noop``), does nothing.

It lives in an importable module (never a script's ``__main__``) so an RQ worker, forked
or not, finds it the way it finds ``app.jobs.run_step``.
"""

from __future__ import annotations

JOB_FUNCTION = "bench.noop_jobs.noop"


def noop(index: int) -> dict:
    """Return at once, with a result as small as the engine's ``{"outcome": ...}``."""
    return {"ok": True, "index": index}
