"""Usernames (seed 003 table 1): 3-39 letters, digits and hyphens, as GitHub's are.

A person needs one only when something addresses them by name, a git remote
(``/git/<username>/<slug>.git``) first. Those who never chose one are given one from their
email's local part (``ada.lovelace@…`` → ``ada-lovelace``), with a number added when taken.
Stored lower-case, so ``Ada`` and ``ada`` are one name.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from .errors import ConflictError, NotFoundError, ValidationError
from .models import User
from .repositories import Repositories

USERNAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,38}$")
RULE = "3 to 39 letters, digits and single hyphens, starting and ending with a letter or digit."


def check_username(name: str, field: str = "username") -> str:
    """The name, lower-cased, if it is one.

    :raises ValidationError: beside ``field`` otherwise.
    """
    lowered = (name or "").strip().lower()
    if not USERNAME.match(lowered):
        raise ValidationError("Some of the values sent are not valid; see error.details.fields.",
                              {"fields": {field: [f"A username is {RULE}"]}})
    return lowered


def _taken(repos: Repositories, name: str) -> bool:
    return repos.session.scalar(select(func.count()).select_from(User).where(User.username == name)) > 0


def _candidate(email: str) -> str:
    local = re.sub(r"[^a-z0-9]+", "-", email.split("@", 1)[0].lower()).strip("-")
    local = re.sub(r"-{2,}", "-", local)[:32].strip("-")
    return local if len(local) >= 3 else f"writer-{local}".strip("-")


def ensure_username(repos: Repositories, user_id: uuid.UUID) -> str:
    """The person's username, giving them one first if they have none (in the caller's transaction).

    :raises NotFoundError: for no such person.
    """
    user = repos.session.get(User, user_id)
    if user is None:
        raise NotFoundError("No such person.", {"userId": str(user_id)})
    if user.username:
        return user.username
    base, number = _candidate(user.email), 1
    name = base
    while _taken(repos, name):
        number += 1
        name = f"{base[:36 - len(str(number))]}-{number}"
    user.username = name
    repos.session.flush()
    return name


def set_username(repos: Repositories, user_id: uuid.UUID, name: str) -> str:
    """Choose a username (in the caller's transaction).

    :raises ValidationError: for a name that is not one; :raises ConflictError: when taken.
    """
    name = check_username(name)
    user = repos.session.get(User, user_id)
    if user is None:
        raise NotFoundError("No such person.", {"userId": str(user_id)})
    if user.username != name and _taken(repos, name):
        raise ConflictError("That username is taken.", {"fields": {"username": ["That username is taken."]}})
    user.username = name
    repos.session.flush()
    return name


def user_by_username(repos: Repositories, name: str) -> User | None:
    lowered = (name or "").lower()
    if not USERNAME.match(lowered):
        return None
    return repos.session.scalar(select(User).where(User.username == lowered, User.deleted_at.is_(None)))
