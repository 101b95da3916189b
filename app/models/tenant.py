"""Tenants (organisations) and the memberships that give users a role in them."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from .base import JSONType, Model, SoftDelete, TenantScoped, Timestamps, UUIDPrimaryKey


class TenantKind(str, enum.Enum):
    PERSONAL = "personal"
    ORGANISATION = "organisation"


class Role(str, enum.Enum):
    """A member's role in a tenant, strongest first."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"
    #: Let in for what a plugin shared with them (a project), nothing tenant-wide
    #: (``app/guests.py``); only a plugin's accepted invitation makes one.
    GUEST = "guest"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: "Role") -> bool:
        return self.rank <= other.rank


def _enum_values(enum_class: type[enum.Enum]) -> list[str]:
    return [member.value for member in enum_class]


def enum_column(enum_class: type[enum.Enum], name: str) -> Enum:
    """A portable enum: VARCHAR plus a CHECK constraint, storing the enum's values."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=_enum_values,
        validate_strings=True,
    )


class Tenant(UUIDPrimaryKey, Timestamps, SoftDelete, Model):
    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    slug: Mapped[str] = mapped_column(String(100), nullable=False, unique=True)
    kind: Mapped[TenantKind] = mapped_column(enum_column(TenantKind, "tenant_kind"), nullable=False)
    settings: Mapped[dict] = mapped_column(JSONType, nullable=False, default=dict)


class Membership(UUIDPrimaryKey, Timestamps, TenantScoped, Model):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role, "membership_role"), nullable=False)
    invited_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
