"""The throwaway plugin's one table, owned by its own migration branch."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.toolkit import CreatedAt, Model, ScopedRepository, TenantScoped, UUIDPrimaryKey


class Note(UUIDPrimaryKey, CreatedAt, TenantScoped, Model):
    __tablename__ = "throwaway_notes"

    text: Mapped[str] = mapped_column(String(200), nullable=False)


class NoteRepository(ScopedRepository[Note]):
    model = Note
