"""Stories and their chapters (seed 000's Story, Chapter, StoryMetadata and StoryStatus)."""

from __future__ import annotations

import enum
import math
import re
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.toolkit import (
    IllegalTransitionError,
    JSONType,
    Model,
    SoftDelete,
    TenantScoped,
    Timestamps,
    UTCDateTime,
    UUIDPrimaryKey,
)

#: Seed 000's reading speed for ``estimatedReadingTime``.
WORDS_PER_MINUTE = 200


class StoryStatus(str, enum.Enum):
    DRAFT = "draft"
    GENERATING = "generating"
    COMPLETED = "completed"
    FAILED = "failed"


#: The only moves a story's status makes. A draft is generated once; a finished generation
#: (completed or failed) is final, and asking again makes a new story.
STORY_TRANSITIONS: dict[StoryStatus, frozenset[StoryStatus]] = {
    StoryStatus.DRAFT: frozenset({StoryStatus.GENERATING}),
    StoryStatus.GENERATING: frozenset({StoryStatus.COMPLETED, StoryStatus.FAILED}),
    StoryStatus.COMPLETED: frozenset(),
    StoryStatus.FAILED: frozenset(),
}


def check_story_move(current: StoryStatus, new: StoryStatus) -> None:
    """:raises IllegalTransitionError: when the transition table does not allow the move."""
    if StoryStatus(new) not in STORY_TRANSITIONS[StoryStatus(current)]:
        raise IllegalTransitionError("Story", StoryStatus(current).value, StoryStatus(new).value)


def count_words(text: str) -> int:
    return len(text.split())


def character_names(text: str | None) -> list[str]:
    """The names in StoryRequest's character string ("Ada, Grace and Alan" → three names)."""
    parts = re.split(r"\s*(?:[,;\n]|\band\b|&)\s*", text or "")
    names: list[str] = []
    for part in parts:
        name = part.strip(" .")
        if name and name not in names:
            names.append(name)
    return names


def reading_minutes(words: int) -> int:
    """Minutes to read ``words`` at about 200 words a minute (at least one for any text)."""
    return math.ceil(words / WORDS_PER_MINUTE) if words > 0 else 0


def story_metadata(primary: list[str] | None = None, secondary: list[str] | None = None, genre: str | None = None,
                   theme: str | None = None, words: int = 0) -> dict[str, Any]:
    """Seed 000's StoryMetadata, as stored in the ``metadata`` column."""
    return {"primaryCharacters": list(primary or []), "secondaryCharacters": list(secondary or []),
            "genre": genre, "theme": theme, "estimatedReadingTime": reading_minutes(words)}


def _status_column() -> Enum:
    # A VARCHAR of the values plus a CHECK (no native enum type): the same on SQLite and PostgreSQL.
    return Enum(StoryStatus, name="story_status", native_enum=False, create_constraint=True, length=20,
                validate_strings=True, values_callable=lambda statuses: [status.value for status in statuses])


class Story(UUIDPrimaryKey, Timestamps, SoftDelete, TenantScoped, Model):
    __tablename__ = "stories"
    __table_args__ = (Index("ix_stories_tenant_id_created_at", "tenant_id", "created_at"),)

    title: Mapped[str] = mapped_column(String(300), nullable=False)
    status: Mapped[StoryStatus] = mapped_column(_status_column(), nullable=False, default=StoryStatus.DRAFT,
                                                index=True)
    #: StoryMetadata: primaryCharacters, secondaryCharacters, genre, theme, estimatedReadingTime.
    details: Mapped[dict] = mapped_column("metadata", JSONType, nullable=False,
                                         default=lambda: story_metadata())
    #: The StoryRequest it was generated from (``None`` for a story written by hand).
    parameters: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("runs.id", ondelete="SET NULL"),
                                                     nullable=True, index=True)
    #: Whether any of its text came from the offline provider (the reader labels it).
    offline: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    error: Mapped[dict | None] = mapped_column(JSONType, nullable=True)
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    generation_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    generation_completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    chapters: Mapped[list["Chapter"]] = relationship(
        back_populates="story", order_by="Chapter.order", cascade="all, delete-orphan", lazy="selectin")

    def move_to(self, status: StoryStatus) -> None:
        """Change the status through the transition table.

        :raises IllegalTransitionError: for a move the table does not allow.
        """
        check_story_move(self.status, status)
        self.status = status

    @property
    def word_count(self) -> int:
        return sum(chapter.word_count for chapter in self.chapters)

    @property
    def reading_time(self) -> int:
        return int((self.details or {}).get("estimatedReadingTime") or 0)

    def replace_chapters(self, chapters: list[dict[str, Any]]) -> None:
        """Put these chapters (title, content) in place of the old ones, numbered in order,
        and bring the reading time up to date."""
        # Rows are reused by position: inserting a new chapter 1 before the old one is
        # deleted would break the unique (story, order) within the same flush.
        existing = {chapter.order: chapter for chapter in self.chapters}
        kept = []
        for position, given in enumerate(chapters, start=1):
            row = existing.get(position) or Chapter(tenant_id=self.tenant_id, order=position)
            row.title, row.content = given["title"], given["content"]
            row.word_count = count_words(given["content"])
            kept.append(row)
        self.chapters = kept
        self.details = {**(self.details or story_metadata()),
                        "estimatedReadingTime": reading_minutes(self.word_count)}


class Chapter(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    __tablename__ = "story_chapters"
    __table_args__ = (UniqueConstraint("story_id", "order"),)

    story_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("stories.id", ondelete="CASCADE"),
                                                nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False, default="")
    order: Mapped[int] = mapped_column(Integer, nullable=False)
    word_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    story: Mapped[Story] = relationship(back_populates="chapters")
