"""Users (seed 000's UserRepository)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update

from ..models import User, utcnow
from .base import Repository, operation


def normalise_email(email: str) -> str:
    """Emails compare case-insensitively; store and look them up in one form."""
    return email.strip().lower()


class UserRepository(Repository[User]):
    model = User

    @operation
    def find_by_email(self, email: str) -> User | None:
        return self.session.scalars(self.select(User.email == normalise_email(email))).first()

    @operation
    def exists(self, email: str) -> bool:
        """Whether the address is taken, by a live or a soft-deleted account alike."""
        statement = select(func.count()).select_from(User).where(User.email == normalise_email(email))
        return bool(self.session.scalar(statement))

    @operation
    def record_login(self, user: User) -> User:
        user.last_login_at = utcnow()
        self.session.flush()
        return user

    @operation
    def deleted_by_email(self, email: str) -> User | None:
        """A soft-deleted account (still in its recovery window), which :meth:`find_by_email` hides."""
        return self.session.scalars(select(User).where(User.email == normalise_email(email),
                                                       User.deleted_at.is_not(None))).first()

    @operation
    def restore(self, user: User) -> User:
        """Bring a soft-deleted account back, as it was (seed 003's 30-day recovery window)."""
        self.session.execute(update(User).where(User.id == user.id).values(deleted_at=None)
                             .execution_options(synchronize_session="fetch"))
        return user

    @operation
    def purge_deleted(self, deleted_before: datetime) -> int:
        """Remove for good the accounts soft-deleted before ``deleted_before`` (what they own
        goes with them by the foreign keys: memberships, credits, keys, notifications)."""
        result = self.session.execute(delete(User).where(User.deleted_at.is_not(None),
                                                         User.deleted_at < deleted_before)
                                      .execution_options(synchronize_session=False))
        return result.rowcount or 0
