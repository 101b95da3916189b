"""A novelist's manuscript, kept as a bare git repository that the studio writes with dulwich
and the novelist clones, pulls and pushes with any git client.

Every write is one commit on a branch (the default one unless told), made by the author the
caller names, on the commit the writer started from (``base``). If the branch has moved since,
the write still goes ahead when none of the files it touches changed — it is committed on the
new head, a rebase nobody has to see — and raises EditConflict when one did, so the writer can
be shown both texts instead of losing either.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dulwich.object_store import commit_tree_changes
from dulwich.objects import Blob, Tree
from dulwich.refs import HEADREF, LOCAL_BRANCH_PREFIX
from dulwich.repo import Repo

from . import manuscript_history as history
from .manuscript_commit import (
    branch_head,
    new_commit,
    refuse_changed_chapter_list,
    refuse_changed_files,
    refuse_conflicts,
    swap,
)
from .manuscript_lock import lock_path_for, write_lock
from .manuscript_paths import (
    CHAPTER_NAME,
    CHAPTER_SUFFIX,
    chapter_number,
    chapter_path,
    chapter_slug,
    checked_path,
    clean_title,
    file_name,
    has_heading,
    numbered_name,
    slugify,
    with_title,
    writable_path,
)
from .manuscript_tree import (
    FILE_MODE,
    Snapshot,
    apply_changes,
    branch_ref,
    chapter_files,
    chapters_in,
    resolve_commit,
)
from .manuscript_values import (
    Author,
    BranchBusy,
    Change,
    Chapter,
    CommitInfo,
    Delete,
    FileDiff,
    Move,
    Put,
    RefMissing,
    touched_paths,
)

# A git client pushing moves the branch without our lock; a write that loses that race builds
# its commit again on the new head. A few tries, briefly spaced, are plenty for a person pushing.
SWAP_ATTEMPTS = 5
SWAP_BACKOFF_SECONDS = 0.05

# (head files, base files) -> the changes to commit. It runs under the write lock, on the head
# the commit will be made on, so a change computed from the tree (the next chapter number) is
# computed from the tree it lands in.
Plan = Callable[[Snapshot, Snapshot], list[Change]]


@dataclass(frozen=True)
class ChapterCommit:
    """What a write that names a chapter file made: the commit, and the chapter's path in it."""

    sha: str
    path: str


