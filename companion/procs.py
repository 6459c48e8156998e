"""Is a process that left its pid in the database (a sync) or in the archive (a writer)
still running? Asked by the store, the archive and the UI, answered in one place."""

from __future__ import annotations

import os


def pid_alive(pid: int | None) -> bool:
    """Is a caselog process with this pid still running? (A reused pid that now belongs
    to something else does not count, where /proc can tell.)"""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        return True
    return b"companion" in cmdline or b"caselog" in cmdline
