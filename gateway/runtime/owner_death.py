"""Child processes that end when the process that started them dies, however it dies.

A process killed with SIGKILL runs no clean-up, so a server it started for itself
alone (a test session's Redis, a temporary installation's) would run on, orphaned.
Linux can tell the kernel to signal a child when its parent goes: the child asks
for it with ``prctl(PR_SET_PDEATHSIG)`` between fork and exec, which is what
``death_signal_preexec`` gives ``subprocess.Popen``.

The kernel ties that signal to the parent *thread*: a child forked from a
short-lived thread would be signalled when the thread ends, not the process. So
the signal is only asked for from the main thread; elsewhere (and off Linux) the
child is started as before, outliving its starter.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def death_signal_preexec(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive ``sig`` when this process dies, or None
    where that cannot be arranged (not Linux, or not called from the main thread)."""
    if not sys.platform.startswith("linux"):
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    # Looked up before the fork: the child only calls it.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def ask_for_death_signal() -> None:
        prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), sig)

    return ask_for_death_signal
