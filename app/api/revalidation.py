"""Conditional GETs: what may be cached, and the ``304 Not Modified`` that revalidates it.

Honest caching only: a finished run changes only when it is retried, which moves its
``updated_at``, so its detail carries an ETag made of its id, that time and the app's version
(a release may shape the JSON differently) and ``Cache-Control: private, no-cache`` — keep it,
ask again each time. A live run changes every moment: ``no-store``. An artifact's bytes are
content-addressed, so their ETag is their hash and they never change (``immutable``).
"""

from __future__ import annotations

from flask import Response, request
from sqlalchemy import Row

from ..models import Run
from ..version import __version__

#: What a finished run's detail says to caches: keep it, but ask before each use.
REVALIDATE = "private, no-cache"
#: What a live run's detail says: it is already out of date, keep nothing.
LIVE = "no-store"
#: What an artifact's bytes say: they will never change.
FOREVER = "private, max-age=31536000, immutable"


def run_etag(run: Run | Row) -> str | None:
    """The ETag of a finished run's detail (from the run or its ``freshness`` row) (weak: the same run may serialise with other
    whitespace), or ``None`` while it may still change."""
    if not run.status.is_terminal:
        return None
    return f'W/"{run.id}.{run.updated_at.timestamp():.6f}.{__version__}"'


def run_cache_headers(run: Run | Row) -> dict[str, str]:
    etag = run_etag(run)
    return {"ETag": etag, "Cache-Control": REVALIDATE} if etag else {"Cache-Control": LIVE}


def not_modified(headers: dict[str, str]) -> Response | None:
    """``304 Not Modified`` when the request's ``If-None-Match`` names the ETag in ``headers``."""
    etag = headers.get("ETag")
    if etag is None or not request.if_none_match:
        return None
    value, weak = etag.removeprefix("W/").strip('"'), etag.startswith("W/")
    # If-None-Match compares weakly (RFC 9110 13.1.2): W/"x" matches "x" and W/"x".
    if request.if_none_match.contains_weak(value) or (not weak and request.if_none_match.contains(value)):
        return Response(status=304, headers=headers)
    return None
