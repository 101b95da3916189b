"""The lock that serialises writes to one manuscript repository.

A write reads the branch's head, builds a commit on it and moves the branch to that commit.
Two writers doing this at once — two threads of one web worker, two workers, a request and a
background job — would both build on the same head, and the second to move the branch would
drop the first one's commit from it. So a writer holds an exclusive ``flock`` on a file beside
the repository from reading the head to moving the branch.

``flock`` rather than a lock in memory because the writers are in different processes; and it
works between threads of one process too, since each ``open`` is a lock of its own. The kernel
drops the lock when its holder dies, so a crashed worker never leaves the repository locked.
A git client pushing does not take this lock: the compare-and-swap on the ref, in the
repository class, is what keeps a write from overwriting a push.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def lock_path_for(repository: Path) -> Path:
    """``<repository>.write-lock``, beside it: not inside, where git might one day mind it
    and where a copy of the repository (a backup, a clone over the file system) would take it."""
    return repository.with_name(repository.name + ".write-lock")


@contextmanager
def write_lock(lock_path: Path) -> Iterator[None]:
    """Hold the exclusive lock for the body; wait for it as long as it takes.

    The lock file is never removed: a writer waiting on it would hold the old file's lock
    while a newcomer created and locked a new one, and both would write at once.
    """
    # "a" creates the file if missing and never truncates it; its content is never used.
    with open(lock_path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
