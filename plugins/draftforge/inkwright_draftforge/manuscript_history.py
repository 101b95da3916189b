"""A manuscript's history: its commits, what each changed, and how two commits relate.

A commit is compared with its first parent, as ``git log`` and ``git show`` do for an ordinary
commit (a merge pushed from a clone is shown against the line it was merged into).
"""

from __future__ import annotations

import difflib
from collections import deque
from datetime import datetime, timezone
from itertools import islice

from dulwich.diff_tree import (
    CHANGE_ADD,
    CHANGE_DELETE,
    CHANGE_RENAME,
    RenameDetector,
    TreeChange,
    tree_changes,
)
from dulwich.objects import Blob, Commit, ObjectID
from dulwich.repo import Repo

from .manuscript_values import CommitInfo, FileDiff, FileStatus

STATUS: dict[str, FileStatus] = {CHANGE_ADD: "added", CHANGE_DELETE: "deleted", CHANGE_RENAME: "renamed"}


def commit_at(repo: Repo, sha: ObjectID) -> Commit:
    commit = repo.object_store[sha]
    if not isinstance(commit, Commit):
        raise ValueError(f"{sha.decode()} is not a commit")
    return commit


def parent_tree(repo: Repo, commit: Commit) -> ObjectID | None:
    """The tree a commit is compared with: its first parent's, or none for a first commit."""
    return commit_at(repo, commit.parents[0]).tree if commit.parents else None


def paths_between(repo: Repo, old_tree: ObjectID | None, new_tree: ObjectID | None) -> list[str]:
    """Every path whose file differs between two trees (a rename counts both its paths)."""
    paths: set[str] = set()
    for change in tree_changes(repo.object_store, old_tree, new_tree):
        for entry in (change.old, change.new):
            if entry is not None and entry.path is not None:
                paths.add(entry.path.decode())
    return sorted(paths)


def commit_info(repo: Repo, commit: Commit) -> CommitInfo:
    name, _, email = commit.author.decode("utf-8", errors="replace").rpartition(" <")
    return CommitInfo(
        sha=commit.id.decode(),
        parents=[parent.decode() for parent in commit.parents],
        author_name=name,
        author_email=email.removesuffix(">"),
        message=commit.message.decode("utf-8", errors="replace"),
        time=datetime.fromtimestamp(commit.author_time, tz=timezone.utc),
        changed_paths=paths_between(repo, parent_tree(repo, commit), commit.tree),
    )


def log(repo: Repo, head: ObjectID, path: str | None, limit: int, offset: int) -> list[CommitInfo]:
    """Commits reachable from ``head``, newest first; with ``path``, only those changing it."""
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset may not be negative")
    walker = repo.get_walker(include=[head], paths=[path.encode()] if path else None,
                             max_entries=offset + limit)
    return [commit_info(repo, entry.commit) for entry in islice(walker, offset, offset + limit)]


def is_ancestor(repo: Repo, ancestor: ObjectID, sha: ObjectID) -> bool:
    """Whether ``ancestor`` is ``sha`` or one of its ancestors.

    A plain walk over the parents: it reads every commit between the two (a manuscript's
    history is small), but unlike a walk cut off by commit times it cannot be fooled by a
    clock that was wrong when some commit was made.
    """
    seen: set[ObjectID] = set()
    queue: deque[ObjectID] = deque([sha])
    while queue:
        current = queue.popleft()
        if current == ancestor:
            return True
        if current in seen:
            continue
        seen.add(current)
        queue.extend(commit_at(repo, current).parents)
    return False


# -- Diffs ------------------------------------------------------------------------------------

def diff(repo: Repo, sha: ObjectID) -> list[FileDiff]:
    """How each file changed in the commit, renames detected as ``git diff -M`` does."""
    commit = commit_at(repo, sha)
    detector = RenameDetector(repo.object_store)
    changes = tree_changes(repo.object_store, parent_tree(repo, commit), commit.tree, rename_detector=detector)
    return [file_diff(repo, change) for change in changes]


def file_diff(repo: Repo, change: TreeChange) -> FileDiff:
    old_path = change.old.path.decode() if change.old and change.old.path else None
    new_path = change.new.path.decode() if change.new and change.new.path else None
    old_text = blob_text(repo, change.old.sha if change.old else None)
    new_text = blob_text(repo, change.new.sha if change.new else None)
    path = new_path or old_path
    assert path is not None
    if old_text is None or new_text is None:
        # A file that is not UTF-8 text: say so, as git does, instead of diffing bytes.
        text, added, removed = f"Binary file {path} differs\n", 0, 0
    else:
        text, added, removed = unified(old_text, new_text, old_path or path, new_path or path,
                                       change.old is None, change.new is None)
    return FileDiff(path=path, old_path=old_path if change.type != CHANGE_ADD else None,
                    status=STATUS.get(change.type, "modified"), unified_diff=text,
                    added_lines=added, removed_lines=removed)


def blob_text(repo: Repo, blob_id: ObjectID | None) -> str | None:
    """A blob's text ("" for no blob), or None if it is not UTF-8 text."""
    if blob_id is None:
        return ""
    blob = repo.object_store[blob_id]
    assert isinstance(blob, Blob)
    if b"\0" in blob.data:
        return None
    try:
        return blob.data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def unified(old: str, new: str, old_path: str, new_path: str, added: bool, deleted: bool) -> tuple[str, int, int]:
    """The unified diff of two texts with git's ``a/``, ``b/`` and ``/dev/null`` names, and
    the numbers of lines it adds and removes."""
    lines = list(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile="/dev/null" if added else f"a/{old_path}", tofile="/dev/null" if deleted else f"b/{new_path}"))
    body = lines[2:]  # past the ---/+++ header
    # difflib leaves a last line that had no newline without one; end it so lines stay lines.
    text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return (text, sum(1 for line in body if line.startswith("+")), sum(1 for line in body if line.startswith("-")))
