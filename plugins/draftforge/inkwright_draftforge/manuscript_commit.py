"""The steps of one write to a manuscript: refusing an edit whose files moved on, making the
commit object, and moving the branch to it only if nobody else moved it first."""

from __future__ import annotations

from datetime import datetime, timezone

from dulwich.file import FileLocked
from dulwich.objects import Commit, ObjectID
from dulwich.refs import LOCAL_BRANCH_PREFIX, Ref
from dulwich.repo import Repo

from .manuscript_tree import Snapshot, chapter_files
from .manuscript_values import Author, Change, EditConflict, RefMissing, touched_paths


def branch_head(repo: Repo, ref: Ref) -> ObjectID:
    try:
        return repo.refs[ref]
    except KeyError:
        raise RefMissing(ref.removeprefix(LOCAL_BRANCH_PREFIX).decode()) from None


def refuse_conflicts(base: Snapshot, head: Snapshot, changes: list[Change]) -> None:
    """EditConflict for the first touched path whose file is not what the writer started from."""
    refuse_changed_files(base, head, touched_paths(changes))


def refuse_changed_files(base: Snapshot, head: Snapshot, paths: list[str]) -> None:
    """EditConflict for the first of ``paths`` whose file differs between base and head (its
    text, or whether it is there at all)."""
    for path in paths:
        base_entry, head_entry = base.file(path), head.file(path)
        if (base_entry and base_entry[1]) != (head_entry and head_entry[1]):
            raise EditConflict(path, base.text_or_none(path), head.text_or_none(path), head.name)


def refuse_changed_chapter_list(base: Snapshot, head: Snapshot, folder: str) -> None:
    """EditConflict if chapters were added or removed since the writer's base: their list was
    right when they read it, and is wrong only because someone else changed it since."""
    added_or_removed = sorted(set(chapter_files(base, folder)) ^ set(chapter_files(head, folder)))
    if base.sha != head.sha and added_or_removed:
        path = added_or_removed[0]
        raise EditConflict(path, base.text_or_none(path), head.text_or_none(path), head.name)


def new_commit(tree: ObjectID, parents: list[ObjectID], author: Author, message: str,
               now: datetime | None) -> Commit:
    when = now or datetime.now(timezone.utc)
    offset = when.utcoffset()
    if offset is None:
        raise ValueError("a commit's time must carry its time zone (an aware datetime)")
    if not message.strip():
        raise ValueError("a commit needs a message")
    commit = Commit()
    commit.tree = tree
    commit.parents = parents
    commit.author = commit.committer = author.identity()
    commit.author_time = commit.commit_time = int(when.timestamp())
    commit.author_timezone = commit.commit_timezone = int(offset.total_seconds())
    commit.message = (message.strip() + "\n").encode("utf-8")
    return commit


def swap(repo: Repo, ref: Ref, head: ObjectID, commit: Commit, author: Author) -> bool:
    """Move the branch from ``head`` to the commit only if it is still at ``head``: the guard
    against a push landing between our read and this write (the lock keeps out only our own
    writers). A ref a push holds locked right now counts as moved."""
    try:
        return repo.refs.set_if_equals(ref, head, commit.id, committer=author.identity(),
                                       message=b"commit: " + commit.message.split(b"\n", 1)[0])
    except FileLocked:
        return False
