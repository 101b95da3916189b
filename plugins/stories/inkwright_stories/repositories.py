"""The stories' door to the database (seed 000's StoryRepository), scoped to one tenant."""

from __future__ import annotations

import uuid
from typing import Any

from app.toolkit import ScopedRepository, operation, utcnow

from .models import Story, StoryStatus, check_story_move

#: StorySearchQuery's sortBy, as columns.
SORT_COLUMNS = {"createdAt": Story.created_at, "updatedAt": Story.updated_at, "title": Story.title}


def _contains_pattern(text: str) -> str:
    # The title filter is "contains", so LIKE's own wildcards in it must match literally.
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class StoryRepository(ScopedRepository[Story]):
    model = Story

    def search(self, *, status: StoryStatus | None = None, title: str | None = None, limit: int = 20,
               offset: int = 0, sort_by: str = "createdAt", sort_order: str = "desc") -> tuple[list[Story], int]:
        """Seed 000's ``search(StorySearchQuery)``: a page of stories and how many match in all.

        :param title: a case-insensitive part of the title.
        """
        criteria: list[Any] = []
        if status is not None:
            criteria.append(Story.status == status)
        if title:
            criteria.append(Story.title.ilike(_contains_pattern(title), escape="\\"))
        column = SORT_COLUMNS[sort_by]
        ordering = column.asc() if sort_order == "asc" else column.desc()
        # The id breaks ties, so pages never repeat or skip a story with an equal sort key.
        return self.page(*criteria, order_by=[ordering, Story.id], limit=limit, offset=offset)

    @operation
    def by_runs(self, run_ids: list[uuid.UUID]) -> list[Story]:
        """The stories these runs are generating, in one query."""
        return self.list(Story.run_id.in_(run_ids)) if run_ids else []

    @operation
    def by_run(self, run_id: Any) -> Story | None:
        """The story a run is generating (its ``sessionId``), if any; ``None`` for a malformed id."""
        try:
            key = uuid.UUID(str(run_id))
        except ValueError:
            return None
        return self.first(Story.run_id == key)

    @operation
    def claim(self, story_id: Any, current: StoryStatus, new: StoryStatus) -> Story | None:
        """Move a story from ``current`` to ``new`` only if it is still ``current``, in one
        conditional UPDATE, so two finishers racing cannot both fill it.

        :returns: the story, freshly read, or ``None`` when it was not ``current`` (or is gone).
        :raises IllegalTransitionError: for a move the transition table does not allow.
        """
        check_story_move(current, new)
        key = uuid.UUID(str(story_id))
        result = self.session.execute(
            self.update_where(Story.id == key, Story.status == current, Story.deleted_at.is_(None))
            .values(status=new, updated_at=utcnow())
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            return None
        return self.session.scalars(self.select(Story.id == key).execution_options(populate_existing=True)).first()
