"""Child processes that must not outlive the process that started them."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from typing import Callable

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when this process dies.

    Linux sends that signal when the *thread* that forked exits, so from any thread but
    the main one (a web request's, say) the answer is ``None`` and callers rely on
    ``atexit`` alone; elsewhere than Linux it is ``None`` too.
    """
    if sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread():
        return _die_with_parent
    return None


def bind_to_parent(parent_pid: int, sig: int = signal.SIGTERM) -> None:
    """Called first thing in a forked child (RQ's scheduler process, a work horse): ask Linux
    to send ``sig`` when the parent dies, and exit now if it already has (it may have died
    between the fork and this call, and then no signal would ever come)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig)
    if os.getppid() != parent_pid:
        os._exit(1)
