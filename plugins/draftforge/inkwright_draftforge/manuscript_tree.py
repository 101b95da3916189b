"""Reading the files of one commit, and making the tree of the next one, with dulwich.

Everything here works on an open dulwich ``Repo`` and raw object ids (bytes); the repository
class above it speaks strings and owns the opening, the locking and the ref updates.
"""

from __future__ import annotations

import re
import stat

from dulwich.errors import NotTreeError
from dulwich.object_store import commit_tree_changes, iter_tree_contents
from dulwich.objects import Blob, Commit, ObjectID, Tree
from dulwich.refs import LOCAL_BRANCH_PREFIX, Ref, check_ref_format
from dulwich.repo import Repo

from .manuscript_paths import CHAPTER_SUFFIX, normalise_text, reading_order, title_of
from .manuscript_values import Change, Chapter, Delete, FileMissing, Move, Put, RefMissing

FILE_MODE = stat.S_IFREG | 0o644
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")

Entry = tuple[int, ObjectID]


def branch_ref(branch: str) -> Ref:
    """``refs/heads/<branch>``, refusing names git would refuse: a name like ``../config``
    must not make dulwich read a file outside the refs directory."""
    ref = Ref(LOCAL_BRANCH_PREFIX + branch.encode())
    if not check_ref_format(ref):
        raise ValueError(f"{branch!r} is not a valid branch name")
    return ref


def resolve_commit(repo: Repo, ref: str) -> ObjectID:
    """The commit a full sha, a branch name or a full ref name (``refs/...``) points at."""
    if FULL_SHA.match(ref):
        sha = ObjectID(ref.encode())
        if sha in repo.object_store and isinstance(repo.object_store[sha], Commit):
            return sha
    name = Ref(ref.encode()) if ref.startswith("refs/") else None
    try:
        name = name or branch_ref(ref)
    except ValueError:
        raise RefMissing(ref) from None
    if not check_ref_format(name):
        raise RefMissing(ref)
    try:
        sha = repo.refs[name]
    except KeyError:
        raise RefMissing(ref) from None
    if not isinstance(repo.object_store[sha], Commit):
        raise RefMissing(ref)
    return sha


def decode(data: bytes) -> str:
    """Blob bytes as text. Texts are UTF-8; a file pushed in another encoding is still shown,
    with U+FFFD for the bytes that are not, rather than failing the page that reads it."""
    return normalise_text(data.decode("utf-8", errors="replace"))


class Snapshot:
    """The files of one commit, read lazily from the object store."""

    def __init__(self, repo: Repo, commit_sha: ObjectID) -> None:
        commit = repo.object_store[commit_sha]
        assert isinstance(commit, Commit)
        self.repo = repo
        self.sha = commit_sha
        self.tree_id = commit.tree

    @property
    def name(self) -> str:
        return self.sha.decode()

    def entry(self, path: str) -> Entry | None:
        """The (mode, id) at ``path``, for a file or a directory; None if nothing is there."""
        tree = self.repo.object_store[self.tree_id]
        assert isinstance(tree, Tree)
        try:
            return tree.lookup_path(self.repo.object_store.__getitem__, path.encode())
        except (KeyError, NotTreeError):
            # KeyError: no such name; NotTreeError: the path runs through a file. Both mean
            # that nothing is at this path.
            return None

    def file(self, path: str) -> Entry | None:
        """The (mode, blob id) of the file at ``path``, or None (also for a directory)."""
        entry = self.entry(path)
        return entry if entry is not None and not stat.S_ISDIR(entry[0]) else None

    def is_directory(self, path: str) -> bool:
        entry = self.entry(path)
        return entry is not None and stat.S_ISDIR(entry[0])

    def data(self, path: str) -> bytes:
        entry = self.file(path)
        if entry is None:
            raise FileMissing(path, self.name)
        blob = self.repo.object_store[entry[1]]
        assert isinstance(blob, Blob)
        return blob.data

    def text(self, path: str) -> str:
        return decode(self.data(path))

    def text_or_none(self, path: str) -> str | None:
        return self.text(path) if self.file(path) is not None else None

    def files(self, directory: str | None = None) -> list[str]:
        """Every file path under ``directory`` (the whole tree if None), sorted."""
        if directory is None:
            root, prefix = self.tree_id, ""
        else:
            entry = self.entry(directory)
            if entry is None or not stat.S_ISDIR(entry[0]):
                return []
            root, prefix = entry[1], directory + "/"
        return sorted(prefix + item.path.decode() for item in iter_tree_contents(self.repo.object_store, root)
                      if item.path is not None)


def apply_changes(snapshot: Snapshot, changes: list[Change]) -> ObjectID:
    """Store the tree that ``changes``, applied in order, make of the snapshot's tree.

    The changes are first played on an overlay ``{path: entry or None}`` so that each one sees
    the ones before it (a Move's source may be a file an earlier Put wrote), and so that a bad
    change (deleting a missing file) raises before anything is written.
    """
    overlay: dict[str, Entry | None] = {}
    store = snapshot.repo.object_store

    def current(path: str) -> Entry | None:
        return overlay[path] if path in overlay else snapshot.file(path)

    def make_room_for(path: str) -> None:
        parents = path.split("/")[:-1]
        for depth in range(1, len(parents) + 1):
            if current("/".join(parents[:depth])) is not None:
                raise ValueError(f"cannot write {path!r}: {'/'.join(parents[:depth])!r} is a file")
        if snapshot.is_directory(path) or any(key.startswith(path + "/") and entry for key, entry in overlay.items()):
            raise ValueError(f"cannot write {path!r}: it is a directory")

    for change in changes:
        if isinstance(change, Put):
            make_room_for(change.path)
            blob = Blob.from_string(normalise_text(change.text).encode("utf-8"))
            store.add_object(blob)
            overlay[change.path] = (FILE_MODE, blob.id)
        elif isinstance(change, Delete):
            if current(change.path) is None:
                raise FileMissing(change.path, snapshot.name)
            overlay[change.path] = None
        elif isinstance(change, Move):
            moved = current(change.old)
            if moved is None:
                raise FileMissing(change.old, snapshot.name)
            if change.new != change.old:
                if current(change.new) is not None:
                    raise ValueError(f"cannot move {change.old!r} to {change.new!r}: that file exists")
                make_room_for(change.new)
                overlay[change.old] = None
                overlay[change.new] = moved
        else:
            raise TypeError(f"not a change: {change!r}")

    tree_changes = [(path.encode(), *(entry or (None, None))) for path, entry in overlay.items()
                    if entry != snapshot.file(path)]
    if not tree_changes:
        return snapshot.tree_id
    tree = store[snapshot.tree_id]
    assert isinstance(tree, Tree)
    # commit_tree_changes edits the Tree object it is given: hand it a copy, not the cached one.
    return commit_tree_changes(store, Tree.from_string(tree.as_raw_string()), tree_changes)


# -- Chapters ---------------------------------------------------------------------------------

def chapter_files(snapshot: Snapshot, folder: str) -> list[str]:
    """The chapter files directly in ``folder`` (not ``.gitkeep``, not subdirectories), in
    reading order."""
    paths = [path for path in snapshot.files(folder)
             if "/" not in path[len(folder) + 1:] and path.endswith(CHAPTER_SUFFIX)]
    return sorted(paths, key=reading_order)


def chapters_in(snapshot: Snapshot, folder: str) -> list[Chapter]:
    chapters = []
    for index, path in enumerate(chapter_files(snapshot, folder), start=1):
        text = snapshot.text(path)
        chapters.append(Chapter(path=path, title=title_of(path, text), index=index, text=text))
    return chapters
