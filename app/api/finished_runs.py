"""A finished run's detail, serialised once and kept: it is read far more than it changes.

Building the detail of a 50-step run costs tens of milliseconds (its steps, attempts and
generation jobs read, then every field serialised); a finished run changes only when it is
retried, which moves the ``updated_at`` its ETag is made of. So the JSON text of its
``data`` is kept per process under that ETag, in a small LRU, and each request wraps it in
an envelope of its own (request id, timestamp, duration). The run is still read — scoped
to the caller's tenant, with its status and ETag — before anything kept is served, so
nothing crosses tenants and a retried run is never served stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

from flask import Response, current_app

from ..envelope import metadata

#: Details kept per process: a 50-step run's is about 80 KB, so this holds at most ~20 MB.
KEPT = 256


class FinishedRunDetails:
    """JSON text of finished runs' details by ETag, the least recently read dropped first."""

    def __init__(self, size: int = KEPT) -> None:
        self.size = size
        self._kept: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def text(self, etag: str, build: Callable[[], object]) -> str:
        """The kept JSON text for ``etag``, or ``build()``'s, serialised and kept."""
        with self._lock:
            found = self._kept.get(etag)
            if found is not None:
                self._kept.move_to_end(etag)
                return found
        made = current_app.json.dumps(build())
        with self._lock:
            self._kept[etag] = made
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return made


def enveloped(data_text: str, headers: dict[str, str]) -> Response:
    """A success envelope around JSON text already made, with this request's metadata."""
    body = f'{{"success":true,"data":{data_text},"error":null,"metadata":{current_app.json.dumps(metadata())}}}'
    return Response(body, status=200, mimetype="application/json", headers=headers)
