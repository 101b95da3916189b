"""What each run is making — a story, an article — as the plugins that own them say.

The dashboard lists runs by that title (a tenant with ten articles sees ten topics, not ten
times "writeit.article v1") and the run page links back to it. Each enabled plugin is asked
once per page for the runs shown (``Plugin.run_subjects``); one that fails costs its titles
only, and the run is shown by its workflow's name as before.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Sequence

from ..runtime import current_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShownSubject:
    title: str
    url: str
    plugin: str


def subjects_of(runs: Sequence[Any]) -> dict[uuid.UUID, ShownSubject]:
    """The subjects of ``runs`` by run id, for those a plugin owns."""
    if not runs:
        return {}
    found: dict[uuid.UUID, ShownSubject] = {}
    for name, plugin in current_state().registry.plugins.items():
        try:
            answered = dict(plugin.run_subjects(list(runs)))
        except Exception:  # noqa: BLE001 - logged; the page shows these runs by workflow name
            log.warning("run_subjects of plugin %s failed", name, exc_info=True)
            continue
        for run_id, subject in answered.items():
            title = str(getattr(subject, "title", "") or "").strip()
            url = str(getattr(subject, "url", "") or "")
            if title and url.startswith("/") and run_id not in found:  # a page of this studio
                found[run_id] = ShownSubject(title[:200], url, name)
    return found
