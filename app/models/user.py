"""People who sign in (seeds 000 and 003)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONType, Model, SoftDelete, Timestamps, UTCDateTime, UUIDPrimaryKey


class User(UUIDPrimaryKey, Timestamps, SoftDelete, Model):
    """An account. Not tenant-scoped: a user reaches tenants through memberships."""

    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)
    #: Seed 003's username (3-39 letters, digits and hyphens, stored lower-case): the owner's
    #: part of a git remote (``/git/<username>/<slug>.git``); given on first need.
    username: Mapped[str | None] = mapped_column(String(39), nullable=True, unique=True)
    name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    avatar_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    email_verified: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    preferences: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)

    # Flask-Login's user protocol, spelled out rather than mixed in: the column
    # ``is_active`` already answers one of its questions.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session cookie: the user's id plus a fingerprint
        of the password hash, so a password change signs every browser out."""
        return f"{self.id}:{self.password_fingerprint}"

    @property
    def password_fingerprint(self) -> str:
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    @property
    def can_sign_in(self) -> bool:
        return self.is_active and self.deleted_at is None