class ManuscriptRepository:
    """One manuscript's bare repository. Writes go only to ``chapters_directory`` and
    ``manuscript_directory`` (the project's settings, ``chapters`` and ``manuscript`` unless
    set), so nothing the studio writes can land in a novelist's clone elsewhere."""

    def __init__(self, path: str | os.PathLike[str], default_branch: str,
                 chapters_directory: str = "chapters", manuscript_directory: str = "manuscript") -> None:
        self.path = Path(path)
        self.default_branch = default_branch
        self.chapters_directory = checked_path(chapters_directory)
        self.manuscript_directory = checked_path(manuscript_directory)
        self.lock_path = lock_path_for(self.path)

    # -- Making and opening ---------------------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike[str], default_branch: str = "main", *, author: Author,
               chapters_directory: str = "chapters", manuscript_directory: str = "manuscript",
               message: str = "Start the manuscript", now: datetime | None = None) -> ManuscriptRepository:
        """Make a bare repository at ``path`` (a missing or empty directory) whose HEAD is
        ``default_branch``, with a first commit holding ``<chapters_directory>/.gitkeep`` so the
        branch exists and a clone gets the directory chapters go in."""
        target = Path(path)
        if target.exists() and any(target.iterdir()):
            raise FileExistsError(f"{target} is not empty; a manuscript repository needs a directory of its own")
        manuscript = cls(target, default_branch, chapters_directory, manuscript_directory)
        ref = branch_ref(default_branch)
        with Repo.init_bare(str(target), mkdir=not target.exists(), default_branch=default_branch.encode()) as repo:
            keep = Blob.from_string(b"")
            repo.object_store.add_object(keep)
            tree = commit_tree_changes(repo.object_store, Tree(),
                                       [(f"{chapters_directory}/.gitkeep".encode(), FILE_MODE, keep.id)])
            commit = new_commit(tree, [], author, message, now)
            repo.object_store.add_object(commit)
            repo.refs.add_if_new(ref, commit.id)
        return manuscript

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, chapters_directory: str = "chapters",
             manuscript_directory: str = "manuscript") -> ManuscriptRepository:
        """The manuscript at ``path``; its default branch is where its HEAD points."""
        with Repo(str(path)) as repo:
            if not repo.bare:
                raise ValueError(f"{path} is a working copy; a manuscript is kept in a bare repository")
            chain, _ = repo.refs.follow(HEADREF)
        target = chain[-1] if len(chain) > 1 else LOCAL_BRANCH_PREFIX + b"main"
        return cls(path, target.removeprefix(LOCAL_BRANCH_PREFIX).decode(), chapters_directory, manuscript_directory)

    @contextmanager
    def _repo(self) -> Iterator[Repo]:
        # A Repo of its own for each operation: dulwich's objects are not made to be shared by
        # threads, and a fresh one sees the packs a push has just added.
        with Repo(str(self.path)) as repo:
            yield repo

    @property
    def writable_directories(self) -> tuple[str, str]:
        return (self.chapters_directory, self.manuscript_directory)

    # -- Reading ------------------------------------------------------------------------------

    def head(self, branch: str | None = None) -> str | None:
        """The commit the branch points at, or None if there is no such branch."""
        with self._repo() as repo:
            try:
                return repo.refs[branch_ref(branch or self.default_branch)].decode()
            except KeyError:
                return None

    def list_files(self, ref: str | None = None, directory: str | None = None) -> list[str]:
        """Every file at ``ref`` (a branch or a commit sha; the default branch if None),
        or only those under ``directory``, sorted."""
        with self._repo() as repo:
            return self._snapshot(repo, ref).files(checked_path(directory) if directory else None)

    def read(self, path: str, ref: str | None = None) -> str:
        """The text of ``path`` at ``ref``, line endings ``\\n``; FileMissing if it is not there."""
        with self._repo() as repo:
            return self._snapshot(repo, ref).text(checked_path(path))

    def chapters(self, ref: str | None = None, directory: str | None = None) -> list[Chapter]:
        """The Markdown files directly in the chapters directory, in reading order."""
        with self._repo() as repo:
            return chapters_in(self._snapshot(repo, ref), directory or self.chapters_directory)

    def _snapshot(self, repo: Repo, ref: str | None) -> Snapshot:
        return Snapshot(repo, resolve_commit(repo, ref or self.default_branch))

    # -- Writing ------------------------------------------------------------------------------

    def commit_changes(self, changes: Sequence[Change], author: Author, message: str, base: str | None,
                       branch: str | None = None, now: datetime | None = None) -> str:
        """Commit ``changes`` (applied in order) as one commit; the new head's sha.

        ``base`` is the commit the writer read before editing (None: whatever is there now).
        Changes that alter nothing make no commit, and the head's sha is returned.
        """
        given = list(changes)
        if not given:
            raise ValueError("a commit needs at least one change")
        return self._commit(lambda head, base_files: given, author, message, base, branch, now)

    def add_chapter(self, title: str, text: str, author: Author, base: str | None, directory: str | None = None,
                    message: str | None = None, now: datetime | None = None) -> ChapterCommit:
        """Add a chapter after the last one, as ``NN-slug.md`` with the next NN. A text with no
        ``# `` heading gets one with the title, so the title outlives the file name's slug."""
        title = clean_title(title)
        folder = directory or self.chapters_directory
        body = text if has_heading(text) else with_title(text, title)
        added: list[str] = []

        def plan(head: Snapshot, base_files: Snapshot) -> list[Change]:
            numbers = [chapter_number(path) or 0 for path in chapter_files(head, folder)]
            path = numbered_name(folder, max(numbers, default=0) + 1, slugify(title))
            added.append(path)
            return [Put(path, body)]

        sha = self._commit(plan, author, message or f"Add chapter: {title}", base, None, now)
        return ChapterCommit(sha, added[-1])

    def save_chapter(self, path: str, text: str, author: Author, base: str | None, directory: str | None = None,
                     message: str | None = None, now: datetime | None = None) -> str:
        """Replace a chapter's text."""
        chapter = chapter_path(path, directory or self.chapters_directory)
        return self.commit_changes([Put(chapter, text)], author, message or f"Edit {file_name(chapter)}", base,
                                   now=now)

    def rename_chapter(self, path: str, new_title: str, author: Author, base: str | None,
                       directory: str | None = None, message: str | None = None,
                       now: datetime | None = None) -> ChapterCommit:
        """Give a chapter a new title: its heading changes and its file takes the new slug,
        keeping its number (``03-old.md`` becomes ``03-new-title.md``)."""
        chapter = chapter_path(path, directory or self.chapters_directory)
        title = clean_title(new_title)
        match = CHAPTER_NAME.match(file_name(chapter))
        folder = chapter.rsplit("/", 1)[0]
        renamed = (f"{folder}/{match['number']}-{slugify(title)}{CHAPTER_SUFFIX}" if match
                   else f"{folder}/{slugify(title)}{CHAPTER_SUFFIX}")

        def plan(head: Snapshot, base_files: Snapshot) -> list[Change]:
            # Before reading the text at head: a chapter deleted since the base is a conflict
            # to show, not a missing file.
            refuse_changed_files(base_files, head, [chapter])
            text = with_title(head.text(chapter), title)
            return [Put(chapter, text)] if renamed == chapter else [Move(chapter, renamed), Put(renamed, text)]

        sha = self._commit(plan, author, message or f"Rename chapter {file_name(chapter)} to: {title}", base,
                           None, now)
        return ChapterCommit(sha, renamed)

    def reorder_chapters(self, paths_in_new_order: Sequence[str], author: Author, base: str | None,
                         directory: str | None = None, message: str | None = None,
                         now: datetime | None = None) -> str:
        """Renumber the chapters, in one commit, so they read in the order given; the list must
        name every chapter once. Chapters keep their slugs; those already numbered right stay."""
        folder = directory or self.chapters_directory
        order = [chapter_path(path, folder) for path in paths_in_new_order]
        if len(set(order)) != len(order):
            raise ValueError("the new order names a chapter more than once")

        def plan(head: Snapshot, base_files: Snapshot) -> list[Change]:
            present = chapter_files(head, folder)
            if set(order) != set(present):
                refuse_changed_chapter_list(base_files, head, folder)
                missing, unknown = sorted(set(present) - set(order)), sorted(set(order) - set(present))
                raise ValueError(f"the new order must name each chapter in {folder}/ once: "
                                 f"missing {missing}, unknown {unknown}")
            width = len(str(len(order)))
            names = {old: numbered_name(folder, number, chapter_slug(old), width)
                     for number, old in enumerate(order, start=1)}
            moving = {old: new for old, new in names.items() if old != new}
            # Deletes first, then Puts: a swap (01-a <-> 02-b) would otherwise move a chapter
            # onto one that has not left yet.
            return ([Delete(old) for old in moving]
                    + [Put(new, head.text(old)) for old, new in moving.items()])

        return self._commit(plan, author, message or "Reorder chapters", base, None, now)

    def delete_chapter(self, path: str, author: Author, base: str | None, directory: str | None = None,
                       message: str | None = None, now: datetime | None = None) -> str:
        """Remove a chapter (the others keep their numbers; reorder to close the gap)."""
        chapter = chapter_path(path, directory or self.chapters_directory)
        return self.commit_changes([Delete(chapter)], author, message or f"Delete {file_name(chapter)}", base,
                                   now=now)

    def _commit(self, plan: Plan, author: Author, message: str, base: str | None, branch: str | None,
                now: datetime | None) -> str:
        ref = branch_ref(branch or self.default_branch)
        with write_lock(self.lock_path):
            for attempt in range(SWAP_ATTEMPTS):
                with self._repo() as repo:
                    head = branch_head(repo, ref)
                    head_files = Snapshot(repo, head)
                    base_files = head_files if base is None else Snapshot(repo, resolve_commit(repo, base))
                    changes = plan(head_files, base_files)
                    for path in touched_paths(changes):
                        writable_path(path, self.writable_directories)
                    if base_files.sha != head:
                        refuse_conflicts(base_files, head_files, changes)
                    tree = apply_changes(head_files, changes)
                    if tree == head_files.tree_id:
                        return head.decode()
                    commit = new_commit(tree, [head], author, message, now)
                    repo.object_store.add_object(commit)
                    if swap(repo, ref, head, commit, author):
                        return commit.id.decode()
                # The branch moved between reading it and swapping it: a push. Build again on it.
                time.sleep(SWAP_BACKOFF_SECONDS * (attempt + 1))
        raise BranchBusy(f"{ref.decode()} kept moving while a commit was being made on it; try again")

    # -- History ------------------------------------------------------------------------------

    def log(self, ref: str | None = None, path: str | None = None, limit: int = 50,
            offset: int = 0) -> list[CommitInfo]:
        """Commits reachable from ``ref``, newest first, ``offset`` skipped and at most ``limit``;
        with ``path`` (a file or a directory), only the commits that changed it."""
        with self._repo() as repo:
            head = resolve_commit(repo, ref or self.default_branch)
            return history.log(repo, head, checked_path(path) if path else None, limit, offset)

    def diff(self, sha: str) -> list[FileDiff]:
        """What the commit changed, file by file, against its first parent."""
        with self._repo() as repo:
            return history.diff(repo, resolve_commit(repo, sha))

    def changed_paths(self, old_sha: str | None, new_sha: str) -> list[str]:
        """The paths that differ between two commits (from nothing, if ``old_sha`` is None)."""
        with self._repo() as repo:
            old_tree = history.commit_at(repo, resolve_commit(repo, old_sha)).tree if old_sha else None
            new_tree = history.commit_at(repo, resolve_commit(repo, new_sha)).tree
            return history.paths_between(repo, old_tree, new_tree)

    def is_ancestor(self, ancestor_sha: str, sha: str) -> bool:
        """Whether ``ancestor_sha`` is ``sha`` or lies in its history: a push from ``ancestor``
        to ``sha`` is a fast-forward. False if ``ancestor_sha`` is not in the repository."""
        with self._repo() as repo:
            try:
                ancestor = resolve_commit(repo, ancestor_sha)
            except RefMissing:
                return False
            return history.is_ancestor(repo, ancestor, resolve_commit(repo, sha))
