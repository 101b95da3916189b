"""A finished run's detail, serialised once and kept per process (``state.finished_runs``): it is read far more than it changes.

Building the detail of a 50-step run costs tens of milliseconds (its steps, attempts and
generation jobs read, then every field serialised); a finished run changes only when it is
retried, which moves the ``updated_at`` its ETag is made of. So the JSON text of its
``data`` is kept per process under that ETag, in a small LRU, and each request wraps it in
an envelope of its own (request id, timestamp, duration). The run is still read — scoped
to the caller's tenant, with its status and ETag — before anything kept is served, so
nothing crosses tenants and a retried run is never served stale; a run that changed between
that read and the loading of its detail is answered as it is now, and not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import current_app

#: Details kept per process: a 50-step run's is about 80 KB, so this holds at most ~20 MB.
KEPT = 256


class FinishedRunDetails:
    """JSON text of finished runs' details by ETag, the least recently read dropped first."""

    def __init__(self, size: int = KEPT) -> None:
        self.size = size
        self._kept: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, etag: str) -> str | None:
        """The kept JSON text for ``etag``, if this process has it."""
        with self._lock:
            found = self._kept.get(etag)
            if found is not None:
                self._kept.move_to_end(etag)
            return found

    def keep(self, etag: str, data: object) -> str:
        """Serialise ``data`` (the run's detail as its ETag says it is), keep it and return it."""
        made = current_app.json.dumps(data)
        with self._lock:
            self._kept[etag] = made
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return made
