"""Mail Inkwright writes. In development it stays here (and in the log) for people to read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import CreatedAt, Model, UTCDateTime, UUIDPrimaryKey


class OutboxMessage(UUIDPrimaryKey, CreatedAt, Model):
    __tablename__ = "outbox_messages"

    kind: Mapped[str] = mapped_column(String(50), nullable=False, index=True)
    to_address: Mapped[str] = mapped_column(String(320), nullable=False, index=True)
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
