"""Users (seed 000's UserRepository)."""

from __future__ import annotations

from sqlalchemy import func, select

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
